# The image the Helm chart runs (deploy/helm/faramesh-cloud: `faramesh-cloud serve NAME` per
# Deployment, as user 10001 on a read-only root filesystem with /tmp and the data dir mounted).
# Build: docker build -t ghcr.io/faramesh/faramesh-cloud:0.1.0 .
# Not built in CI here (no container engine on the test machines); tests/deploy checks that
# this file and the chart agree on the user, the data dir and the command.
FROM python:3.11-slim-bookworm

# bubblewrap: the registry's provider sandbox (docs/registry-sandbox.md; needs unprivileged
# user namespaces on the node). strace names what a sandboxed binary tried.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap strace \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml setup.py README.md ./
COPY faramesh_cloud ./faramesh_cloud
COPY services ./services
COPY gen ./gen
COPY proto ./proto
RUN pip install --no-cache-dir . && rm -rf /src

RUN groupadd --gid 10001 faramesh && useradd --uid 10001 --gid 10001 --no-create-home faramesh \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/faramesh-cloud
USER 10001:10001
ENV FARAMESH_CLOUD_DATA_DIR=/var/lib/faramesh-cloud PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /var/lib/faramesh-cloud
ENTRYPOINT ["faramesh-cloud"]
CMD ["up"]
