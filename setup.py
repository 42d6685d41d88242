"""Package layout (everything else is in pyproject.toml).

One distribution: the kernel ``faramesh_cloud/``, each ``services/<name>/`` installed as
``faramesh_cloud.<name>``, the generated public API ``gen/python/faramesh_cloud_api`` and the generated
wire contracts of other programs Cloud speaks (``gen/python/faramesh_interop``).
Computed here so a new service or subpackage needs no edit.
"""

from pathlib import Path

from setuptools import Extension, find_packages, setup

ROOT = Path(__file__).parent
packages = find_packages(include=["faramesh_cloud", "faramesh_cloud.*"])
package_dir = {"faramesh_cloud": "faramesh_cloud"}
for service in sorted((ROOT / "services").iterdir()):
    if (service / "__init__.py").is_file():
        name = f"faramesh_cloud.{service.name}"
        package_dir[name] = f"services/{service.name}"
        packages += [name, *(f"{name}.{sub}" for sub in find_packages(str(service)))]
for generated in ("faramesh_cloud_api", "faramesh_interop"):
    api = f"gen/python/{generated}"
    package_dir[generated] = api
    packages += [generated, *(f"{generated}.{sub}" for sub in find_packages(api))]

# The compiled common case of `verify`'s chain check (faramesh_cloud/dpr/_fastchain.c). Optional:
# without a C compiler the install still succeeds and chain.py runs the same loop in Python.
fastchain = Extension("faramesh_cloud.dpr._fastchain", ["faramesh_cloud/dpr/_fastchain.c"], optional=True)

setup(packages=packages, package_dir=package_dir, ext_modules=[fastchain])
