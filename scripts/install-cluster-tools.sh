#!/usr/bin/env bash
# Builds the real kind and k3d command-line tools from the Go module proxy into .tools/bin
# (no download site for release binaries is reachable). Skips a tool that is already built.
set -euo pipefail
cd "$(dirname "$0")/.."
KIND_VERSION="${KIND_VERSION:-v0.30.0}"
K3D_VERSION="${K3D_VERSION:-v5.8.3}"
K3S_VERSION="${K3S_VERSION:-v1.31.5-k3s1}"
BIN="$PWD/.tools/bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
mkdir -p "$BIN"
if [ ! -x "$BIN/kind" ]; then
  GOBIN="$BIN" go install "sigs.k8s.io/kind@${KIND_VERSION}"
fi
if [ ! -x "$BIN/k3d" ]; then
  # `go install k3d@version` stops on the module proxy's refusal to list k3d's versions (it
  # asks for them to check deprecation), so k3d is built from a throwaway module instead.
  build=$(mktemp -d)
  trap 'rm -rf "$build"' EXIT
  (cd "$build" && printf 'module k3dbuild\n\ngo 1.24\n' > go.mod \
    && go get "github.com/k3d-io/k3d/v5@${K3D_VERSION}" \
    && go build -o "$BIN/k3d" -ldflags "-X github.com/k3d-io/k3d/v5/version.Version=${K3D_VERSION} -X github.com/k3d-io/k3d/v5/version.K3sVersion=${K3S_VERSION}" github.com/k3d-io/k3d/v5)
fi
"$BIN/kind" version
"$BIN/k3d" version
