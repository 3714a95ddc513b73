"""Live cluster events: `events tail` as a real process, and `cluster create --wait`
following the gateway's stream rather than polling."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from cli.tests.support import Users
from pyk8s_cli import watch
from pyk8s_cli.app import App
from pyk8s_cli.commands.events import line


@pytest.fixture
def users(platform, tmp_path) -> Iterator[Users]:
    made = Users(platform.url, tmp_path)
    yield made
    made.delete_clusters()


def tail_process(user, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "HOME": str(user.home),
        "XDG_CONFIG_HOME": str(user.home / ".config"),
        "PYK8S_SERVER": user.server,
    }
    env.pop("PYK8S_TOKEN", None)
    return subprocess.Popen(
        [sys.executable, "-m", "pyk8s_cli", "events", "tail", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_events_tail_prints_the_teams_lifecycle_events_only(users):
    ada, eve = users.signed_up("ada"), users.signed_up("eve")
    ada.ok("team", "create", "platform")
    tail = tail_process(ada, "--team", "platform", "-o", "json")
    try:
        assert "watching cluster events" in tail.stderr.readline()
        eve.ok("cluster", "create", "secret", "--wait")
        ada.ok("cluster", "create", "demo", "--team", "platform", "--wait")
        seen = []
        while not seen or seen[-1]["type"] != "io.pyk8s.cluster.ready":
            text = tail.stdout.readline()
            assert text, tail.stderr.read()
            seen.append(json.loads(text))
    finally:
        tail.terminate()
        tail.wait(10)
    assert {event["data"]["name"] for event in seen} == {"demo"}
    assert seen[0]["type"] == "io.pyk8s.cluster.created"
    assert len({event["id"] for event in seen}) == len(seen)


def test_tail_needs_a_login_and_a_known_team(users):
    ada = users.signed_up("ada")
    result = ada.run("events", "tail", "--team", "nope")
    assert result.exit_code == 4 and "no team named 'nope'" in result.stderr
    nobody = users.new("nobody")
    assert nobody.run("events", "tail").exit_code == 3


def test_create_wait_follows_the_stream_without_polling(users, monkeypatch):
    ada = users.signed_up("ada")

    def no_polling(*args, **kwargs):
        raise AssertionError("fell back to polling although the stream is there")

    monkeypatch.setattr(watch, "poll", no_polling)
    result = ada.ok("cluster", "create", "demo", "--wait", "--timeout", "120")
    assert "cluster demo is ready" in result.stderr


def test_create_wait_falls_back_to_polling_without_a_stream(users, monkeypatch):
    ada = users.signed_up("ada")
    monkeypatch.setattr(watch, "EVENTS_PATH", "/events/none-here")
    polled = []
    real_poll = watch.poll
    monkeypatch.setattr(watch, "poll", lambda *a, **kw: polled.append(1) or real_poll(*a, **kw))
    result = ada.ok("cluster", "create", "demo", "--wait", "--timeout", "120")
    assert "cluster demo is ready" in result.stderr and polled == [1]


def test_event_line_reads_well():
    change = watch.Change(
        "c1",
        "failed",
        "no image",
        "io.pyk8s.cluster.failed",
        {"time": "2026-01-02T03:04:05+00:00", "data": {"name": "demo", "status": "failed"}},
    )
    text = line(change)
    assert text.endswith("cluster.failed  demo  failed  no image")


def test_app_refuses_a_server_that_is_not_http():
    with pytest.raises(Exception, match="http"):
        App("ftp://example.com", None)
