"""Package layout (everything else is in pyproject.toml).

One distribution: the kernel ``faramesh_cloud/``, each ``services/<name>/`` installed as
``faramesh_cloud.<name>``, and the generated public API ``gen/python/faramesh_cloud_api``.
Computed here so a new service or subpackage needs no edit.
"""

from pathlib import Path

from setuptools import find_packages, setup

ROOT = Path(__file__).parent
packages = find_packages(include=["faramesh_cloud", "faramesh_cloud.*"])
package_dir = {"faramesh_cloud": "faramesh_cloud"}
for service in sorted((ROOT / "services").iterdir()):
    if (service / "__init__.py").is_file():
        name = f"faramesh_cloud.{service.name}"
        package_dir[name] = f"services/{service.name}"
        packages += [name, *(f"{name}.{sub}" for sub in find_packages(str(service)))]
api = "gen/python/faramesh_cloud_api"
package_dir["faramesh_cloud_api"] = api
packages += ["faramesh_cloud_api", *(f"faramesh_cloud_api.{sub}" for sub in find_packages(api))]

setup(packages=packages, package_dir=package_dir)
