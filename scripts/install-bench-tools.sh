#!/usr/bin/env bash
# Builds the load generator `make bench` drives (bombardier, bench/rest_read.py) from the Go
# module proxy into .tools/bin (no download site for release binaries is reachable). Skips it
# when already built.
set -euo pipefail
cd "$(dirname "$0")/.."
BOMBARDIER_VERSION="${BOMBARDIER_VERSION:-v1.2.6}"
BIN="$PWD/.tools/bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"
mkdir -p "$BIN"
if [ ! -x "$BIN/bombardier" ]; then
  GOBIN="$BIN" go install "github.com/codesenberg/bombardier@${BOMBARDIER_VERSION}"
fi
"$BIN/bombardier" --version
