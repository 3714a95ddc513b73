"""The compose stack for real: images built offline (scripts/build-images.sh), `docker compose
up -d --wait`, the team workflow through that stack's gateway (sign up, team, invite, accept,
a cluster on the kind test double, a terminal echo over the WebSocket, delete); with every
container made anew, the stack keeps its data and generated secrets; and `docker compose
down -v` leaves no container, volume or network behind."""

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from conftest import Person, _join_team, _make_team, unique
from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import wait_until
from pyk8s_provisioner.service import runtime_name

ROOT = Path(__file__).resolve().parents[2]
DOUBLES = Path(__file__).with_name("compose.doubles.yaml")
BUILD_SECONDS = 1500
UP_SECONDS = 300
PASSWORD = "correct horse battery"


def docker_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


class Stack:
    """One compose project of this checkout, on its own name and loopback port."""

    def __init__(self) -> None:
        self.project = f"pyk8s-test-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "DOCKER_CONFIG": str(ROOT / ".tools" / "docker"),
            "PYK8S_HTTP_PORT": str(self.port),
        }

    def compose(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        argv = [
            "docker", "compose", "--project-name", self.project,
            "--env-file", str(ROOT / ".tools" / "images.env"),
            "--file", str(ROOT / "compose.yaml"), "--file", str(DOUBLES), *args,
        ]  # fmt: skip
        done = subprocess.run(
            argv, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done

    def leftovers(self) -> dict[str, list[str]]:
        label = f"label=com.docker.compose.project={self.project}"
        listings = {
            "containers": ["docker", "ps", "-aq", "--filter", label],
            "volumes": ["docker", "volume", "ls", "-q", "--filter", label],
            "networks": ["docker", "network", "ls", "-q", "--filter", label],
        }
        return {
            kind: subprocess.run(argv, capture_output=True, text=True, check=True).stdout.split()
            for kind, argv in listings.items()
        }

    def logs(self) -> str:
        return subprocess.run(
            ["docker", "compose", "--project-name", self.project, "logs", "--no-color"],
            cwd=ROOT, env=self.env, capture_output=True, text=True, check=False, timeout=60,
        ).stdout[-20000:]  # fmt: skip


def timed(what: str, timings: dict[str, float], action):
    started = time.monotonic()
    value = action()
    timings[what] = time.monotonic() - started
    return value


def build_images() -> None:
    done = subprocess.run(
        [str(ROOT / "scripts" / "build-images.sh")],
        cwd=ROOT, capture_output=True, text=True, timeout=BUILD_SECONDS, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout[-5000:]}\n{done.stderr[-5000:]}"


def wait_status(person: Person, cluster_id: str, status: str, timeout: float = 120) -> dict:
    def current():
        answer = person.get(f"/clusters/{cluster_id}")
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["status"] == status else None

    return wait_until(current, timeout=timeout, interval=0.5)


def read_until(ws, pattern: bytes, timeout: float = 20) -> None:
    """Reads (and acknowledges) terminal output until `pattern` appears."""
    deadline = time.monotonic() + timeout
    seen = b""
    while not re.search(pattern, seen):
        frame = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(frame, bytes):
            seen = (seen + frame)[-4096:]
            ws.send(json.dumps({"type": "ack", "bytes": len(frame)}))


def node_containers(runtime: str) -> list[str]:
    label = f"label=io.x-k8s.kind.cluster={runtime}"
    return subprocess.run(
        ["docker", "ps", "-aq", "--filter", label], capture_output=True, text=True, check=True
    ).stdout.split()


def team_workflow(url: str) -> tuple[str, str]:
    """Returns the owner's login and their team's id."""
    with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as api:
        dashboard = httpx.get(url, timeout=10)
        assert dashboard.status_code == 200 and "<div id=" in dashboard.text, dashboard.text
        owner, member = Person(api, password=PASSWORD), Person(api)
        team = _make_team(owner)
        _join_team(owner, team, member, "member")
        name = unique("c-")
        created = owner.post("/clusters", json={"name": name, "provider": "kind", "team_id": team})
        assert created.status_code == 202, created.text
        cluster_id = created.json()["id"]
        runtime = runtime_name(name, uuid.UUID(cluster_id))
        try:
            wait_status(owner, cluster_id, "ready")
            terminal_echo(url, member, cluster_id)
            assert owner.delete(f"/clusters/{cluster_id}").status_code == 202
            wait_status(owner, cluster_id, "deleted")
            assert node_containers(runtime) == []
        finally:
            leftover = node_containers(runtime)
            if leftover:
                subprocess.run(["docker", "rm", "-f", *leftover], capture_output=True, check=False)
        return owner.username, team


def still_there(url: str, login: str, team: str) -> None:
    """After every container was made anew (an upgrade): the same password works, so the
    database and its generated password were kept, and the team is there."""
    with httpx.Client(base_url=f"{url}/api/v1", timeout=30) as api:
        tokens = api.post("/auth/login", json={"login": login, "password": PASSWORD})
        assert tokens.status_code == 200, tokens.text
        headers = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        teams = api.get("/teams", headers=headers)
        assert teams.status_code == 200, teams.text
        assert team in [t["id"] for t in teams.json()["teams"]], teams.text


def terminal_echo(url: str, member: Person, cluster_id: str) -> None:
    ticket = member.post(f"/clusters/{cluster_id}/terminal")
    assert ticket.status_code == 201, ticket.text
    ws_url = url.replace("http://", "ws://") + ticket.json()["ws_url"]
    with connect(ws_url, additional_headers={"Origin": url}) as ws:
        ws.send(json.dumps({"type": "hello", "ticket": ticket.json()["ticket"]}))
        assert json.loads(ws.recv(timeout=20))["type"] == "ready"
        ws.send(b"echo hel''lo from $(hostname)\r")
        read_until(ws, rb"\r\nhello from [\w.-]+-control-plane\r\n")


@pytest.mark.timeout(BUILD_SECONDS + UP_SECONDS + 600)
def test_compose_stack_serves_the_team_workflow_and_leaves_nothing_behind():
    if not docker_answers():
        pytest.skip("no Docker engine answers (run scripts/ensure-docker.sh)")
    if shutil.which("go") is None:
        pytest.skip("scripts/build-images.sh builds docker compose with Go; none is installed")
    timings: dict[str, float] = {}
    timed("build", timings, build_images)
    stack = Stack()
    try:
        timed("up", timings, lambda: stack.compose("up", "-d", "--wait", timeout=UP_SECONDS))
        login, team = timed("workflow", timings, lambda: team_workflow(stack.url))
        recreate = ("up", "-d", "--wait", "--force-recreate")
        timed("recreate", timings, lambda: stack.compose(*recreate, timeout=UP_SECONDS))
        still_there(stack.url, login, team)
    except BaseException:
        print(stack.logs())
        raise
    finally:
        timed("down", timings, lambda: stack.compose("down", "-v", "--remove-orphans"))
    assert stack.leftovers() == {"containers": [], "volumes": [], "networks": []}
    print(", ".join(f"{what} {seconds:.1f}s" for what, seconds in timings.items()))
