"""kubectl for real, through the gateway, against kwok clusters (a real kube-apiserver with fake
nodes). Each person uses the kubeconfig the API hands out: it reaches the cluster through the
gateway's proxy and gets its tokens from `pyk8s kube-credential`, here trading the person's API
token (kubectl passes its environment to the plugin). The gateway serves HTTPS: kubectl sends
no credentials to an http:// server."""

import json
import os
import select
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from conftest import TOOLS, require_kwok, unique
from pyk8s_kit.testing import wait_until

KUBECTL = TOOLS / "bin" / "kubectl"
READY_SECONDS = 90
KUBECTL_SECONDS = 60


@pytest.fixture
def platform_overrides(gateway_pki):
    return {
        "auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1},
        "gateway": {
            "tls_cert_file": str(gateway_pki / "server.pem"),
            "tls_key_file": str(gateway_pki / "server-key.pem"),
            "public_ca_file": str(gateway_pki / "ca.pem"),
        },
    }


@pytest.fixture
def api(platform, gateway_pki):
    verify = ssl.create_default_context(cafile=str(gateway_pki / "ca.pem"))
    with httpx.Client(base_url=f"{platform.url}/api/v1", timeout=30, verify=verify) as client:
        yield client


class Kubectl:
    """One person's kubectl: the kubeconfig the API gave them, their API token in the
    environment for the exec plugin, a CLI config folder of their own."""

    def __init__(self, folder: Path, kubeconfig: str, token: str, ca: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = folder / "kubeconfig"
        self.kubeconfig.write_text(kubeconfig)
        self.env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "KUBECONFIG": str(self.kubeconfig),
            "PYK8S_TOKEN": token,
            "XDG_CONFIG_HOME": str(folder / "config"),
            # The CLI trades the token with the gateway, whose certificate our CA signed.
            "SSL_CERT_FILE": str(ca),
        }

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(KUBECTL), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=KUBECTL_SECONDS,
            check=False,
        )

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def refused(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode != 0, done.stdout
        return done.stderr

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [str(KUBECTL), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env
        )


@pytest.fixture
def team(person, make_team, join_team):
    people = {role: person() for role in ("owner", "member", "viewer", "outsider")}
    team_id = make_team(people["owner"])
    for role in ("member", "viewer"):
        join_team(people["owner"], team_id, people[role], role)
    return team_id, people


@pytest.fixture
def kwok_cluster(team, remove_runtime_clusters):
    require_kwok()
    team_id, people = team
    created = people["owner"].post(
        "/clusters",
        json={"name": unique("k-"), "provider": "kwok", "team_id": team_id, "workers": 2},
    )
    assert created.status_code == 202, created.text
    cluster = created.json()

    def ready():
        current = people["owner"].get(f"/clusters/{cluster['id']}").json()
        assert current["status"] in ("pending", "provisioning", "ready"), current
        return current["status"] == "ready"

    wait_until(ready, timeout=READY_SECONDS, interval=0.2)
    return cluster["id"]


def kubectl_for(person, cluster_id: str, folder: Path, ca: Path) -> tuple[Kubectl, str]:
    """The person's kubectl and the id of the API token it uses."""
    answer = person.get(f"/clusters/{cluster_id}/kubeconfig")
    assert answer.status_code == 200, answer.text
    kubeconfig = answer.json()["kubeconfig"]
    assert "token" not in yaml.safe_load(kubeconfig)["users"][0]["user"]
    token = person.post("/auth/tokens", json={"name": "kubectl"})
    assert token.status_code == 201, token.text
    return Kubectl(folder, kubeconfig, token.json()["token"], ca), token.json()["id"]


def running_pods(kubectl: Kubectl) -> list[dict]:
    pods = json.loads(kubectl.ok("get", "pods", "-n", "demo", "-o", "json"))["items"]
    return [pod for pod in pods if pod["status"].get("phase") == "Running"]


def test_kubectl_through_the_gateway_follows_the_team_role(
    team, kwok_cluster, tmp_path, gateway_pki, platform
):
    _, people = team
    ca = gateway_pki / "ca.pem"
    member, _ = kubectl_for(people["member"], kwok_cluster, tmp_path / "member", ca)
    viewer, viewer_token = kubectl_for(people["viewer"], kwok_cluster, tmp_path / "viewer", ca)

    # A member creates a namespace and a Deployment; kwok runs its pods on the fake nodes.
    member.ok("create", "namespace", "demo")
    member.ok("create", "deployment", "web", "--image=registry.invalid/web:1", "-n", "demo")
    member.ok("scale", "deployment", "web", "--replicas=2", "-n", "demo")
    wait_until(lambda: len(running_pods(member)) == 2, timeout=60, interval=0.5)
    nodes = {pod["spec"]["nodeName"] for pod in running_pods(member)}
    assert nodes <= {"node-000000", "node-000001"}
    assert member.ok("auth", "whoami", "-o", "jsonpath={.status.userInfo.groups}").startswith(
        '["pyk8s:member"'
    )

    # A viewer reads, and Kubernetes itself refuses a create (403, the view ClusterRole).
    assert "web" in viewer.ok("get", "deployments", "-n", "demo", "-o", "name")
    refusal = viewer.refused("create", "namespace", "not-mine")
    assert "Forbidden" in refusal and "pyk8s:user:" in refusal, refusal

    # Someone outside the team, with a kubeconfig made for the member, is told the cluster
    # does not exist, by the gateway.
    outsider_token = people["outsider"].post("/auth/tokens", json={"name": "k"}).json()["token"]
    outsider = Kubectl(tmp_path / "outsider", member.kubeconfig.read_text(), outsider_token, ca)
    assert "NotFound" in outsider.refused("get", "pods", "-n", "demo")

    # A revoked API token is refused on the next call (the plugin trades it no more).
    revoked = people["viewer"].delete(f"/auth/tokens/{viewer_token}")
    assert revoked.status_code == 204
    viewer.env["XDG_CONFIG_HOME"] = str(tmp_path / "viewer" / "fresh-config")
    assert viewer.run("get", "pods", "-n", "demo").returncode != 0

    # A member removed from the team is refused on the very next call.
    assert "web" in member.ok("get", "deployments", "-n", "demo", "-o", "name")
    team_id = people["owner"].get(f"/clusters/{kwok_cluster}").json()["team_id"]
    removed = people["owner"].delete(f"/teams/{team_id}/members/{people['member'].id}")
    assert removed.status_code == 204, removed.text
    assert "NotFound" in member.refused("get", "deployments", "-n", "demo")


def test_a_watch_streams_through_the_gateway(team, kwok_cluster, tmp_path, gateway_pki):
    _, people = team
    member, _ = kubectl_for(people["member"], kwok_cluster, tmp_path / "m", gateway_pki / "ca.pem")
    member.ok("create", "namespace", "watched")
    watch = member.popen("get", "configmaps", "-n", "watched", "-w", "-o", "name")
    try:
        lines = Lines(watch)
        # Each object made while the watch runs arrives on it, while it goes on streaming.
        for name in ("first", "second"):
            member.ok("create", "configmap", name, "-n", "watched")
            lines.until(f"configmap/{name}")
            assert watch.poll() is None
    finally:
        watch.kill()
        watch.wait(10)


class Lines:
    """A running kubectl's output, line by line, each awaited with a deadline."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.buffer = b""

    def until(self, wanted: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while wanted.encode() + b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            assert left > 0, f"no {wanted!r} in {self.buffer!r}"
            readable, _, _ = select.select([self.process.stdout], [], [], left)
            if readable:
                chunk = os.read(self.process.stdout.fileno(), 65536)
                assert chunk, f"the watch ended: {self.process.stderr.read()!r}"
                self.buffer += chunk
