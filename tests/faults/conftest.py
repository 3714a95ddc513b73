"""The fault suite (issue 11): each fault, and where a test asserts its outcomes (no stuck
status, events once by CloudEvent id, nothing orphaned, 503 during, recovery after).

- auth, teams SIGKILLed mid-burst: tests/faults/test_service_kills.py
- terminal service SIGKILLed under a live shell: tests/faults/test_terminal_kill.py
- gateway SIGKILLed under a live event stream: tests/faults/test_gateway_kill.py
- gateway SIGKILLed under a live terminal: gateway/tests/test_terminal.py
  (test_a_killed_gateway_ends_its_sessions)
- provisioner SIGKILLed mid-create, mid-delete, between nodes (kind and k3d doubles), and
  mid-create, when ready and mid-delete (kwok for real):
  tests/provisioner/test_crash_safety.py; replicas: tests/provisioner/test_replicas.py
- NATS restarted: mid-create (kind double, kwok) tests/faults/test_nats_restart.py; API 503
  and recovery tests/test_outages.py
- one node of a three-node NATS cluster SIGKILLed: tests/faults/test_nats_node_loss.py
- a Docker host's provisioner replicas and one NATS node SIGKILLed, on a pool of two hosts:
  tests/provisioner/test_pool_acceptance.py
- PostgreSQL stopped: tests/test_outages.py
- invited sign-up during a teams outage: gateway/tests/test_invitations.py
- a supervised child dying under `make up`: tests/test_make_up.py

What these tests share: components run as real processes (`python -m pyk8s_<name>`) that a
test kills with SIGKILL and starts again, and the events stream read as an outside
subscriber sees it."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from pyk8s_kit.embedded import EmbeddedNats
from pyk8s_kit.testing import wait_until


class Component:
    """One component as it runs in production, started from environment settings."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.env = env
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, **extra_env: str) -> "Component":
        self.starts += 1
        log_path = self.log_dir / f"{self.name}-{self.starts}.log"
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"pyk8s_{self.name}"],
                env={**os.environ, **self.env, **extra_env},
                stdout=log,
                stderr=log,
            )
        return self

    def kill(self) -> float:
        """SIGKILL, as a crash or the OOM killer would; returns when it happened."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        return time.monotonic()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        return "\n".join(
            path.read_text(errors="replace")[-3000:]
            for path in sorted(self.log_dir.glob(f"{self.name}-*.log"))
        )


def component_env(name: str, nats: EmbeddedNats, **settings: str) -> dict[str, str]:
    """The environment that runs component `name` on `nats` as its own identity."""
    prefix = name.upper()
    return {
        f"{prefix}_ENVIRONMENT": "test",
        f"{prefix}_NATS_URL": nats.url,
        f"{prefix}_NATS_CREDENTIALS": str(nats.seeds[name]),
        f"{prefix}_LOG_LEVEL": "INFO",
        **{f"{prefix}_{key.upper()}": value for key, value in settings.items()},
    }


@pytest.fixture
def components(tmp_path: Path) -> Iterator[Callable[..., Component]]:
    """`components(name, env)` makes a component process (not started); all are stopped
    after the test, and their logs printed with PYK8S_SHOW_LOGS=1."""
    made: list[Component] = []

    def make(name: str, env: dict[str, str]) -> Component:
        made.append(Component(name, env, tmp_path))
        return made[-1]

    yield make
    for component in reversed(made):
        component.stop()
        if os.environ.get("PYK8S_SHOW_LOGS"):
            print(component.logs())


def answers(url: str, path: str = "/health/ready") -> bool:
    try:
        return httpx.get(f"{url}{path}", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_ready(component: Component, url: str, timeout: float = 30) -> float:
    """Waits until the component's probe at `url` says ready; returns when it did."""
    wait_until(lambda: not component.running() or answers(url), timeout=timeout, interval=0.05)
    assert component.running(), component.logs()
    return time.monotonic()


def assert_once_by_id(events: list[dict]) -> None:
    ids = [event["id"] for event in events]
    duplicated = sorted({event_id for event_id in ids if ids.count(event_id) > 1})
    assert not duplicated, f"events published more than once: {duplicated}"
