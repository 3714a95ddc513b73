"""`make up`: the whole platform on embedded defaults. Starts a real PostgreSQL (one database
per service) and NATS with JetStream from their wheels, every service and the gateway, waits
until /health/ready answers, and stops everything cleanly on Ctrl-C. Data lives under
PYK8S_DATA_DIR (default .data/) and survives restarts."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from pyk8s_kit.embedded import EmbeddedNats, EmbeddedPostgres, die_with_parent
from pyk8s_kit.natsauth import ensure_credentials

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ["auth", "teams", "provisioner", "terminal"]


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


def nats_env(name: str, nats: EmbeddedNats) -> dict:
    prefix = name.upper()
    return {f"{prefix}_NATS_URL": nats.url, f"{prefix}_NATS_CREDENTIALS": str(nats.seeds[name])}


def service_env(name: str, pg: EmbeddedPostgres, nats: EmbeddedNats, health_port: int) -> dict:
    prefix = name.upper()
    return {
        f"{prefix}_DATABASE_URL": pg.url(f"pyk8s_{name}"),
        f"{prefix}_HEALTH_PORT": str(health_port),
        **nats_env(name, nats),
    }


def wait_ready(url: str, children: list[subprocess.Popen], deadline_s: float = 120) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        for child in children:
            if child.poll() is not None:
                raise SystemExit(f"{child.args[-1]} exited with {child.returncode} during start-up")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not turn ready within {deadline_s}s")


def spawn(module: str, env: dict) -> subprocess.Popen:
    # Own session: Ctrl-C reaches only this runner, which then stops everything in order.
    return subprocess.Popen(
        [sys.executable, "-m", module], env=env, start_new_session=True, preexec_fn=die_with_parent
    )


def stop_all(children: list[subprocess.Popen]) -> None:
    for child in reversed(children):
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in reversed(children):
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def main() -> int:
    data_dir = Path(os.environ.get("PYK8S_DATA_DIR", ROOT / ".data")).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    gateway_port = env_int("PYK8S_GATEWAY_PORT", 8080)
    health_base = env_int("PYK8S_HEALTH_BASE_PORT", 8091)

    stop_requested = False

    def request_stop(*_: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    pg = EmbeddedPostgres(data_dir / "postgres", env_int("PYK8S_PG_PORT", 5433)).start()
    # One nkey per component (and `events` for outside programs), made on the first run.
    seeds = ensure_credentials(data_dir / "nats" / "credentials")
    nats = EmbeddedNats(data_dir / "nats", seeds, env_int("PYK8S_NATS_PORT", 4222)).start()
    children: list[subprocess.Popen] = []
    try:
        for name in SERVICES:
            pg.ensure_database(f"pyk8s_{name}")
        base_env = {
            **os.environ,
            **secrets_env(data_dir),
            "PYTHONUNBUFFERED": "1",
            # kind and k3d built by scripts/install-cluster-tools.sh, if they were.
            "PATH": f"{ROOT / '.tools' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "PROVISIONER_WORK_DIR": str(data_dir / "provisioner"),
        }
        for index, name in enumerate(SERVICES):
            env = {**base_env, **service_env(name, pg, nats, health_base + index)}
            children.append(spawn(f"pyk8s_{name}", env))
        gateway_env = {**base_env, **nats_env("gateway", nats), "GATEWAY_PORT": str(gateway_port)}
        children.append(spawn("pyk8s_gateway", gateway_env))
        url = f"http://127.0.0.1:{gateway_port}"
        wait_ready(f"{url}/health/ready", children)
        print(f"\nPyK8s-Lab is up: {url}  (API docs {url}/api/v1/docs; data in {data_dir})")
        print("Press Ctrl-C to stop.\n", flush=True)
        while not stop_requested:
            for child in children:
                if child.poll() is not None:
                    print(f"{child.args[-1]} exited with {child.returncode}; stopping", flush=True)
                    return 1
            time.sleep(0.3)
        return 0
    finally:
        stop_all(children)
        nats.stop()
        pg.stop()
        print("PyK8s-Lab stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
