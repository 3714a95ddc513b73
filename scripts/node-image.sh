#!/usr/bin/env bash
# Builds the local node image: the shell container of a kwok cluster's terminal (kubectl in it is
# pointed at the cluster), and what the tests' doubles of kind/k3d run as cluster "nodes" and the
# terminal tests exec into. No registry is reachable, so the root filesystem is assembled from
# Debian packages on this machine (bash with its libraries, busybox for the usual tools) and
# kubectl from .tools/bin when scripts/install-k8s-tools.sh has built it, then imported with
# `docker import`. The image is rebuilt when the kubectl it should carry changed.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE="${PYK8S_NODE_IMAGE:-pyk8s-lab/node:local}"
KUBECTL="$PWD/.tools/bin/kubectl"
LABEL=pyk8s-lab.kubectl
wanted=none
if [ -x "$KUBECTL" ]; then
  wanted=$(sha256sum "$(readlink -f "$KUBECTL")" | cut -c1-16)
fi
if [ "$(docker image inspect --format "{{index .Config.Labels \"$LABEL\"}}" "$IMAGE" 2>/dev/null)" = "$wanted" ]; then
  echo "$IMAGE already present"; exit 0
fi
if [ ! -x /bin/busybox ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null 2>&1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,usr/local/bin,lib,lib64,etc,tmp,root,proc,sys,dev}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for tool in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$tool" ] || ln -s busybox "$root/bin/$tool"
done
# copy_with_libraries FILE DEST: the program and the shared libraries it loads.
copy_with_libraries() {
  cp -L "$1" "$root$2"
  for lib in $(ldd "$1" 2>/dev/null | grep -oE '/[^ ]+'); do
    mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
  done
}
copy_with_libraries /bin/bash /bin/bash
if [ "$wanted" != none ]; then
  copy_with_libraries "$KUBECTL" /usr/local/bin/kubectl
fi
echo 'root:x:0:0:root:/root:/bin/bash' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "LABEL $LABEL=$wanted" \
  --change 'CMD ["/bin/sleep", "infinity"]' - "$IMAGE" >/dev/null
echo "built $IMAGE (kubectl: $wanted)"
