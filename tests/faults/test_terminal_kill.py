"""The terminal service (its own process) killed with SIGKILL under a live shell: the
gateway closes the socket with 1011, new terminals are a 503 while it is gone, and the
restarted service ends the session (row, event, processes in the node) so that it no longer
counts against the limits. Uses the node container and service doubles of
gateway/tests/test_terminal.py."""

import asyncio
import time

import pytest

from gateway.tests import test_terminal as terminal_tests
from gateway.tests.test_terminal import (
    marked_processes,
    open_shell,
    start_background_job,
    terminal_events,
)
from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import wait_until
from pyk8s_terminal.main import MIGRATIONS as TERMINAL_MIGRATIONS

from .conftest import assert_once_by_id, component_env, wait_ready

# The fixtures of the terminal tests, used here as they are.
node_container = terminal_tests.node_container
world = terminal_tests.world

# Short heartbeats so a dead replica's sessions go stale within seconds, and one session per
# user so a session that is never ended visibly blocks the next.
TERMINAL_SETTINGS = {"recheck_interval_seconds": "1", "max_sessions_per_user": "1"}


@pytest.fixture(autouse=True)
def _platform_without_terminal(request, monkeypatch):
    """The platform runs auth and the gateway; the world's doubles answer for teams and the
    provisioner, and the terminal service is the process under test."""
    root = request.config.pluginmanager.get_plugin(str(request.config.rootpath / "conftest.py"))
    monkeypatch.setattr(root, "SERVICES", [s for s in root.SERVICES if s.name == "auth"])


def session_end(pg, database: str, session_id: str) -> str:
    """The end reason of the session, empty while it has none."""
    return pg.psql(
        f"SELECT end_reason FROM sessions WHERE id = '{session_id}' AND ended_at IS NOT NULL",
        database=database,
    )


def test_killed_terminal_service_ends_its_sessions_and_frees_the_limits(
    platform,
    world,
    person,
    components,
    make_database,
    embedded_pg,
):
    database_url = make_database("terminal", TERMINAL_MIGRATIONS)
    database = database_url.rsplit("/", 1)[1]
    port = free_port()
    env = component_env(
        "terminal",
        platform.nats,
        database_url=database_url,
        health_port=str(port),
        **TERMINAL_SETTINGS,
    )
    terminal = components("terminal", env)
    wait_ready(terminal.start(), f"http://127.0.0.1:{port}")
    alice = person()
    cluster = world.cluster(alice.id)
    shell = open_shell(platform, alice, cluster.id)
    start_background_job(shell)
    assert len(marked_processes(world.container, shell.session_id)) >= 2

    killed = terminal.kill()
    closed = shell.wait_closed(timeout=15)
    socket_closed = time.monotonic() - killed
    assert (closed.code, closed.reason) == (1011, "terminal session lost")
    refused = alice.post(f"/clusters/{cluster.id}/terminal")
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"]

    spawned = time.monotonic()
    wait_ready(terminal.start(), f"http://127.0.0.1:{port}")
    reason = wait_until(
        lambda: session_end(embedded_pg, database, shell.session_id), timeout=30, interval=0.1
    )
    wait_until(lambda: not marked_processes(world.container, shell.session_id), timeout=10)
    ended = time.monotonic() - spawned
    assert reason.startswith("lost:"), reason
    print(
        f"terminal SIGKILLed: socket closed 1011 after {socket_closed:.2f}s; the restarted "
        f"service ended the session and its processes {ended:.2f}s after its start"
    )

    events = asyncio.run(terminal_events(platform, expected=2))
    assert [e.type.rsplit(".", 1)[-1] for e in events] == ["opened", "closed"]
    assert_once_by_id([e.model_dump() for e in events])
    # The limit of one session counts the live ones only: a new shell opens.
    again = open_shell(platform, alice, cluster.id)
    again.type("echo back\r")
    again.read_until(rb"\r\nback\r\n")
    again.ws.close()
