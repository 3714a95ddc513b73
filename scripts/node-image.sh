#!/usr/bin/env bash
# Builds the local image that test doubles of kind/k3d run as cluster "nodes", and that the
# terminal tests exec into. No registry is reachable, so the root filesystem is assembled from
# Debian packages on this machine (bash with its libraries, busybox for the usual tools) and
# imported with `docker import`.
set -euo pipefail
IMAGE="${PYK8S_NODE_IMAGE:-pyk8s-lab/node:test}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE already present"; exit 0
fi
if [ ! -x /bin/busybox ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null 2>&1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,usr/bin,lib,lib64,etc,tmp,root,proc,sys,dev}
chmod 1777 "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
for tool in $("$root/bin/busybox" --list); do
  [ -e "$root/bin/$tool" ] || ln -s busybox "$root/bin/$tool"
done
cp /bin/bash "$root/bin/bash"
for lib in $(ldd /bin/bash | grep -oE '/[^ ]+'); do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done
echo 'root:x:0:0:root:/root:/bin/bash' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
tar -C "$root" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["/bin/sleep", "infinity"]' - "$IMAGE" >/dev/null
echo "built $IMAGE"
