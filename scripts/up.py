"""`make up`: the whole platform on embedded defaults. Starts a real PostgreSQL (one database
per service) and NATS with JetStream from their wheels, every service and the gateway, waits
until /health/ready answers, and stops everything cleanly on Ctrl-C or SIGTERM. Data lives
under PYK8S_DATA_DIR (default .data/) and survives restarts.

NATS is one server unless PYK8S_NATS_NODES says more: with 3, a local cluster of three
(client ports PYK8S_NATS_PORT and the next two, route ports from PYK8S_NATS_ROUTE_PORT,
data under <data>/nats-cluster/), every stream on three replicas, each node its own program,
so that `supervisorctl stop nats-1` shows a node loss.

The gateway runs twice: plain HTTP on PYK8S_GATEWAY_PORT (8080) for the browser, and HTTPS on
PYK8S_GATEWAY_TLS_PORT (8443) for kubectl, which sends credentials to https:// servers only.
Its certificate comes from a CA made here on the first run (<data>/tls/ca.pem); the kubeconfigs
the platform hands out point at the HTTPS address and carry that CA.

Supervision is supervisord's (the `supervisor` package), driven by a configuration written
here into <data>/supervisor/: a process that dies is logged and started again while the others
keep running, with supervisord's backoff (1 s more before each retry while it keeps dying
within 3 s of its start; after 20 such tries it stays down, FATAL, and says so). We chose it
over circus and over our own loop: it is maintained, pure Python, stops its programs in
reverse priority order (gateway, services, then NATS and PostgreSQL), runs PostgreSQL as its
own user when we are root, and `supervisorctl` works against it as documented.

This runner prepares the data (PostgreSQL cluster, NATS configuration and identities,
secrets), starts supervisord, waits for PostgreSQL to accept connections, creates the
databases, and only then starts the services. Nothing outlives it: supervisord gets SIGTERM
if this runner dies, and every program gets a signal if supervisord dies (PDEATHSIG, set by
`setpriv` because PostgreSQL runs as a user who cannot read our Python)."""

import datetime
import http.client
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import xmlrpc.client
from configparser import RawConfigParser
from pathlib import Path

import httpx
from supervisor.xmlrpc import SupervisorTransport

from pyk8s_kit import pki
from pyk8s_kit.embedded import EmbeddedNats, EmbeddedNatsCluster, EmbeddedPostgres, die_with_parent
from pyk8s_kit.natsauth import ensure_credentials

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ["auth", "teams", "provisioner", "terminal"]
GATEWAY = "gateway"
GATEWAY_TLS = "gateway-tls"
START_RETRIES = 20
TLS_LIFETIME = datetime.timedelta(days=825)


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def secrets_env(data_dir: Path) -> dict[str, str]:
    """Secrets generated on first run and kept with the data, so restarts can read old data."""
    path = data_dir / "secrets.env"
    if not path.exists():
        from cryptography.fernet import Fernet

        path.write_text(f"PROVISIONER_KUBECONFIG_KEY={Fernet.generate_key().decode()}\n")
        path.chmod(0o600)
    return dict(line.split("=", 1) for line in path.read_text().split() if "=" in line)


def kwok_env() -> dict[str, str]:
    """The Kubernetes versions scripts/install-k8s-tools.sh built, one folder each, offered by
    the kwok provider; unless the environment names other ones."""
    versions = ROOT / ".tools" / "kubernetes"
    if "PROVISIONER_KWOK_VERSIONS_DIR" in os.environ or not versions.is_dir():
        return {}
    return {"PROVISIONER_KWOK_VERSIONS_DIR": str(versions)}


Nats = EmbeddedNats | EmbeddedNatsCluster


def dev_tls(folder: Path) -> dict[str, Path]:
    """This installation's CA and the gateway's certificate for 127.0.0.1 and localhost, made
    once; the keys readable by us only."""
    files = {name: folder / f"{name}.pem" for name in ("ca", "ca-key", "gateway", "gateway-key")}
    if all(path.exists() for path in files.values()):
        return files
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    ca = pki.authority("PyK8s-Lab development CA", TLS_LIFETIME)
    ca.write(files["ca"], files["ca-key"])
    pki.issue(ca, "127.0.0.1", TLS_LIFETIME, pki.LOOPBACK).write(
        files["gateway"], files["gateway-key"]
    )
    return files


def gateway_programs(nats: Nats, ports: dict[str, int], tls: dict[str, Path]) -> dict:
    """The browser's gateway on HTTP and kubectl's on HTTPS, both handing out kubeconfigs
    for the HTTPS one."""
    origins = [
        f"{scheme}://{host}:{ports[port]}"
        for scheme, port in (("https", "gateway_tls"), ("http", "gateway"))
        for host in ("127.0.0.1", "localhost")
    ]
    common = {
        **nats_env(GATEWAY, nats),
        "GATEWAY_PUBLIC_ORIGINS": json.dumps(origins),
        "GATEWAY_PUBLIC_CA_FILE": str(tls["ca"]),
    }
    https = {
        "GATEWAY_PORT": str(ports["gateway_tls"]),
        "GATEWAY_TLS_CERT_FILE": str(tls["gateway"]),
        "GATEWAY_TLS_KEY_FILE": str(tls["gateway-key"]),
    }
    command = service_command(GATEWAY)
    return {
        GATEWAY: program(
            command, 300, env={**common, "GATEWAY_PORT": str(ports["gateway"])}, autostart=False
        ),
        GATEWAY_TLS: program(command, 300, env={**common, **https}, autostart=False),
    }


def nats_servers(data_dir: Path, seeds: dict[str, Path]) -> Nats:
    """One server, or a local cluster of PYK8S_NATS_NODES."""
    nodes = env_int("PYK8S_NATS_NODES", 1)
    port = env_int("PYK8S_NATS_PORT", 4222)
    if nodes == 1:
        return EmbeddedNats(data_dir / "nats", seeds, port)
    route_port = env_int("PYK8S_NATS_ROUTE_PORT", 6222)
    return EmbeddedNatsCluster(
        data_dir / "nats-cluster",
        seeds,
        size=nodes,
        ports=[port + index for index in range(nodes)],
        route_ports=[route_port + index for index in range(nodes)],
    )


def nats_nodes(nats: Nats) -> dict[str, EmbeddedNats]:
    """Each server by its program name."""
    if isinstance(nats, EmbeddedNatsCluster):
        return {f"nats-{index}": node for index, node in enumerate(nats.nodes)}
    return {"nats": nats}


def nats_env(name: str, nats: Nats) -> dict:
    prefix = name.upper()
    # Three replicas on a cluster (two would stop accepting writes with one node lost).
    replicas = min(len(nats_nodes(nats)), 3)
    return {
        f"{prefix}_NATS_URL": nats.url,
        f"{prefix}_NATS_CREDENTIALS": str(nats.seeds[name]),
        f"{prefix}_NATS_STREAM_REPLICAS": str(replicas),
    }


def service_env(name: str, pg: EmbeddedPostgres, nats: Nats, health_port: int) -> dict:
    prefix = name.upper()
    return {
        f"{prefix}_DATABASE_URL": pg.url(f"pyk8s_{name}"),
        f"{prefix}_HEALTH_PORT": str(health_port),
        **nats_env(name, nats),
    }


def escaped(value: str) -> str:
    """A value as supervisord reads it: it expands `%(name)s`, so a literal % is doubled."""
    return value.replace("%", "%%")


def quoted(value: str) -> str:
    """An environment value as supervisord reads it: quoted (commas split the list), in single
    quotes when it holds double ones (JSON), since supervisord's lexer has no escapes."""
    if "'" in value and '"' in value:
        raise ValueError(f"supervisord cannot pass a value with both kinds of quote: {value!r}")
    quote = "'" if '"' in value else '"'
    return f"{quote}{escaped(value)}{quote}"


def program(
    command: list[str],
    priority: int,
    log: str = "/dev/stdout",
    env: dict | None = None,
    stopsignal: str = "TERM",
    autostart: bool = True,
    user: str | None = None,
) -> dict[str, str]:
    """One [program:x] section. The command runs under `setpriv --pdeathsig`, so the program
    gets `stopsignal` if supervisord itself is killed."""
    wrapped = ["setpriv", f"--pdeathsig={stopsignal}", "--", *command]
    section = {
        "command": escaped(shlex.join(wrapped)),
        "priority": str(priority),
        "autostart": str(autostart).lower(),
        "autorestart": "true",
        "startsecs": "3",
        "startretries": str(START_RETRIES),
        "stopsignal": stopsignal,
        "stopwaitsecs": "20",
        "killasgroup": "true",
        "redirect_stderr": "true",
        "stdout_logfile": log,
        "stdout_logfile_maxbytes": "0" if log == "/dev/stdout" else "10MB",
    }
    if env:
        section["environment"] = ",".join(f"{key}={quoted(value)}" for key, value in env.items())
    if user:
        section["user"] = user
    return section


def programs(pg: EmbeddedPostgres, nats: Nats, ports: dict[str, int], tls: dict[str, Path]) -> dict:
    """Every program by name. PostgreSQL and NATS start with supervisord; the services and the
    gateway wait until the runner has made their databases."""
    made = {
        "postgres": program(
            pg.command(), 100, str(pg.log_file), stopsignal="INT", user=pg.system_user
        ),
    }
    for name, node in nats_nodes(nats).items():
        made[name] = program(node.command(), 100, str(node.log_file))
    for index, name in enumerate(SERVICES):
        env = service_env(name, pg, nats, ports["health"] + index)
        made[name] = program(service_command(name), 200, env=env, autostart=False)
    return {**made, **gateway_programs(nats, ports, tls)}


def service_command(name: str) -> list[str]:
    return [sys.executable, "-m", f"pyk8s_{name}"]


def write_config(folder: Path, sections: dict[str, dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = RawConfigParser()
    config["supervisord"] = {
        "nodaemon": "true",
        "logfile": str(folder / "supervisord.log"),
        "pidfile": str(folder / "supervisord.pid"),
        "childlogdir": str(folder),
    }
    config["unix_http_server"] = {"file": str(socket_path(folder)), "chmod": "0700"}
    config["rpcinterface:supervisor"] = {
        "supervisor.rpcinterface_factory": "supervisor.rpcinterface:make_main_rpcinterface"
    }
    config["supervisorctl"] = {"serverurl": f"unix://{socket_path(folder)}"}
    for name, section in sections.items():
        config[f"program:{name}"] = section
    path = folder / "supervisord.conf"
    with path.open("w") as out:
        config.write(out)
    return path


def socket_path(folder: Path) -> Path:
    return folder / "supervisor.sock"


def rpc(folder: Path) -> xmlrpc.client.ServerProxy:
    """supervisord's XML-RPC interface, as supervisorctl uses it."""
    transport = SupervisorTransport(None, None, f"unix://{socket_path(folder)}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def spawn_supervisord(config: Path, env: dict) -> subprocess.Popen:
    # Own session: Ctrl-C reaches only this runner, which then stops everything in order.
    return subprocess.Popen(
        [sys.executable, "-m", "supervisor.supervisord", "-c", str(config)],
        env=env,
        start_new_session=True,
        preexec_fn=die_with_parent,
    )


def wait_supervisor(folder: Path, supervisord: subprocess.Popen) -> xmlrpc.client.ServerProxy:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        alive(supervisord)
        # A fresh client each try: the transport keeps a connection that failed.
        control = rpc(folder)
        try:
            if control.supervisor.getState()["statename"] == "RUNNING":
                return control
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise SystemExit("supervisord did not answer within 30s")


def wait_ready(url: str, supervisord: subprocess.Popen, deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        alive(supervisord)
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not turn ready within {deadline_s}s")


def alive(supervisord: subprocess.Popen) -> None:
    if supervisord.poll() is not None:
        raise SystemExit(f"supervisord exited with {supervisord.returncode}")


def start_platform(
    folder: Path, pg: EmbeddedPostgres, supervisord: subprocess.Popen, url: str
) -> None:
    control = wait_supervisor(folder, supervisord)
    pg.wait_accepting()
    for name in SERVICES:
        pg.ensure_database(f"pyk8s_{name}")
    for name in [*SERVICES, GATEWAY, GATEWAY_TLS]:
        control.supervisor.startProcess(name, False)
    wait_ready(f"{url}/health/ready", supervisord)


class StopRequested(Exception):
    """Ctrl-C or SIGTERM: raised wherever the runner is, start-up included."""


def request_stop(*_: object) -> None:
    raise StopRequested


def stop(supervisord: subprocess.Popen) -> None:
    """supervisord stops every program, in reverse priority order, then exits."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if supervisord.poll() is None:
        supervisord.send_signal(signal.SIGTERM)
    supervisord.wait()
    print("PyK8s-Lab stopped.", flush=True)


def main() -> int:
    data_dir = Path(os.environ.get("PYK8S_DATA_DIR", ROOT / ".data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = {
        "gateway": env_int("PYK8S_GATEWAY_PORT", 8080),
        "gateway_tls": env_int("PYK8S_GATEWAY_TLS_PORT", 8443),
        "health": env_int("PYK8S_HEALTH_BASE_PORT", 8091),
    }
    pg = EmbeddedPostgres(data_dir / "postgres", env_int("PYK8S_PG_PORT", 5433))
    pg.prepare()
    # One nkey per component (and `events` for outside programs), made on the first run.
    seeds = ensure_credentials(data_dir / "nats" / "credentials")
    nats = nats_servers(data_dir, seeds)
    nats.prepare()
    folder = data_dir / "supervisor"
    tls = dev_tls(data_dir / "tls")
    config = write_config(folder, programs(pg, nats, ports, tls))
    env = {
        **os.environ,
        **secrets_env(data_dir),
        "PYTHONUNBUFFERED": "1",
        # kind and k3d built by scripts/install-cluster-tools.sh, kwokctl, etcd and kwok by
        # scripts/install-k8s-tools.sh, if they were.
        "PATH": f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PROVISIONER_WORK_DIR": str(data_dir / "provisioner"),
        **kwok_env(),
    }
    supervisord = spawn_supervisord(config, env)
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    url = f"http://127.0.0.1:{ports['gateway']}"
    try:
        start_platform(folder, pg, supervisord, url)
        print(f"\nPyK8s-Lab is up: {url}  (API docs {url}/api/v1/docs; data in {data_dir})")
        print(
            f"kubectl reaches clusters at https://127.0.0.1:{ports['gateway_tls']} "
            f"(its CA: {tls['ca']}, in every kubeconfig handed out)"
        )
        print(f"Processes: uv run supervisorctl -c {config} status")
        print("Press Ctrl-C to stop.\n", flush=True)
        supervisord.wait()
        print(f"supervisord exited with {supervisord.returncode}", flush=True)
        return 1
    except StopRequested:
        return 0
    finally:
        stop(supervisord)


if __name__ == "__main__":
    sys.exit(main())
