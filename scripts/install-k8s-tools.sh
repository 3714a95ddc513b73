#!/usr/bin/env bash
# Builds helm, kwok/kwokctl, etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
# kubectl from the Go module proxy into .tools/bin (no release download site is reachable and no
# container image is needed: kwokctl's binary runtime runs these as local processes).
# The Kubernetes binaries go to .tools/kubernetes/<version>/, one folder per version built (the
# versions the provisioner's kwok provider offers, PROVISIONER_KWOK_VERSIONS_DIR), and
# .tools/bin links to those of K8S_VERSION. K8S_VERSION=v1.33.8 scripts/install-k8s-tools.sh
# adds a version.
# A binary is rebuilt only when it is missing or built from another module version; the Go build
# and module caches live under .tools/ so a CI cache of that folder makes a rebuild take seconds.
# Measured times: helm/pyk8s-lab/README.md ("On kwok").
set -euo pipefail
cd "$(dirname "$0")/.."
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.8}"
K8S_VERSION="${K8S_VERSION:-v1.34.4}"
TOOLS="$PWD/.tools"
BIN="$TOOLS/bin"
# Go's own caches (or the caller's GOCACHE/GOMODCACHE): shared by every checkout on the
# machine, so a fresh clone, CI included, rebuilds in about a minute instead of 17.
GOMODCACHE="$(go env GOMODCACHE)"
export GOMODCACHE
export GOFLAGS="${GOFLAGS:--buildvcs=false} -modcacherw"
mkdir -p "$BIN"

# built_from BINARY MODULE VERSION: the binary (a name in .tools/bin, or a path) exists and its
# build info names MODULE at VERSION.
built_from() {
  local path="$1"
  [[ "$path" == */* ]] || path="$BIN/$path"
  [ -x "$path" ] && go version -m "$path" | grep -qE "^[[:space:]]+(mod|dep)[[:space:]]+$2[[:space:]]+$3([[:space:]]|$)"
}

if ! built_from helm helm.sh/helm/v3 "$HELM_VERSION"; then
  go mod download "helm.sh/helm/v3@$HELM_VERSION"
  client_go=$(awk '$1 == "k8s.io/client-go" {print $2}' "$GOMODCACHE/cache/download/helm.sh/helm/v3/@v/$HELM_VERSION.mod")
  minor=$(echo "$client_go" | cut -d. -f2)
  ld="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ld="$ld -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  GOBIN="$BIN" go install -trimpath -ldflags "$ld" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
fi

if ! built_from kwok sigs.k8s.io/kwok "$KWOK_VERSION" || ! built_from kwokctl sigs.k8s.io/kwok "$KWOK_VERSION"; then
  GOBIN="$BIN" go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" "sigs.k8s.io/kwok/cmd/kwokctl@$KWOK_VERSION"
fi

# etcd and Kubernetes carry replace directives in their go.mod, which `go install mod@version`
# refuses, so each is built from a small module of its own under .tools/.
if ! built_from etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"; then
  mod="$TOOLS/etcd-mod"
  rm -rf "$mod" && mkdir -p "$mod"
  printf 'module toolbuild/etcd\n\ngo 1.24\n' > "$mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$mod/tools.go"
  (cd "$mod" \
    && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" "go.etcd.io/etcd/api/v3@$ETCD_VERSION" \
      "go.etcd.io/etcd/client/pkg/v3@$ETCD_VERSION" "go.etcd.io/etcd/client/v3@$ETCD_VERSION" \
      "go.etcd.io/etcd/pkg/v3@$ETCD_VERSION" \
    && go mod tidy && go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3)
fi

K8S_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)
K8S_DIR="$TOOLS/kubernetes/$K8S_VERSION"
mkdir -p "$K8S_DIR"
k8s_built=true
for b in "${K8S_BINS[@]}"; do
  # Earlier runs of this script built straight into .tools/bin: such a binary moves to its folder.
  if [ -f "$BIN/$b" ] && [ ! -L "$BIN/$b" ] && built_from "$b" k8s.io/kubernetes "$K8S_VERSION"; then
    mv "$BIN/$b" "$K8S_DIR/$b"
  fi
  built_from "$K8S_DIR/$b" k8s.io/kubernetes "$K8S_VERSION" || k8s_built=false
done
if [ "$k8s_built" = false ]; then
  mod="$TOOLS/k8s-mod"
  staging="v0.${K8S_VERSION#v1.}"
  rm -rf "$mod" && mkdir -p "$mod"
  go mod download "k8s.io/kubernetes@$K8S_VERSION"
  # Every staging module is pinned to its published v0 version; the two sample modules are not
  # on the proxy and nothing built here needs them.
  mods=$(grep -E '=> ./staging' "$GOMODCACHE/cache/download/k8s.io/kubernetes/@v/$K8S_VERSION.mod" \
    | awk '{print $1}' | grep -vE 'sample-(cli-plugin|controller)$')
  { printf 'module toolbuild/k8s\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n' "$K8S_VERSION"
    for m in $mods; do printf '\t%s => %s %s\n' "$m" "$m" "$staging"; done
    echo ')'; } > "$mod/go.mod"
  { printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for b in "${K8S_BINS[@]}"; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$b"; done
    echo ')'; } > "$mod/tools.go"
  # kwokctl reads the cluster version from `kube-apiserver --version`, so the version is stamped.
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ld="-s -w -X k8s.io/component-base/version.buildDate=2025-01-01T00:00:00Z"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld="$ld -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  (cd "$mod" && go mod tidy \
    && go build -trimpath -ldflags "$ld" -o "$K8S_DIR/" "${K8S_BINS[@]/#/k8s.io/kubernetes/cmd/}")
fi
for b in "${K8S_BINS[@]}"; do ln -sfn "../kubernetes/$K8S_VERSION/$b" "$BIN/$b"; done

"$BIN/helm" version --short
"$BIN/kwokctl" --version
# sed reads all it is given: with `head -1` the tool could die of SIGPIPE and fail the script.
"$BIN/etcd" --version | sed -n 1p
"$BIN/kube-apiserver" --version
"$BIN/kubectl" version --client | sed -n 1p
echo "Kubernetes versions for kwok (.tools/kubernetes): $(ls "$TOOLS/kubernetes" | tr '\n' ' ')"
