# The image every PyK8s-Lab component runs from; the container's command picks the component
# (python -m pyk8s_auth, pyk8s_teams, pyk8s_provisioner, pyk8s_terminal, pyk8s_gateway).
# The `provisioner` target adds the kind, k3d and docker command-line tools it drives.
# BASE is any Debian-based image with Python 3.11; CI passes one built offline
# (scripts/build-images.sh).
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
ARG UV_VERSION=0.13.9
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --quiet --no-cache-dir "uv==${UV_VERSION}"
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# Third-party dependencies first, from the lock alone, so that a source change reuses them.
# The `embedded` group (PostgreSQL and NATS wheels, supervisor) is for `make up` and the
# tests only; `dev` is the test tools.
COPY pyproject.toml uv.lock ./
COPY libs/contracts/pyproject.toml libs/contracts/
COPY libs/kit/pyproject.toml libs/kit/
COPY services/auth/pyproject.toml services/auth/
COPY services/teams/pyproject.toml services/teams/
COPY services/provisioner/pyproject.toml services/provisioner/
COPY services/terminal/pyproject.toml services/terminal/
COPY gateway/pyproject.toml gateway/
COPY cli/pyproject.toml cli/
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-group embedded --no-install-workspace
COPY libs libs
COPY services services
COPY gateway gateway
COPY cli cli
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-group embedded --no-editable

# Only the docker client of Debian's Docker package: kind shells out to it.
FROM ${BASE} AS docker-cli
RUN apt-get update -qq \
    && cd /tmp \
    && (apt-get download -qq docker-cli 2>/dev/null || apt-get download -qq docker.io) \
    && dpkg-deb -x docker*.deb /tmp/package \
    && install -m 0755 /tmp/package/usr/bin/docker /usr/local/bin/docker

FROM ${BASE} AS runtime
RUN groupadd --system --gid 10001 pyk8s \
    && useradd --system --uid 10001 --gid pyk8s --home-dir /app --no-create-home pyk8s
COPY --from=build /app/.venv /app/.venv
COPY web/dist /app/web/dist
# Folders the compose stack mounts its generated secrets on (compose.yaml): a fresh named
# volume takes the owner and mode of the folder it is first mounted on. One per NATS
# identity, named from the permission table, so each component mounts only its own seed.
RUN install -d -o pyk8s -g pyk8s -m 0700 /var/lib/pyk8s/db /var/lib/pyk8s/provisioner \
      $(/app/.venv/bin/python -c 'from pyk8s_contracts.identities import ALL_IDENTITIES as ids; print(*("/var/lib/pyk8s/nats/" + i for i in ids))') \
    && install -d -o pyk8s -g pyk8s -m 0755 /var/lib/pyk8s/nats/server /var/lib/pyk8s/postgres
# Last, so that a new revision changes only the image's metadata.
ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="PyK8s-Lab" \
      org.opencontainers.image.description="Self-hosted, short-lived Kubernetes clusters for small teams" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_WEB_DIST=/app/web/dist
WORKDIR /app
USER 10001:10001
EXPOSE 8080
CMD ["python", "-m", "pyk8s_gateway"]

FROM runtime AS provisioner
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
# Built by scripts/install-cluster-tools.sh from the Go module proxy.
COPY .tools/bin/kind .tools/bin/k3d /usr/local/bin/
CMD ["python", "-m", "pyk8s_provisioner"]

# The default target: the image without the cluster tools.
FROM runtime AS app
