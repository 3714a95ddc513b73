"""`make up` (scripts/up.py): the platform comes up on embedded PostgreSQL and NATS, serves
sign-up and login, keeps its data across a restart, and Ctrl-C leaves no process behind."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import wait_until

ROOT = Path(__file__).resolve().parents[1]


def start(data_dir: Path, ports: dict[str, int]) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYK8S_DATA_DIR": str(data_dir),
        "PYK8S_GATEWAY_PORT": str(ports["gateway"]),
        "PYK8S_NATS_PORT": str(ports["nats"]),
        "PYK8S_PG_PORT": str(ports["pg"]),
        "PYK8S_HEALTH_BASE_PORT": str(ports["health"]),
    }
    return subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "up.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def interrupt_and_check_nothing_left(runner: subprocess.Popen) -> None:
    family = psutil.Process(runner.pid).children(recursive=True)
    assert len(family) >= 7, [p.name() for p in family]  # pg, nats, 4 services, gateway
    runner.send_signal(signal.SIGINT)
    output, _ = runner.communicate(timeout=90)
    assert runner.returncode == 0, output
    assert "PyK8s-Lab stopped." in output
    _, alive = psutil.wait_procs(family, timeout=15)
    assert not alive, [p.info if hasattr(p, "info") else p.pid for p in alive]


@pytest.mark.timeout(400)
def test_make_up_serves_persists_and_stops_cleanly(tmp_path: Path):
    ports = {"gateway": free_port(), "nats": free_port(), "pg": free_port(), "health": 0}
    ports["health"] = free_port()
    # Service probe ports are consecutive from the base; make sure they are free too.
    url = f"http://127.0.0.1:{ports['gateway']}"
    runner = start(tmp_path / "data", ports)
    try:
        wait_until(lambda: ready(url) or runner.poll() is not None, timeout=180, interval=0.3)
        assert runner.poll() is None, runner.stdout.read()
        body = {
            "username": "newcomer",
            "email": "newcomer@example.com",
            "password": "correct horse battery",
        }
        assert httpx.post(f"{url}/api/v1/auth/signup", json=body).status_code == 201
        for index in range(4):
            probe = httpx.get(f"http://127.0.0.1:{ports['health'] + index}/health/ready")
            assert probe.status_code == 200, probe.text
        interrupt_and_check_nothing_left(runner)

        runner = start(tmp_path / "data", ports)
        wait_until(lambda: ready(url) or runner.poll() is not None, timeout=180, interval=0.3)
        login = httpx.post(
            f"{url}/api/v1/auth/login",
            json={"login": "newcomer", "password": "correct horse battery"},
        )
        assert login.status_code == 200, login.text
        interrupt_and_check_nothing_left(runner)
    finally:
        if runner.poll() is None:
            runner.kill()
