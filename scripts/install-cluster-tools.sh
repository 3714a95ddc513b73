#!/usr/bin/env bash
# Builds the real kind and k3d command-line tools from the Go module proxy into .tools/bin
# (no download site for release binaries is reachable). Skips a tool that is already built.
set -euo pipefail
cd "$(dirname "$0")/.."
KIND_VERSION="${KIND_VERSION:-v0.30.0}"
K3D_VERSION="${K3D_VERSION:-v5.8.3}"
export GOBIN="$PWD/.tools/bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
mkdir -p "$GOBIN"
if [ ! -x "$GOBIN/kind" ]; then
  go install "sigs.k8s.io/kind@${KIND_VERSION}"
fi
if [ ! -x "$GOBIN/k3d" ]; then
  go install "github.com/k3d-io/k3d/v5@${K3D_VERSION}"
fi
"$GOBIN/kind" version
"$GOBIN/k3d" version
