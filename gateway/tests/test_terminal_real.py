"""The web terminal through the real teams service and the real provisioner: a team cluster
created on the kind test double (a real Docker container), a member's shell on its node, and
the session cut when the cluster is deleted; a kwok cluster (for real) whose shell container
has kubectl pointed at the cluster."""

import json
import re
import subprocess
import time

from sqlalchemy import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from conftest import remove_kwok, require_kwok, unique
from pyk8s_kit.testing import wait_until
from pyk8s_provisioner.models import Cluster as ClusterRow


def wait_status(person, cluster_id: str, status: str, timeout: float = 60) -> dict:
    def current():
        answer = person.get(f"/clusters/{cluster_id}")
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["status"] == status else None

    return wait_until(current, timeout=timeout, interval=0.1)


def node_containers(platform) -> list[str]:
    async def load():
        async with platform.runtimes["provisioner"].db.session() as session:
            return [row.runtime_name for row in (await session.scalars(select(ClusterRow))).all()]

    names = []
    for runtime in platform.run(load()):
        out = subprocess.run(
            [
                "docker",
                "ps",
                "-a",
                "--filter",
                f"label=io.x-k8s.kind.cluster={runtime}",
                "--format",
                "{{.Names}}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        names += out.stdout.split()
    return names


def read_until(ws, pattern: bytes, timeout: float = 15) -> dict:
    """Reads (and acknowledges) output until `pattern`; returns the last control frame."""
    deadline = time.monotonic() + timeout
    seen, control = b"", {}
    while not re.search(pattern, seen):
        frame = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if isinstance(frame, str):
            control = json.loads(frame)
            continue
        seen = (seen + frame)[-4096:]
        ws.send(json.dumps({"type": "ack", "bytes": len(frame)}))
    return control


def closed_with(ws, timeout: float = 30) -> tuple[int, str]:
    deadline = time.monotonic() + timeout
    try:
        while True:
            frame = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
            if isinstance(frame, bytes):
                ws.send(json.dumps({"type": "ack", "bytes": len(frame)}))
    except ConnectionClosed as closed:
        return closed.rcvd.code, closed.rcvd.reason


def test_member_shell_on_a_real_team_cluster_until_it_is_deleted(
    platform, person, make_team, join_team
):
    owner, member, viewer, outsider = person(), person(), person(), person()
    team = make_team(owner)
    join_team(owner, team, member, "member")
    join_team(owner, team, viewer, "viewer")
    created = owner.post(
        "/clusters", json={"name": unique("t-"), "provider": "kind", "team_id": team}
    )
    assert created.status_code == 202, created.text
    cluster_id = created.json()["id"]
    try:
        wait_status(owner, cluster_id, "ready")
        assert viewer.post(f"/clusters/{cluster_id}/terminal").status_code == 403
        assert outsider.post(f"/clusters/{cluster_id}/terminal").status_code == 404

        ticket = member.post(f"/clusters/{cluster_id}/terminal")
        assert ticket.status_code == 201, ticket.text
        url = platform.url.replace("http://", "ws://") + ticket.json()["ws_url"]
        with connect(url, additional_headers={"Origin": platform.url}) as ws:
            ws.send(json.dumps({"type": "hello", "ticket": ticket.json()["ticket"]}))
            assert json.loads(ws.recv(timeout=20))["type"] == "ready"
            ws.send(b"echo hel''lo from $(hostname)\r")
            read_until(ws, rb"\r\nhello from [\w.-]+-control-plane\r\n")

            assert owner.delete(f"/clusters/{cluster_id}").status_code == 202
            assert closed_with(ws) == (1008, "cluster deleted")
        wait_status(owner, cluster_id, "deleted")
        rows = platform.run(_sessions(platform))
        assert [(r.end_reason, r.bytes_in > 0, r.bytes_out > 0) for r in rows] == [
            ("cluster deleted", True, True)
        ]
    finally:
        leftover = node_containers(platform)
        if leftover:
            subprocess.run(["docker", "rm", "-f", *leftover], check=False, capture_output=True)


def test_a_kwok_clusters_terminal_has_kubectl_pointed_at_the_cluster(
    platform, person, make_team, join_team
):
    require_kwok()
    owner, member = person(), person()
    team = make_team(owner)
    join_team(owner, team, member, "member")
    body = {"name": unique("k-"), "provider": "kwok", "team_id": team, "workers": 2}
    created = owner.post("/clusters", json=body)
    assert created.status_code == 202, created.text
    cluster_id = created.json()["id"]
    kwok_workdir = platform.runtimes["provisioner"].settings.work_dir / "kwok"
    runtime = platform.run(_runtime_name(platform, cluster_id))
    shell = f"pyk8s-kwok-{runtime}"
    try:
        wait_status(owner, cluster_id, "ready")
        ticket = member.post(f"/clusters/{cluster_id}/terminal")
        assert ticket.status_code == 201, ticket.text
        url = platform.url.replace("http://", "ws://") + ticket.json()["ws_url"]
        with connect(url, additional_headers={"Origin": platform.url}) as ws:
            ws.send(json.dumps({"type": "hello", "ticket": ticket.json()["ticket"]}))
            assert json.loads(ws.recv(timeout=20))["type"] == "ready"
            ws.send(b"kubectl get nodes\r")
            read_until(ws, rb"node-000000 +Ready[^\n]*\n[^\n]*node-000001 +Ready")

            assert owner.delete(f"/clusters/{cluster_id}").status_code == 202
            assert closed_with(ws) == (1008, "cluster deleted")
        wait_status(owner, cluster_id, "deleted")
        gone = subprocess.run(["docker", "inspect", shell], capture_output=True, check=False)
        assert gone.returncode != 0, "the shell container outlived its cluster"
    finally:
        remove_kwok(kwok_workdir, runtime)


async def _runtime_name(platform, cluster_id: str) -> str:
    async with platform.runtimes["provisioner"].db.session() as session:
        row = await session.get(ClusterRow, cluster_id)
        return row.runtime_name


async def _sessions(platform):
    from sqlalchemy import text

    async with platform.runtimes["terminal"].db.session() as session:
        return (
            await session.execute(text("SELECT end_reason, bytes_in, bytes_out FROM sessions"))
        ).all()
