"""Fixtures for tests that run the provisioner as its own process."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import KWOK_SETTINGS
from pyk8s_provisioner.main import MIGRATIONS

ROOT = Path(__file__).resolve().parents[2]
DOUBLES = ROOT / "services" / "provisioner" / "tests" / "doubles"
LABELS = {"kind": "io.x-k8s.kind.cluster", "k3d": "k3d.cluster"}
NODE_IMAGE = os.environ.get("PYK8S_NODE_IMAGE", "pyk8s-lab/node:local")


def docker_nodes(provider: str, runtime: str, *states: str) -> list[str]:
    """Names of the runtime cluster's node containers, only those in `states` if given."""
    argv = ["docker", "ps", "-a", "--filter", f"label={LABELS[provider]}={runtime}"]
    for state in states:
        argv += ["--filter", f"status={state}"]
    out = subprocess.run(
        [*argv, "--format", "{{.Names}}"], capture_output=True, text=True, check=True
    )
    return sorted(out.stdout.split())


def remove_nodes(provider: str, runtime: str) -> None:
    names = docker_nodes(provider, runtime)
    if names:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)


def children(pid: int) -> list[str]:
    """Command lines of the processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found.append((entry / "cmdline").read_text().replace("\0", " "))
        except (OSError, ValueError, IndexError):
            continue
    return found


def processes_mentioning(text: str) -> list[str]:
    """Command lines of the running processes that name `text` in their arguments."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_text().replace("\0", " ")
        except OSError:
            continue
        if text in cmdline:
            found.append(cmdline)
    return found


class ServiceProcess:
    """`python -m <module>` with `env`, its output in `log_dir`; started, killed (SIGKILL) and
    stopped (SIGTERM) by the test."""

    def __init__(self, env: dict[str, str], log_dir: Path, module: str) -> None:
        self.env = env
        self.log_dir = log_dir
        self.module = module
        self.name = module.removeprefix("pyk8s_")
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self, **extra_env: str) -> None:
        self.starts += 1
        # The process writes here until it ends; the file closes with it.
        log = open(self.log_dir / f"{self.name}-{self.starts}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env={**self.env, **extra_env},
            stdout=log,
            stderr=log,
        )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def full_logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace") for p in sorted(self.log_dir.glob(f"{self.name}-*.log"))
        )

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:]
            for p in sorted(self.log_dir.glob(f"{self.name}-*.log"))
        )


class ProvisionerProcess(ServiceProcess):
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        super().__init__(env, log_dir, "pyk8s_provisioner")


def provisioner_env(database_url: str, nats_server, work_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PROVISIONER_ENVIRONMENT": "test",
        "PROVISIONER_DATABASE_URL": database_url,
        "PROVISIONER_NATS_URL": nats_server.url,
        "PROVISIONER_NATS_CREDENTIALS": str(nats_server.seeds["provisioner"]),
        "PROVISIONER_KIND_BIN": str(DOUBLES / "kind_double"),
        "PROVISIONER_K3D_BIN": str(DOUBLES / "k3d_double"),
        **{f"PROVISIONER_{key.upper()}": str(value) for key, value in KWOK_SETTINGS.items()},
        "PROVISIONER_WORK_DIR": str(work_dir),
        "PROVISIONER_WORK_ACK_WAIT_SECONDS": "3",
        "PROVISIONER_WORK_RETRY_DELAY_SECONDS": "0.5",
        "PROVISIONER_LOG_LEVEL": "INFO",
    }


@pytest.fixture
def provisioner(make_database, nats_server, tmp_path):
    env = provisioner_env(make_database("provisioner", MIGRATIONS), nats_server, tmp_path / "work")
    process = ProvisionerProcess(env, tmp_path)
    yield process
    process.stop()
    if os.environ.get("PYK8S_SHOW_LOGS"):
        print(process.logs())


class SecondDocker:
    """A dockerd of the test's own: its socket, data root, exec root and pid file in a
    folder of its own, in a network namespace of its own (`unshare --net`: its bridge and
    addresses never meet the machine's engine's; a dockerd sharing the namespace with
    `--bridge none` deletes the other's docker0), with the node image copied in from the
    machine's engine (no registry is reachable)."""

    def __init__(self) -> None:
        # Short: a unix socket path may not exceed 107 bytes.
        self.root = Path(tempfile.mkdtemp(prefix="pyk8s-dockerd-"))
        self.host = f"unix://{self.root}/docker.sock"
        self.process: subprocess.Popen | None = None

    def docker(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", "-H", self.host, *args], capture_output=True, text=True, **kw
        )

    def start(self) -> "SecondDocker":
        self.process = subprocess.Popen(
            [
                "unshare",
                "--net",
                "--",
                "dockerd",
                "--host",
                self.host,
                "--data-root",
                str(self.root / "data"),
                "--exec-root",
                str(self.root / "exec"),
                "--pidfile",
                str(self.root / "docker.pid"),
                "--iptables=false",
                "--ip6tables=false",
                "--storage-driver",
                "vfs",
            ],
            stdout=open(self.root / "dockerd.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while self.docker("info").returncode != 0:
            assert self.process.poll() is None, (self.root / "dockerd.log").read_text()
            assert time.monotonic() < deadline, "the second dockerd did not answer in 30 s"
            time.sleep(0.2)
        saved = subprocess.Popen(["docker", "save", NODE_IMAGE], stdout=subprocess.PIPE)
        loaded = subprocess.run(
            ["docker", "-H", self.host, "load", "-q"], stdin=saved.stdout, capture_output=True
        )
        saved.wait()
        assert loaded.returncode == 0, loaded.stderr
        return self

    def nodes(self, provider: str, runtime: str) -> list[str]:
        out = self.docker(
            "ps", "--filter", f"label={LABELS[provider]}={runtime}", "--format", "{{.Names}}"
        ).stdout
        return out.split()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            names = self.docker("ps", "-aq").stdout.split()
            if names:
                self.docker("rm", "-f", *names)
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


def local_nodes(provider: str, runtime: str) -> list[str]:
    out = subprocess.run(
        [
            "docker",
            "ps",
            "--filter",
            f"label={LABELS[provider]}={runtime}",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
    ).stdout
    return out.split()


@pytest.fixture
def second_docker():
    if not (shutil.which("dockerd") and shutil.which("unshare")) or os.geteuid() != 0:
        pytest.skip("a second Docker engine needs dockerd, unshare and root")
    engine = SecondDocker().start()
    yield engine
    engine.stop()


class NoTeamsDouble:
    """Stands in for the teams service where the test's people belong to no team: answers
    `teams.roles` (asked by every cluster list) with no roles, as the teams identity."""

    def __init__(self) -> None:
        self._nc = None

    async def start(self, nats) -> "NoTeamsDouble":
        from pyk8s_contracts import subjects
        from pyk8s_contracts.teams import RolesReply

        async def answer(msg) -> None:
            await msg.respond(RolesReply(roles={}).model_dump_json().encode())

        self._nc = await nats.connect("teams", name="no-teams-double")
        await self._nc.subscribe(subjects.TEAMS_ROLES, cb=answer)
        await self._nc.flush()
        return self

    async def stop(self) -> None:
        if self._nc is not None:
            await self._nc.close()
