"""`make up` (scripts/up.py): the platform comes up on embedded PostgreSQL and NATS, serves
sign-up and login, restarts a killed service while the rest keeps running, keeps its data
across a restart, and Ctrl-C leaves no process behind."""

import asyncio
import os
import signal
import ssl
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import wait_until

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ["auth", "teams", "provisioner", "terminal"]
GATEWAYS = ["gateway", "gateway-tls"]
PASSWORD = "correct horse battery"


def start(data_dir: Path, ports: dict[str, int], log: Path, **extra_env: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYK8S_DATA_DIR": str(data_dir),
        "PYK8S_GATEWAY_PORT": str(ports["gateway"]),
        "PYK8S_GATEWAY_TLS_PORT": str(ports["gateway_tls"]),
        "PYK8S_NATS_PORT": str(ports["nats"]),
        "PYK8S_PG_PORT": str(ports["pg"]),
        "PYK8S_HEALTH_BASE_PORT": str(ports["health"]),
        **extra_env,
    }
    # A file, not a pipe nobody reads while the platform runs; appended to, because the
    # programs' output reaches it through /dev/stdout, each with its own file offset.
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "up.py")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def programs(runner: subprocess.Popen) -> dict[str, int]:
    """The runner's long-lived processes by name: supervisord, postgres, nats, each service
    and the gateway (PostgreSQL's own workers come and go, and are left out)."""
    found = {}
    for process in psutil.Process(runner.pid).children(recursive=True):
        try:
            command = process.cmdline()
        except psutil.Error:
            continue
        if not command:  # a zombie
            continue
        if "supervisor.supervisord" in command:
            found["supervisord"] = process.pid
        elif command[0].endswith("/postgres"):
            found["postgres"] = process.pid
        elif command[0].endswith("/nats-server"):
            found["nats"] = process.pid
        elif len(command) > 2 and command[2].startswith("pyk8s_"):
            # By the program name supervisord gives it: the gateway runs twice.
            found[process.environ()["SUPERVISOR_PROCESS_NAME"]] = process.pid
    return found


def ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def kill_teams_and_see_it_back(runner: subprocess.Popen, ports: dict[str, int], log: Path):
    """SIGKILL the teams service: supervisord logs it and starts it again, and nothing else
    was restarted. Returns the seconds from the kill until it serves again."""
    url = f"http://127.0.0.1:{ports['gateway']}"
    before = programs(runner)
    assert set(before) == {"supervisord", "postgres", "nats", *SERVICES, *GATEWAYS}, before
    killed_at = time.monotonic()
    os.kill(before["teams"], signal.SIGKILL)
    teams_probe = f"http://127.0.0.1:{ports['health'] + SERVICES.index('teams')}/health/ready"
    wait_until(
        lambda: (
            programs(runner).get("teams", before["teams"]) != before["teams"]
            and answers(teams_probe)
            and ready(url)
        ),
        timeout=60,
        interval=0.1,
    )
    back_after = time.monotonic() - killed_at
    after = programs(runner)
    assert {k: v for k, v in after.items() if k != "teams"} == {
        k: v for k, v in before.items() if k != "teams"
    }
    assert "exited: teams (terminated by SIGKILL; not expected)" in log.read_text()
    login = httpx.post(
        f"{url}/api/v1/auth/login", json={"login": "newcomer", "password": PASSWORD}
    ).json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    team = httpx.post(f"{url}/api/v1/teams", json={"name": "after-crash"}, headers=headers)
    assert team.status_code == 201, team.text
    return back_after


def interrupt_and_check_nothing_left(runner: subprocess.Popen, log: Path) -> None:
    family = psutil.Process(runner.pid).children(recursive=True)
    # supervisord, pg, nats, 4 services, 2 gateways
    assert len(family) >= 9, [p.name() for p in family]
    runner.send_signal(signal.SIGINT)
    runner.wait(timeout=90)
    output = log.read_text()
    assert runner.returncode == 0, output
    assert "PyK8s-Lab stopped." in output
    _, alive = psutil.wait_procs(family, timeout=15)
    assert not alive, [p.info if hasattr(p, "info") else p.pid for p in alive]


@pytest.mark.timeout(400)
def test_make_up_serves_restarts_persists_and_stops_cleanly(tmp_path: Path):
    ports = {
        "gateway": free_port(),
        "gateway_tls": free_port(),
        "nats": free_port(),
        "pg": free_port(),
        "health": 0,
    }
    ports["health"] = free_port()
    # Service probe ports are consecutive from the base; make sure they are free too.
    url = f"http://127.0.0.1:{ports['gateway']}"
    log = tmp_path / "up.log"
    runner = start(tmp_path / "data", ports, log)
    try:
        wait_until(lambda: ready(url) or runner.poll() is not None, timeout=180, interval=0.3)
        assert runner.poll() is None, log.read_text()
        body = {"username": "newcomer", "email": "newcomer@example.com", "password": PASSWORD}
        assert httpx.post(f"{url}/api/v1/auth/signup", json=body).status_code == 201
        for index in range(4):
            probe = httpx.get(f"http://127.0.0.1:{ports['health'] + index}/health/ready")
            assert probe.status_code == 200, probe.text
        # kubectl's gateway: HTTPS with the installation's own CA, whose key only we read.
        tls = tmp_path / "data" / "tls"
        verify = ssl.create_default_context(cafile=str(tls / "ca.pem"))
        https = f"https://127.0.0.1:{ports['gateway_tls']}/health/ready"
        assert httpx.get(https, verify=verify).status_code == 200
        assert stat.S_IMODE((tls / "gateway-key.pem").stat().st_mode) == 0o600
        back_after = kill_teams_and_see_it_back(runner, ports, log)
        print(f"teams SIGKILLed: serving again after {back_after:.1f}s")
        interrupt_and_check_nothing_left(runner, log)

        runner = start(tmp_path / "data", ports, log)
        wait_until(lambda: ready(url) or runner.poll() is not None, timeout=180, interval=0.3)
        login = httpx.post(
            f"{url}/api/v1/auth/login", json={"login": "newcomer", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        interrupt_and_check_nothing_left(runner, log)
    finally:
        if runner.poll() is None:
            runner.kill()


def nats_servers(runner: subprocess.Popen) -> dict[str, int]:
    """The runner's nats-server processes by the node folder in their command line."""
    found = {}
    for process in psutil.Process(runner.pid).children(recursive=True):
        try:
            command = process.cmdline()
        except psutil.Error:
            continue
        if command and command[0].endswith("/nats-server"):
            found[Path(command[-1]).parent.name] = process.pid
    return found


async def events_stream_info(data_dir: Path, url: str):
    from pyk8s_contracts import subjects
    from pyk8s_kit import natsauth

    seed = data_dir / "nats" / "credentials" / "events.nk"
    nc = await natsauth.connect(url, "events", seed)
    try:
        return await nc.jetstream().stream_info(subjects.EVENTS_STREAM)
    finally:
        await nc.close()


@pytest.mark.timeout(400)
def test_make_up_runs_a_local_nats_cluster_of_three_on_request(tmp_path: Path):
    """PYK8S_NATS_NODES=3: three nats-servers under supervisord, every stream on all three;
    a node killed is restarted by supervisord and the API keeps answering meanwhile."""
    ports = {
        "gateway": free_port(),
        "gateway_tls": free_port(),
        "nats": free_port(),
        "pg": free_port(),
        "health": free_port(),
    }
    url = f"http://127.0.0.1:{ports['gateway']}"
    nats_url = ",".join(f"nats://127.0.0.1:{ports['nats'] + index}" for index in range(3))
    log = tmp_path / "up.log"
    data = tmp_path / "data"
    runner = start(data, ports, log, PYK8S_NATS_NODES="3", PYK8S_NATS_ROUTE_PORT=str(free_port()))
    try:
        wait_until(lambda: ready(url) or runner.poll() is not None, timeout=180, interval=0.3)
        assert runner.poll() is None, log.read_text()
        nodes = nats_servers(runner)
        assert sorted(nodes) == ["pyk8s-0", "pyk8s-1", "pyk8s-2"]
        info = asyncio.run(events_stream_info(data, nats_url))
        assert info.config.num_replicas == 3

        os.kill(nodes["pyk8s-1"], signal.SIGKILL)
        body = {"username": "clustered", "email": "clustered@example.com", "password": PASSWORD}
        signup = httpx.post(f"{url}/api/v1/auth/signup", json=body, timeout=30)
        assert signup.status_code == 201, signup.text
        wait_until(
            lambda: nats_servers(runner).get("pyk8s-1", nodes["pyk8s-1"]) != nodes["pyk8s-1"],
            timeout=30,
            interval=0.1,
        )
        interrupt_and_check_nothing_left(runner, log)
    finally:
        if runner.poll() is None:
            runner.kill()
