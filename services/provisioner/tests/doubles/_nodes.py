"""Shared by the kind and k3d test doubles: cluster "nodes" are real Docker containers of
the locally built node image, named and labelled as the real tools name and label them."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

NODE_IMAGE = os.environ.get("PYK8S_NODE_IMAGE", "pyk8s-lab/node:test")
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


def run_node(name: str, labels: dict[str, str], image: str) -> None:
    args = ["run", "-d", "--name", name, "--hostname", name, "--label", f"{DOUBLE_LABEL}=1"]
    for key, value in labels.items():
        args += ["--label", f"{key}={value}"]
    docker(*args, image)


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
