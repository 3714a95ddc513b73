#!/usr/bin/env bash
# Builds everything the compose stack needs without an image registry (none is reachable in
# CI): the docker compose and buildx plugins from the Go module proxy, a Debian base image
# from the Debian archive (mmdebstrap), PostgreSQL and NATS images on it, and the app images.
# Idempotent: what exists is kept (plugins, base image) or rebuilt from the layer cache.
# Writes .tools/images.env, the variables that make compose.yaml use these images:
#   DOCKER_CONFIG=.tools/docker docker compose --env-file .tools/images.env up -d --wait
set -euo pipefail
cd "$(dirname "$0")/.."
COMPOSE_VERSION="${COMPOSE_VERSION:-v2.40.3}"
BUILDX_VERSION="${BUILDX_VERSION:-v0.38.2}"
BASE_IMAGE="pyk8s-lab/base:bookworm"
POSTGRES_IMAGE="pyk8s-lab/postgres:15"
NATS_IMAGE="pyk8s-lab/nats:local"
TOOLS="$PWD/.tools"
# The plugins live in a Docker configuration folder of the project's, not in ~/.docker.
export DOCKER_CONFIG="$TOOLS/docker"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

step() { printf '== %s (at %ss)\n' "$1" "$SECONDS"; }

# `go install <module>/cmd@version` refuses these modules (their go.mod has exclude
# directives), so the module is copied out of the module cache and built in place.
build_plugin() {
  local name=$1 module=$2 version=$3 package=$4 version_var=$5
  local target="$DOCKER_CONFIG/cli-plugins/docker-$name"
  if [ -x "$target" ] && docker "$name" version 2>/dev/null | grep -q "$version"; then
    return
  fi
  step "docker-$name $version from the Go module proxy"
  local source build
  source=$(go mod download -json "$module@$version" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')
  build=$(mktemp -d)
  cp -r "$source/." "$build"
  chmod -R u+w "$build"
  mkdir -p "$(dirname "$target")"
  (cd "$build" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $version_var=$version" -o "$target" "$package")
  rm -rf "$build"
}

# Debian bookworm's Python 3.11 from the Debian archive, with the host's extra CA
# certificates: HTTPS here goes through a proxy that signs with them, and pip or uv inside a
# build fail without them. Run under bash with pipefail: under sh a failed mmdebstrap
# imported an empty image.
build_base() {
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    return
  fi
  step "$BASE_IMAGE from the Debian archive"
  if ! command -v mmdebstrap >/dev/null; then
    apt-get update -qq && apt-get install -y -qq mmdebstrap >/dev/null
  fi
  local cacerts=/usr/local/share/ca-certificates bundle=/etc/ssl/certs/ca-certificates.crt
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,python3,python3-venv \
    --customize-hook="cp -r $cacerts/. \"\$1$cacerts/\"" \
    --customize-hook='chroot "$1" update-ca-certificates' \
    --customize-hook='rm -f "$1"/var/cache/apt/*.bin "$1"/var/lib/apt/lists/*_Packages' \
    bookworm - \
    | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' \
      --change "ENV SSL_CERT_FILE=$bundle" \
      --change "ENV PIP_CERT=$bundle" \
      --change "ENV REQUESTS_CA_BUNDLE=$bundle" \
      --change 'CMD ["python3"]' \
      - "$BASE_IMAGE" >/dev/null
}

# NATS from the nats-server binary of the locked `embedded` group (a static Go build), so
# the image runs the version `make up` and the tests run, with nothing to compile.
build_nats() {
  step "$NATS_IMAGE"
  local context
  context=$(mktemp -d)
  cp deploy/nats/Dockerfile "$context/"
  cp .venv/bin/nats-server "$context/nats-server"
  docker buildx build --quiet --build-arg "BASE=$BASE_IMAGE" -t "$NATS_IMAGE" "$context" >/dev/null
  rm -rf "$context"
}

write_env() {
  cat > "$TOOLS/images.env" <<ENV
POSTGRES_IMAGE=$POSTGRES_IMAGE
NATS_IMAGE=$NATS_IMAGE
PYK8S_APP_BASE=$BASE_IMAGE
PYK8S_REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
DOCKER_GID=$(stat -c %g /var/run/docker.sock)
ENV
}

main() {
  build_plugin compose github.com/docker/compose/v2 "$COMPOSE_VERSION" ./cmd \
    github.com/docker/compose/v2/internal.Version
  build_plugin buildx github.com/docker/buildx "$BUILDX_VERSION" ./cmd/buildx \
    github.com/docker/buildx/version.Version
  build_base
  step "$POSTGRES_IMAGE"
  docker buildx build --quiet --build-arg "BASE=$BASE_IMAGE" -t "$POSTGRES_IMAGE" \
    deploy/postgres >/dev/null
  build_nats
  step "kind and k3d for the provisioner image"
  scripts/install-cluster-tools.sh >/dev/null
  step "web app"
  make --no-print-directory web >/dev/null
  write_env
  step "app images"
  docker compose --env-file "$TOOLS/images.env" build --quiet
  step "done"
}

main "$@"
