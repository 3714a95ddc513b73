"""Web terminal through the real gateway and terminal service, against the real Docker engine
and a real node container. The provisioner and the teams service are replaced by test doubles
that answer their subjects with the real contracts, so each test sets up exactly the clusters
and roles it needs."""

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from pyk8s_contracts import subjects
from pyk8s_contracts.clusters import (
    Cluster,
    ClusterAccessRequest,
    ClusterNode,
    ClusterNodeRequest,
    ClusterStatus,
    Provider,
)
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.events import CloudEvent, event_type
from pyk8s_contracts.teams import MembershipReply, MembershipRequest, Role
from pyk8s_contracts.terminal import Ended
from pyk8s_kit.actors import AccessTokenVerifier
from pyk8s_kit.bus import Router, ServiceError, serve
from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import wait_until
from pyk8s_provisioner import access as cluster_access

NODE_IMAGE = "pyk8s-lab/node:local"
REPO = Path(__file__).resolve().parents[2]
REPLACED = ("teams", "provisioner")


# --- a real node container --------------------------------------------------------------------


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["docker", *args], check=False, capture_output=True, text=True, timeout=60
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@pytest.fixture(scope="session")
def node_container() -> str:
    subprocess.run(["bash", str(REPO / "scripts/ensure-docker.sh")], check=True)
    subprocess.run(["bash", str(REPO / "scripts/node-image.sh")], check=True)
    name = f"pyk8s-terminal-test-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--name", name, "--label", "pyk8s.test=terminal", NODE_IMAGE)
    yield name
    docker("rm", "-f", name, check=False)


def marked_processes(container: str, session_id: str | None = None) -> list[str]:
    """PIDs in the container whose environment carries a terminal session marker."""
    needle = f"PYK8S_TERMINAL_SESSION={session_id}" if session_id else "PYK8S_TERMINAL_SESSION="
    out = docker(
        "exec",
        container,
        "sh",
        "-c",
        f'for f in /proc/[0-9]*/environ; do grep -q "{needle}" "$f" 2>/dev/null '
        '&& echo "$f"; done; true',
    )
    return [line for line in out.split() if line]


def shells_in(container: str) -> list[str]:
    """Processes other than the container's own `sleep infinity`, as `docker top` sees them."""
    rows = docker("top", container, "-o", "pid,args").splitlines()[1:]
    return [row for row in rows if "sleep infinity" not in row]


# --- test doubles of the provisioner and the teams service ------------------------------------


@dataclass
class World:
    """What the test doubles know: clusters and team roles."""

    container: str
    clusters: dict[uuid.UUID, Cluster] = field(default_factory=dict)
    roles: dict[tuple[uuid.UUID, uuid.UUID], Role] = field(default_factory=dict)
    node_requests: int = 0

    def cluster(
        self,
        owner_id: str,
        team_id: uuid.UUID | None = None,
        status: ClusterStatus = ClusterStatus.READY,
    ) -> Cluster:
        now = datetime.now(UTC)
        cluster = Cluster(
            id=uuid.uuid4(),
            name=f"c{uuid.uuid4().hex[:6]}",
            team_id=team_id,
            owner_id=uuid.UUID(owner_id),
            provider=Provider.KIND,
            kubernetes_version=None,
            workers=0,
            status=status,
            status_message=None,
            api_server="https://127.0.0.1:6443",
            created_at=now,
            ready_at=now,
            expires_at=now + timedelta(hours=4),
        )
        self.clusters[cluster.id] = cluster
        return cluster

    def set_status(self, cluster_id: uuid.UUID, status: ClusterStatus) -> None:
        self.clusters[cluster_id] = self.clusters[cluster_id].model_copy(update={"status": status})

    def grant(self, team_id: uuid.UUID, user_id: str, role: Role | None) -> None:
        key = (team_id, uuid.UUID(user_id))
        if role is None:
            self.roles.pop(key, None)
        else:
            self.roles[key] = role


def provisioner_test_double(world: World) -> Router:
    """Answers like the provisioner: a cluster is visible to its owner (personal clusters) or
    to viewers and above of its team; anyone else gets not_found."""
    router = Router()

    def visible(cluster_id: uuid.UUID, actor_id: uuid.UUID | None) -> Cluster:
        cluster = world.clusters.get(cluster_id)
        if cluster is None:
            raise ServiceError(ErrorCode.NOT_FOUND, "cluster not found")
        outsider = (
            actor_id is not None
            and cluster.owner_id != actor_id
            and (cluster.team_id is None or (cluster.team_id, actor_id) not in world.roles)
        )
        if outsider:
            raise ServiceError(ErrorCode.NOT_FOUND, "cluster not found")
        return cluster

    async def role(team_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        return world.roles.get((team_id, user_id))

    @router.endpoint(subjects.PROVISIONER_CLUSTER_ACCESS, ClusterAccessRequest)
    async def check_access(req: ClusterAccessRequest) -> Cluster:
        # The provisioner's own rule, applied to the double's clusters and roles.
        cluster = visible(req.cluster_id, None)
        await cluster_access.require(role, cluster, req.user_id, req.action)
        return cluster

    @router.endpoint(subjects.PROVISIONER_CLUSTER_NODE, ClusterNodeRequest)
    async def node(req: ClusterNodeRequest) -> ClusterNode:
        world.node_requests += 1
        cluster = visible(req.cluster_id, None)
        return ClusterNode(cluster_id=cluster.id, status=cluster.status, container=world.container)

    return router


def teams_test_double(world: World) -> Router:
    router = Router()

    @router.endpoint(subjects.TEAMS_MEMBERSHIP, MembershipRequest)
    async def membership(req: MembershipRequest) -> MembershipReply:
        return MembershipReply(role=world.roles.get((req.team_id, req.user_id)))

    return router


@pytest.fixture
def platform_overrides():
    return {"terminal": {"recheck_interval_seconds": 0.5}}


@pytest.fixture(autouse=True)
def _doubles_replace_services(request, monkeypatch):
    """The platform of these tests runs without the real teams and provisioner services."""
    root = request.config.pluginmanager.get_plugin(str(request.config.rootpath / "conftest.py"))
    monkeypatch.setattr(root, "SERVICES", [s for s in root.SERVICES if s.name not in REPLACED])


@pytest.fixture
def world(platform, node_container):
    state = World(container=node_container)

    async def start():
        connections = []
        for name, router in (
            ("provisioner", provisioner_test_double(state)),
            ("teams", teams_test_double(state)),
        ):
            nc = await platform.nats.connect(name, name=f"{name}-double")
            await serve(nc, name, "0.0.0-test", [router], AccessTokenVerifier(nc).actor)
            connections.append(nc)
        return connections

    connections = platform.run(start())
    yield state
    for nc in connections:
        platform.run(nc.close())


# --- a WebSocket client speaking the frame protocol -------------------------------------------


class Closed(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code = code
        self.reason = reason


class Shell:
    """A browser-like client: reads output, acknowledges it, and keeps a bounded tail."""

    def __init__(self, ws: ClientConnection, ack: bool = True) -> None:
        self.ws = ws
        self.ack = ack
        self.tail = b""
        self.received = 0
        self.exit_code: int | None = None
        self.session_id: str | None = None

    def type(self, keys: str) -> None:
        self.ws.send(keys.encode())

    def resize(self, cols: int, rows: int) -> None:
        self.ws.send(json.dumps({"type": "resize", "cols": cols, "rows": rows}))

    def _next(self, timeout: float) -> bytes | dict:
        try:
            frame = self.ws.recv(timeout=timeout)
        except ConnectionClosed as closed:
            raise closed_by(closed) from None
        if isinstance(frame, str):
            message = json.loads(frame)
            if message.get("type") == "exit":
                self.exit_code = message["code"]
            return message
        self.received += len(frame)
        self.tail = (self.tail + frame)[-4096:]
        if self.ack:
            self._send_ack(len(frame))
        return frame

    def _send_ack(self, size: int) -> None:
        # The server may close right after its last output frame; the ack then meets the close.
        try:
            self.ws.send(json.dumps({"type": "ack", "bytes": size}))
        except ConnectionClosed as closed:
            raise closed_by(closed) from None

    def read_until(self, pattern: bytes, timeout: float = 15) -> re.Match:
        deadline = time.monotonic() + timeout
        start = len(self.tail)
        while True:
            found = re.search(pattern, self.tail[max(0, start - 256) :])
            if found:
                self.tail = b""
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{pattern!r} not seen; tail: {self.tail[-300:]!r}")
            before = len(self.tail)
            self._next(remaining)
            start = min(start, before)

    def wait_closed(self, timeout: float = 15) -> Closed:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._next(max(0.01, deadline - time.monotonic()))
            except Closed as closed:
                return closed
            except TimeoutError:
                raise AssertionError("the socket stayed open") from None


def closed_by(closed: ConnectionClosed) -> "Closed":
    if closed.rcvd is None:
        return Closed(None, "")
    return Closed(closed.rcvd.code, closed.rcvd.reason)


def ws_url(platform, path: str) -> str:
    return platform.url.replace("http://", "ws://") + path


def ticket_for(person, cluster_id: uuid.UUID) -> dict:
    reply = person.post(f"/clusters/{cluster_id}/terminal")
    assert reply.status_code == 201, reply.text
    return reply.json()


def open_socket(platform, path: str, origin: str | None = None) -> ClientConnection:
    headers = {"Origin": origin} if origin else None
    return connect(ws_url(platform, path), additional_headers=headers, open_timeout=10)


def open_shell(platform, person, cluster_id: uuid.UUID, ack: bool = True) -> Shell:
    ticket = ticket_for(person, cluster_id)
    ws = open_socket(platform, ticket["ws_url"], origin=platform.url)
    ws.send(json.dumps({"type": "hello", "ticket": ticket["ticket"], "cols": 80, "rows": 24}))
    shell = Shell(ws, ack=ack)
    ready = shell._next(20)
    assert ready == {"type": "ready", "session_id": ready.get("session_id")}, ready
    shell.session_id = ready["session_id"]
    return shell


def refused(ws: ClientConnection, first_message: str | bytes | None) -> Closed:
    if first_message is not None:
        try:
            ws.send(first_message)
        except ConnectionClosed:
            pass  # refused before the first message could even be sent
    return Shell(ws).wait_closed()


def terminal_rows(platform, sql: str) -> list:
    async def query():
        async with platform.runtimes["terminal"].db.session() as session:
            return (await session.execute(text(sql))).all()

    return platform.run(query())


def assert_nothing_started(platform, container: str) -> None:
    assert terminal_rows(platform, "SELECT id FROM sessions") == []
    assert shells_in(container) == []


# --- the shell works --------------------------------------------------------------------------


def test_echo_hello(platform, world, person):
    alice = person()
    cluster = world.cluster(alice.id)
    shell = open_shell(platform, alice, cluster.id)
    shell.type("echo hel''lo\r")
    shell.read_until(rb"\r\nhello\r\n")
    shell.ws.close()


def test_resize_changes_stty_size(platform, world, person):
    alice = person()
    shell = open_shell(platform, alice, world.cluster(alice.id).id)
    shell.type("stty size\r")
    shell.read_until(rb"\r\n24 80\r\n")
    shell.resize(132, 43)
    shell.type("stty size\r")
    shell.read_until(rb"\r\n43 132\r\n")
    shell.ws.close()


def test_exit_code_arrives_and_is_audited(platform, world, person, node_container):
    alice = person()
    cluster = world.cluster(alice.id)
    shell = open_shell(platform, alice, cluster.id)
    shell.type("echo ready\r")
    shell.read_until(rb"\r\nready\r\n")
    shell.type("exit 7\r")
    closed = shell.wait_closed()
    assert shell.exit_code == 7
    assert closed.code == 1000
    rows = terminal_rows(
        platform,
        "SELECT user_id, cluster_id, started_at, ended_at, exit_code, "
        "bytes_in, bytes_out FROM sessions",
    )
    assert len(rows) == 1
    user_id, cluster_id, started_at, ended_at, exit_code, bytes_in, bytes_out = rows[0]
    assert (str(user_id), cluster_id, exit_code) == (alice.id, cluster.id, 7)
    assert ended_at >= started_at
    assert bytes_in == len("echo ready\r") + len("exit 7\r")
    assert bytes_out > len("ready")
    events = platform.run(terminal_events(platform))
    assert [e.type for e in events] == [
        event_type("terminal", "opened"),
        event_type("terminal", "closed"),
    ]
    assert events[1].data["exit_code"] == 7 and events[1].data["user_id"] == alice.id
    assert marked_processes(node_container) == []


async def terminal_events(platform, expected: int = 2) -> list[CloudEvent]:
    nc = await platform.nats.connect("events")
    js = nc.jetstream()
    sub = await js.subscribe(
        "pyk8s.events.terminal.>", stream=subjects.EVENTS_STREAM, ordered_consumer=True
    )
    events = []
    try:
        while len(events) < expected:
            msg = await sub.next_msg(timeout=10)
            events.append(CloudEvent.model_validate_json(msg.data))
    finally:
        await sub.unsubscribe()
        await nc.close()
    return events


def test_closing_the_socket_ends_the_exec_process(platform, world, person, node_container):
    alice = person()
    shell = open_shell(platform, alice, world.cluster(alice.id).id)
    shell.type("sleep 4321 & echo started\r")
    shell.read_until(rb"\r\nstarted\r\n")
    session_processes = marked_processes(node_container, shell.session_id)
    assert len(session_processes) >= 2  # the shell and its background sleep
    assert any("sleep 4321" in row for row in shells_in(node_container))
    shell.ws.close()
    wait_until(lambda: not marked_processes(node_container, shell.session_id), timeout=15)
    wait_until(lambda: shells_in(node_container) == [], timeout=15)
    wait_until(
        lambda: terminal_rows(
            platform, "SELECT end_reason FROM sessions WHERE ended_at IS NOT NULL"
        ),
        timeout=10,
    )


def test_background_jobs_do_not_outlive_a_shell_that_exits(platform, world, person, node_container):
    alice = person()
    shell = open_shell(platform, alice, world.cluster(alice.id).id)
    shell.type("sleep 8765 & echo started\r")
    shell.read_until(rb"\r\nstarted\r\n")
    shell.type("exit 0\r")
    closed = shell.wait_closed()
    assert (closed.code, shell.exit_code) == (1000, 0)
    assert marked_processes(node_container, shell.session_id) == []
    assert shells_in(node_container) == []


def test_ping_pong_and_protocol_violations(platform, world, person, node_container):
    alice = person()
    cluster = world.cluster(alice.id)
    shell = open_shell(platform, alice, cluster.id)
    shell.ws.send(json.dumps({"type": "ping", "t": 42}))
    pong = shell._next(10)
    while not isinstance(pong, dict):
        pong = shell._next(10)
    assert pong == {"type": "pong", "t": 42}
    shell.ws.send(json.dumps({"type": "resize", "cols": 0, "rows": 24}))
    closed = shell.wait_closed()
    assert (closed.code, closed.reason) == (1008, "malformed control frame")
    wait_until(lambda: not marked_processes(node_container, shell.session_id), timeout=10)

    big = open_shell(platform, alice, cluster.id)
    big.ws.send(b"x" * (64 * 1024 + 1))
    assert big.wait_closed().code == 1009
    wait_until(lambda: not marked_processes(node_container, big.session_id), timeout=10)


def test_a_node_container_that_is_gone_fails_cleanly(platform, world, person):
    alice = person()
    cluster = world.cluster(alice.id)
    world.container = f"pyk8s-no-such-node-{uuid.uuid4().hex[:6]}"
    ticket = ticket_for(alice, cluster.id)
    closed = refused(
        open_socket(platform, ticket["ws_url"], origin=platform.url),
        json.dumps({"type": "hello", "ticket": ticket["ticket"]}),
    )
    assert (closed.code, closed.reason) == (1011, "could not start a shell on the node")
    assert terminal_rows(platform, "SELECT end_reason FROM sessions") == [
        ("could not start a shell",)
    ]


# --- tickets ----------------------------------------------------------------------------------


def test_ticket_is_random_short_lived_and_stored_hashed(platform, world, person):
    alice = person()
    cluster = world.cluster(alice.id)
    first, second = ticket_for(alice, cluster.id), ticket_for(alice, cluster.id)
    assert first["ticket"] != second["ticket"]
    assert len(first["ticket"]) >= 22  # 43 url-safe characters: 256 random bits
    assert first["ws_url"] == f"/ws/terminal/{cluster.id}"
    expires = datetime.fromisoformat(first["expires_at"])
    assert timedelta(seconds=25) < expires - datetime.now(UTC) <= timedelta(seconds=30)
    stored = terminal_rows(platform, "SELECT token_hash FROM tickets")
    digests = {hashlib.sha256(t["ticket"].encode()).hexdigest() for t in (first, second)}
    assert {row[0] for row in stored} == digests


def test_ticket_needs_a_signed_in_user(api, world, person):
    alice = person()
    cluster = world.cluster(alice.id)
    assert api.post(f"/clusters/{cluster.id}/terminal").status_code == 401


# --- denials ----------------------------------------------------------------------------------


def test_socket_without_ticket_is_refused(platform, world, person, node_container):
    alice = person()
    cluster = world.cluster(alice.id)
    ticket_for(alice, cluster.id)
    ws = open_socket(platform, f"/ws/terminal/{cluster.id}", origin=platform.url)
    closed = refused(ws, json.dumps({"type": "hello"}))
    assert closed.code == 1008
    assert_nothing_started(platform, node_container)


def test_first_message_other_than_hello_is_refused(platform, world, person, node_container):
    alice = person()
    cluster = world.cluster(alice.id)
    ticket = ticket_for(alice, cluster.id)
    for first in (
        b"ls\r",
        json.dumps({"type": "resize", "cols": 10, "rows": 10}),
        "not json",
        ticket["ticket"],
    ):
        closed = refused(open_socket(platform, ticket["ws_url"], origin=platform.url), first)
        assert closed.code == 1008, first
    assert_nothing_started(platform, node_container)


def test_reused_ticket_is_refused(platform, world, person, node_container):
    alice = person()
    cluster = world.cluster(alice.id)
    ticket = ticket_for(alice, cluster.id)
    hello = json.dumps({"type": "hello", "ticket": ticket["ticket"]})
    ws = open_socket(platform, ticket["ws_url"], origin=platform.url)
    ws.send(hello)
    shell = Shell(ws)
    assert shell._next(20)["type"] == "ready"
    ws.close()
    # The end is recorded once the shell and everything it started are killed.
    wait_until(
        lambda: terminal_rows(platform, "SELECT id FROM sessions WHERE ended_at IS NOT NULL"),
        timeout=15,
    )
    closed = refused(open_socket(platform, ticket["ws_url"], origin=platform.url), hello)
    assert closed.code == 1008 and "ticket" in closed.reason
    assert len(terminal_rows(platform, "SELECT id FROM sessions")) == 1
    assert shells_in(node_container) == []


def test_expired_ticket_is_refused(platform, world, person, node_container):
    alice = person()
    cluster = world.cluster(alice.id)
    ticket = ticket_for(alice, cluster.id)
    # The clock moves on: the ticket's 30 seconds are over.
    terminal_rows(
        platform, "UPDATE tickets SET expires_at = now() - interval '1 second' RETURNING id"
    )
    closed = refused(
        open_socket(platform, ticket["ws_url"], origin=platform.url),
        json.dumps({"type": "hello", "ticket": ticket["ticket"]}),
    )
    assert closed.code == 1008 and "ticket" in closed.reason
    assert_nothing_started(platform, node_container)


def test_ticket_for_another_cluster_is_refused(platform, world, person, node_container):
    alice = person()
    mine, other = world.cluster(alice.id), world.cluster(alice.id)
    ticket = ticket_for(alice, mine.id)
    closed = refused(
        open_socket(platform, f"/ws/terminal/{other.id}", origin=platform.url),
        json.dumps({"type": "hello", "ticket": ticket["ticket"]}),
    )
    assert closed.code == 1008
    assert_nothing_started(platform, node_container)


def test_foreign_origin_is_refused(platform, world, person, node_container):
    alice = person()
    cluster = world.cluster(alice.id)
    ticket = ticket_for(alice, cluster.id)
    ws = open_socket(platform, ticket["ws_url"], origin="https://evil.example")
    closed = refused(ws, json.dumps({"type": "hello", "ticket": ticket["ticket"]}))
    assert (closed.code, closed.reason) == (1008, "origin not allowed")
    assert_nothing_started(platform, node_container)
    # The ticket was never presented to the terminal service, so it still works.
    shell = Shell(open_socket(platform, ticket["ws_url"], origin=platform.url))
    shell.ws.send(json.dumps({"type": "hello", "ticket": ticket["ticket"]}))
    assert shell._next(20)["type"] == "ready"
    shell.ws.close()


@pytest.mark.parametrize(
    "platform_overrides",
    [
        {"gateway": {"allowed_origins": ["https://console.example"]}},
    ],
)
def test_allowlisted_origin_is_accepted(platform, world, person):
    alice = person()
    ticket = ticket_for(alice, world.cluster(alice.id).id)
    shell = Shell(open_socket(platform, ticket["ws_url"], origin="https://console.example"))
    shell.ws.send(json.dumps({"type": "hello", "ticket": ticket["ticket"]}))
    assert shell._next(20)["type"] == "ready"
    shell.ws.close()


def test_team_roles_decide_who_gets_a_ticket(platform, world, person, node_container):
    owner, member, viewer, outsider = person(), person(), person(), person()
    team = uuid.uuid4()
    world.grant(team, owner.id, Role.OWNER)
    world.grant(team, member.id, Role.MEMBER)
    world.grant(team, viewer.id, Role.VIEWER)
    cluster = world.cluster(owner.id, team_id=team)
    assert member.post(f"/clusters/{cluster.id}/terminal").status_code == 201
    denied_viewer = viewer.post(f"/clusters/{cluster.id}/terminal")
    assert denied_viewer.status_code == 403
    assert denied_viewer.json()["code"] == "forbidden"
    assert outsider.post(f"/clusters/{cluster.id}/terminal").status_code == 404
    assert outsider.post(f"/clusters/{uuid.uuid4()}/terminal").status_code == 404
    assert_nothing_started(platform, node_container)


def test_a_creator_demoted_to_viewer_gets_no_terminal(platform, world, person, node_container):
    """Creating a team's cluster gives no right of its own to a shell: the team role decides,
    as for extending it (docs/rbac.md)."""
    creator = person()
    team = uuid.uuid4()
    world.grant(team, creator.id, Role.MEMBER)
    cluster = world.cluster(creator.id, team_id=team)
    ticket = ticket_for(creator, cluster.id)
    world.grant(team, creator.id, Role.VIEWER)
    denied = creator.post(f"/clusters/{cluster.id}/terminal")
    assert denied.status_code == 403 and denied.json()["code"] == "forbidden"
    closed = refused(
        open_socket(platform, ticket["ws_url"], origin=platform.url),
        json.dumps({"type": "hello", "ticket": ticket["ticket"]}),
    )
    assert closed.code == 1008 and "member role" in closed.reason
    assert_nothing_started(platform, node_container)


def test_another_teams_cluster_is_refused(platform, world, person, node_container):
    alice, bob = person(), person()
    team_a, team_b = uuid.uuid4(), uuid.uuid4()
    world.grant(team_a, alice.id, Role.ADMIN)
    world.grant(team_b, bob.id, Role.OWNER)
    theirs = world.cluster(bob.id, team_id=team_b)
    personal = world.cluster(bob.id)
    for cluster in (theirs, personal):
        denied = alice.post(f"/clusters/{cluster.id}/terminal")
        assert denied.status_code == 404
        assert denied.headers["content-type"].startswith("application/problem+json")
    assert_nothing_started(platform, node_container)


def test_deleted_cluster_is_refused(platform, world, person, node_container):
    alice = person()
    gone = world.cluster(alice.id, status=ClusterStatus.DELETED)
    assert alice.post(f"/clusters/{gone.id}/terminal").status_code == 404
    deleting = world.cluster(alice.id, status=ClusterStatus.DELETING)
    assert alice.post(f"/clusters/{deleting.id}/terminal").status_code == 409
    # A ticket taken just before the deletion no longer opens anything.
    cluster = world.cluster(alice.id)
    ticket = ticket_for(alice, cluster.id)
    world.set_status(cluster.id, ClusterStatus.DELETED)
    closed = refused(
        open_socket(platform, ticket["ws_url"], origin=platform.url),
        json.dumps({"type": "hello", "ticket": ticket["ticket"]}),
    )
    assert closed.code == 1008
    assert world.node_requests == 0
    assert_nothing_started(platform, node_container)


def test_viewer_with_a_ticket_from_before_a_downgrade_is_refused(
    platform, world, person, node_container
):
    owner, member = person(), person()
    team = uuid.uuid4()
    world.grant(team, member.id, Role.MEMBER)
    cluster = world.cluster(owner.id, team_id=team)
    ticket = ticket_for(member, cluster.id)
    world.grant(team, member.id, Role.VIEWER)
    closed = refused(
        open_socket(platform, ticket["ws_url"], origin=platform.url),
        json.dumps({"type": "hello", "ticket": ticket["ticket"]}),
    )
    assert closed.code == 1008 and "member role" in closed.reason
    assert_nothing_started(platform, node_container)


# --- sessions end when the right goes ---------------------------------------------------------


def test_session_ends_when_the_user_loses_the_right(platform, world, person, node_container):
    owner, member = person(), person()
    team = uuid.uuid4()
    world.grant(team, member.id, Role.MEMBER)
    cluster = world.cluster(owner.id, team_id=team)
    shell = open_shell(platform, member, cluster.id)
    shell.type("echo in\r")
    shell.read_until(rb"\r\nin\r\n")
    world.grant(team, member.id, None)
    closed = shell.wait_closed(timeout=10)
    assert (closed.code, closed.reason) == (1008, "access to the cluster was withdrawn")
    wait_until(lambda: not marked_processes(node_container, shell.session_id), timeout=10)


@pytest.mark.parametrize("platform_overrides", [{"terminal": {"recheck_interval_seconds": 300}}])
def test_team_member_event_triggers_an_immediate_recheck(platform, world, person, node_container):
    owner, member = person(), person()
    team = uuid.uuid4()
    world.grant(team, member.id, Role.MEMBER)
    cluster = world.cluster(owner.id, team_id=team)
    shell = open_shell(platform, member, cluster.id)
    shell.type("echo in\r")
    shell.read_until(rb"\r\nin\r\n")
    world.grant(team, member.id, Role.VIEWER)
    event = CloudEvent(
        source="pyk8s-teams",
        type=event_type("team.member", "role_changed"),
        subject=str(team),
        data={"team_id": str(team), "user_id": member.id, "role": "viewer"},
    )

    async def publish():
        nc = await platform.nats.connect("teams")
        await nc.jetstream().publish(
            subjects.event_subject("team.member", "role_changed"), event.model_dump_json().encode()
        )
        await nc.close()

    # Periodic rechecks are 5 minutes apart here: only the event can end the session now.
    platform.run(publish())
    closed = shell.wait_closed(timeout=5)
    assert (closed.code, closed.reason) == (1008, "access to the cluster was withdrawn")


def test_session_ends_when_the_cluster_is_deleted(platform, world, person, node_container):
    alice = person()
    cluster = world.cluster(alice.id)
    shell = open_shell(platform, alice, cluster.id)
    shell.type("echo in\r")
    shell.read_until(rb"\r\nin\r\n")
    event = CloudEvent(
        source="pyk8s-provisioner",
        type=event_type("cluster", "deleted"),
        subject=str(cluster.id),
        data={"cluster_id": str(cluster.id), "status": "deleted"},
    )

    async def publish():
        nc = await platform.nats.connect("provisioner")
        await nc.jetstream().publish(
            subjects.event_subject("cluster", "deleted"), event.model_dump_json().encode()
        )
        await nc.close()

    # The event alone ends it: the provisioner double still calls the cluster ready.
    platform.run(publish())
    closed = shell.wait_closed(timeout=5)
    assert (closed.code, closed.reason) == (1008, "cluster deleted")
    wait_until(lambda: not marked_processes(node_container, shell.session_id), timeout=10)


def test_socket_closes_when_the_terminal_stops_serving_the_session(
    platform, world, person, monkeypatch
):
    from pyk8s_gateway.routers import terminal as gateway_terminal

    monkeypatch.setattr(gateway_terminal, "LIVENESS_SECONDS", 0.2)
    alice = person()
    shell = open_shell(platform, alice, world.cluster(alice.id).id)
    shell.type("echo alive\r")
    shell.read_until(rb"\r\nalive\r\n[^\r\n]*# $")
    # Pings are answered while the session lives: nothing closes on its own.
    with pytest.raises(TimeoutError):
        shell._next(1.0)
    # The replica vanishes without a word (as in a crash): no one serves the session.
    bridge = platform.runtimes["terminal"].service.live[uuid.UUID(shell.session_id)]
    platform.run(bridge._sub.unsubscribe())
    closed = shell.wait_closed(timeout=10)
    assert (closed.code, closed.reason) == (1011, "terminal session lost")

    async def clean_up():
        await bridge.end(Ended(reason="test cleanup"))

    platform.run(clean_up())


# --- limits -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "platform_overrides",
    [
        {"terminal": {"max_sessions_per_user": 2, "max_sessions_per_cluster": 3}},
    ],
)
def test_session_limits_per_user_and_per_cluster(platform, world, person, node_container):
    alice, bob = person(), person()
    team = uuid.uuid4()
    world.grant(team, alice.id, Role.MEMBER)
    world.grant(team, bob.id, Role.MEMBER)
    cluster = world.cluster(alice.id, team_id=team)
    shells = [open_shell(platform, alice, cluster.id) for _ in range(2)]
    with pytest.raises(Closed) as over:
        open_shell(platform, alice, cluster.id)
    assert over.value.code == 1008 and "limit" in over.value.reason
    shells.append(open_shell(platform, bob, cluster.id))
    ticket = ticket_for(bob, cluster.id)
    closed = refused(
        open_socket(platform, ticket["ws_url"], origin=platform.url),
        json.dumps({"type": "hello", "ticket": ticket["ticket"]}),
    )
    assert closed.code == 1008 and "limit" in closed.reason
    assert len(terminal_rows(platform, "SELECT id FROM sessions")) == 3
    shells[0].ws.close()
    wait_until(
        lambda: terminal_rows(platform, "SELECT id FROM sessions WHERE ended_at IS NOT NULL")
    )
    shells.append(open_shell(platform, bob, cluster.id))
    for shell in shells[1:]:
        shell.ws.close()


@pytest.mark.parametrize("platform_overrides", [{"terminal": {"idle_timeout_seconds": 1.5}}])
def test_idle_session_is_closed(platform, world, person, node_container):
    alice = person()
    shell = open_shell(platform, alice, world.cluster(alice.id).id)
    closed = shell.wait_closed(timeout=10)
    assert (closed.code, closed.reason) == (1008, "idle timeout")
    wait_until(lambda: not marked_processes(node_container, shell.session_id), timeout=10)


@pytest.mark.parametrize("platform_overrides", [{"terminal": {"max_session_seconds": 2}}])
def test_session_length_is_limited(platform, world, person):
    alice = person()
    shell = open_shell(platform, alice, world.cluster(alice.id).id)
    shell.type("echo busy\r")
    shell.read_until(rb"\r\nbusy\r\n")
    closed = shell.wait_closed(timeout=10)
    assert (closed.code, closed.reason) == (1008, "maximum session length reached")


# --- flow control -----------------------------------------------------------------------------

FLOOD_BYTES = 50 * 1024 * 1024


def test_flood_keeps_memory_bounded_and_other_sessions_responsive(
    platform, world, person, node_container
):
    alice = person()
    cluster = world.cluster(alice.id)
    flood = open_shell(platform, alice, cluster.id)
    flood.type("stty -echo; echo go\r")
    flood.read_until(rb"go\r\n")
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        flood.type(f"head -c {FLOOD_BYTES} /dev/zero | tr '\\0' y; echo; echo FLOOD-$((40+2))\r")
        # The flooding client reads nothing for a while: the terminal stops at its window,
        # and another session on the same cluster still answers at once.
        other = open_shell(platform, alice, cluster.id)
        started = time.monotonic()
        other.type("echo other\r")
        other.read_until(rb"\r\nother\r\n")
        assert time.monotonic() - started < 5
        bridge = platform.runtimes["terminal"].service.live[uuid.UUID(flood.session_id)]
        window = platform.runtimes["terminal"].settings.output_window_bytes
        assert bridge.counters.in_flight <= window
        other.ws.close()
        received_before = flood.received
        flood.read_until(rb"FLOOD-42", timeout=240)
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert flood.received >= FLOOD_BYTES > received_before
    assert bridge.counters.peak_in_flight <= window
    # Gateway and terminal together (and this client) never held more than a few windows.
    print(
        f"flood: {flood.received / 2**20:.0f} MiB received, traced peak {peak / 2**20:.2f} MiB, "
        f"terminal peak in flight {bridge.counters.peak_in_flight / 2**10:.0f} KiB"
    )
    assert peak < 8 * 1024 * 1024, f"peak traced memory {peak / 2**20:.1f} MiB"
    flood.ws.close()


# --- the gateway or the terminal service gone -------------------------------------------------


def live(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def component_process(module: str, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", module], env={**os.environ, **env}, stdout=log, stderr=log
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def gateway_process(platform, tmp_path) -> Iterator[tuple[str, subprocess.Popen]]:
    """A gateway as it runs in production (`python -m pyk8s_gateway`), for a test to kill."""
    port = free_port()
    env = {
        "GATEWAY_ENVIRONMENT": "test",
        **{f"GATEWAY_{k.upper()}": v for k, v in platform.nats_options("gateway").items()},
        "GATEWAY_PORT": str(port),
    }
    log_path = tmp_path / "gateway.log"
    process = component_process("pyk8s_gateway", env, log_path)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or live(url), timeout=30)
        assert process.poll() is None, log_path.read_text()
        yield url, process
    finally:
        stop(process)


def session_end(platform, session_id: str) -> tuple | None:
    rows = terminal_rows(
        platform,
        f"SELECT ended_at, end_reason FROM sessions WHERE id = '{session_id}' "
        "AND ended_at IS NOT NULL",
    )
    return rows[0] if rows else None


def start_background_job(shell: Shell) -> None:
    shell.type("sleep 600 & echo started\r")
    shell.read_until(rb"\r\nstarted\r\n")


def test_a_killed_gateway_ends_its_sessions(
    platform, world, person, node_container, gateway_process
):
    url, gateway = gateway_process
    alice = person()
    ticket = ticket_for(alice, world.cluster(alice.id).id)
    with connect(url.replace("http", "ws", 1) + ticket["ws_url"], open_timeout=10) as ws:
        ws.send(json.dumps({"type": "hello", "ticket": ticket["ticket"]}))
        shell = Shell(ws)
        session_id = shell._next(20)["session_id"]
        start_background_job(shell)
        assert len(marked_processes(node_container, session_id)) >= 2  # the shell and its job

        gateway.send_signal(signal.SIGKILL)
        gateway.wait(10)
        killed = time.monotonic()

    def over() -> tuple | None:
        end = session_end(platform, session_id)
        return end if end and not marked_processes(node_container, session_id) else None

    _, reason = wait_until(over, timeout=15, interval=0.2)
    print(f"session ended {time.monotonic() - killed:.1f} s after the gateway was killed")
    assert reason.startswith("gateway gone")
    events = platform.run(terminal_events(platform))
    assert [e.type for e in events] == [
        event_type("terminal", "opened"),
        event_type("terminal", "closed"),
    ]
    assert events[1].data["end_reason"] == reason
    assert terminal_rows(platform, "SELECT id FROM sessions WHERE ended_at IS NULL") == []


def vanish(platform, session_id: str) -> None:
    """The replica serving the session dies without a word: nothing answers or records."""
    service = platform.runtimes["terminal"].service

    async def die() -> None:
        bridge = service.live.pop(uuid.UUID(session_id))
        await bridge._sub.unsubscribe()
        bridge._task.cancel()
        bridge.stream.close()

    platform.run(die())


def test_a_restarted_terminal_service_ends_the_sessions_nobody_serves(
    platform, world, person, node_container, tmp_path
):
    alice = person()
    cluster = world.cluster(alice.id)
    served, orphan = (open_shell(platform, alice, cluster.id) for _ in range(2))
    start_background_job(orphan)
    vanish(platform, orphan.session_id)
    # Both from before the restart, so neither may still be opening on a peer.
    terminal_rows(
        platform,
        "UPDATE sessions SET started_at = started_at - interval '1 minute' RETURNING id",
    )
    assert marked_processes(node_container, orphan.session_id)

    env = {
        "TERMINAL_ENVIRONMENT": "test",
        "TERMINAL_DATABASE_URL": platform.database_urls["terminal"],
        **{f"TERMINAL_{k.upper()}": v for k, v in platform.nats_options("terminal").items()},
    }
    restarted = component_process("pyk8s_terminal", env, tmp_path / "terminal.log")
    try:
        _, reason = wait_until(lambda: session_end(platform, orphan.session_id), timeout=30)
        assert reason == "lost: no terminal service serves it any more"
        wait_until(lambda: not marked_processes(node_container, orphan.session_id), timeout=10)
        assert session_end(platform, served.session_id) is None
        served.type("echo still here\r")
        served.read_until(rb"\r\nstill here\r\n")
    finally:
        stop(restarted)
    events = platform.run(terminal_events(platform, expected=3))
    closed = [e for e in events if e.type == event_type("terminal", "closed")]
    assert [(e.subject, e.data["end_reason"]) for e in closed] == [(orphan.session_id, reason)]
    served.ws.close()
