"""Shared by the kind and k3d test doubles: cluster "nodes" are real Docker containers of
the locally built node image with the kubectl test double in it, named and labelled as the
real tools name and label them, holding the admin kubeconfig where the real nodes keep it."""

import base64
import hashlib
import io
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tarfile
import time
import uuid
from pathlib import Path

NODE_IMAGE = os.environ.get("PYK8S_NODE_IMAGE", "pyk8s-lab/node:local")
KUBECTL_DOUBLE = Path(__file__).with_name("kubectl_double")
DOUBLE_IMAGE = "pyk8s-lab/node-double"
API_PORT_LABEL = "pyk8s-lab.test-double/api-port"
DOUBLE_LABEL = "pyk8s-lab.test-double"


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(["docker", *args], capture_output=True, check=False, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(done.stderr.strip() or f"docker {args[0]} failed")
    return done


def image_present(image: str) -> bool:
    return docker("image", "inspect", image, check=False).returncode == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_image() -> str:
    """NODE_IMAGE with the kubectl double as /usr/local/bin/kubectl, made once for each
    version of the two (its tag is their hash) with `docker commit`: no registry or builder
    is needed, and doubles making it at once make the same image."""
    found = docker("image", "inspect", "--format", "{{.Id}}", NODE_IMAGE, check=False)
    if found.returncode != 0:
        fail(f"ERROR: no node image {NODE_IMAGE}: run scripts/node-image.sh")
    script = KUBECTL_DOUBLE.read_bytes()
    digest = hashlib.sha256(found.stdout.strip().encode() + script).hexdigest()[:12]
    image = f"{DOUBLE_IMAGE}:{digest}"
    if image_present(image):
        return image
    builder = f"pyk8s-node-double-{uuid.uuid4().hex[:8]}"
    docker("create", "--name", builder, "--label", f"{DOUBLE_LABEL}=1", NODE_IMAGE)
    try:
        subprocess.run(
            ["docker", "cp", "-", f"{builder}:/"],
            input=archive({"usr/local/bin/kubectl": script}, mode=0o755),
            capture_output=True,
            check=True,
        )
        docker("commit", "--change", f"LABEL {DOUBLE_LABEL}=1", builder, image)
    finally:
        docker("rm", "-f", builder, check=False)
    return image


def archive(files: dict[str, bytes], mode: int) -> bytes:
    """A tar stream of `files` (paths relative to /) with their folders."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folders = {str(parent) for path in files for parent in Path(path).parents} - {"."}
        for folder in sorted(folders):
            entry = tarfile.TarInfo(folder)
            entry.type, entry.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(entry)
        for path, data in files.items():
            entry = tarfile.TarInfo(path)
            entry.size, entry.mode = len(data), mode
            tar.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


def run_node(
    name: str, labels: dict[str, str], image: str, files: dict[str, str] | None = None
) -> None:
    """A node container; `files` are written in it as it starts, as the real node's own
    set-up writes them (kubeadm's admin.conf, k3s's k3s.yaml)."""
    args = ["run", "-d", "--name", name, "--hostname", name, "--label", f"{DOUBLE_LABEL}=1"]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    command = []
    if files:
        steps = [
            f"mkdir -p {shlex.quote(os.path.dirname(path))} && echo "
            f"{base64.b64encode(content.encode()).decode()} | base64 -d > {shlex.quote(path)}"
            for path, content in files.items()
        ]
        command = ["/bin/sh", "-c", " && ".join([*steps, "exec sleep infinity"])]
    docker(*args, image, *command)


def containers(label_key: str, value: str | None = None) -> list[dict]:
    selector = f"{label_key}={value}" if value else label_key
    out = docker("ps", "-a", "--filter", f"label={selector}", "--format", "{{json .}}").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def label_of(container: dict, key: str) -> str | None:
    for pair in container.get("Labels", "").split(","):
        name, _, value = pair.partition("=")
        if name == key:
            return value
    return None


def remove(names: list[str]) -> None:
    if names:
        docker("rm", "-f", *names, check=False)


def node_made(count: int) -> None:
    """Called after each node. With PYK8S_DOUBLE_HALT_AFTER_NODES=N the double halts after N
    nodes until it is killed: the provisioner's CLIs die with it, so a test that kills the
    provisioner there leaves a cluster cut off between nodes, without racing the double."""
    limit = int(os.environ.get("PYK8S_DOUBLE_HALT_AFTER_NODES", "0") or 0)
    if limit and count >= limit:
        signal.pause()


def pause(variable: str) -> None:
    """Tests stretch a step with e.g. PYK8S_DOUBLE_CREATE_DELAY=3 to kill the caller mid-way."""
    delay = float(os.environ.get(variable, "0") or 0)
    if delay > 0:
        time.sleep(delay)


def kubeconfig(context: str, port: int) -> str:
    return f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: dGVzdC1kb3VibGUtY2E=
    server: https://127.0.0.1:{port}
  name: {context}
contexts:
- context:
    cluster: {context}
    user: {context}
  name: {context}
current-context: {context}
kind: Config
preferences: {{}}
users:
- name: {context}
  user:
    client-certificate-data: dGVzdC1kb3VibGUtY2VydA==
    client-key-data: dGVzdC1kb3VibGUta2V5
"""


def fail(message: str, code: int = 1) -> "NoReturn":  # noqa: F821
    print(message, file=sys.stderr)
    sys.exit(code)
