"""NATS identities: an nkey per component, the server's authorization block generated from
the permission table in `pyk8s_contracts.identities`, and the one way components connect.

nkey users with permissions in the server configuration (rather than decentralized JWT auth):
the permissions live in one table in this repository, the server needs no account resolver,
and a rotation is a new seed plus a configuration reload. docs/architecture.md has the why."""

import argparse
import json
import os
import random
import secrets
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import nkeys
from nats.aio.client import Client as NATS
from nats.aio.client import Server

from pyk8s_contracts.identities import ALL_IDENTITIES, PERMISSIONS, Permissions, inbox_prefix


def new_seed() -> bytes:
    return nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)


def public_key(seed_file: Path) -> str:
    return nkeys.from_seed(bytearray(Path(seed_file).read_bytes().strip())).public_key.decode()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def ensure_credentials(folder: Path, identities: Iterable[str] = ALL_IDENTITIES) -> dict[str, Path]:
    """One seed file per identity under `folder` (mode 0600), created when missing."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    files = {}
    for identity in identities:
        path = folder / f"{identity}.nk"
        if not path.exists():
            _write_private(path, new_seed())
        files[identity] = path
    return files


def user_entry(identity: str, key: str, permissions: Permissions) -> dict[str, Any]:
    # An empty allow list means "no limit" to the server, so every list must have entries:
    # each identity at least reads its own inbox and asks something.
    publish = [*permissions.publish, *permissions.jetstream]
    subscribe = [*permissions.subscribe, f"{inbox_prefix(identity)}.>"]
    assert publish and subscribe, identity
    rules: dict[str, Any] = {"publish": {"allow": publish}, "subscribe": {"allow": subscribe}}
    if permissions.serves:
        rules["allow_responses"] = True
    return {"nkey": key, "permissions": rules}


def authorization(
    seeds: dict[str, Path], extra: dict[str, Permissions] | None = None
) -> dict[str, Any]:
    """The server's `authorization` block: only these users, nobody anonymous."""
    return authorization_for_keys({name: public_key(path) for name, path in seeds.items()}, extra)


def authorization_for_keys(
    keys: dict[str, str], extra: dict[str, Permissions] | None = None
) -> dict[str, Any]:
    """The same block from the identities' public keys alone, for a server that never sees a
    seed (the Helm chart's NATS)."""
    table = {**PERMISSIONS, **(extra or {})}
    return {"users": [user_entry(name, key, table[name]) for name, key in keys.items()]}


ROUTE_USER = "route"


@dataclass(frozen=True)
class Cluster:
    """The routes of a NATS cluster. Every node lists every node's route address (a server
    ignores the route to itself), and routes authenticate with a password of their own, so
    the route port admits other nodes only: a client's nkey is no way in there."""

    name: str
    # host:port of each node's route listener.
    routes: tuple[str, ...]
    password: str


def route_password(path: Path) -> str:
    """The cluster's route password, made once and kept private beside the seeds."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, secrets.token_urlsafe(32).encode())
    return path.read_text().strip()


def cluster_block(
    cluster: Cluster, host: str, port: int, tls: tuple[Path, Path] | None
) -> dict[str, Any]:
    credentials = f"{ROUTE_USER}:{cluster.password}"
    block: dict[str, Any] = {
        "name": cluster.name,
        "listen": f"{host}:{port}",
        "authorization": {"user": ROUTE_USER, "password": cluster.password, "timeout": 2},
        "routes": [f"nats-route://{credentials}@{route}" for route in cluster.routes],
    }
    if tls:
        cert, key = tls
        # Mutual TLS between nodes: each presents the certificate and checks the other's
        # against it, the nodes sharing one self-signed certificate as the embedded servers do
        # (clients verify the server with that same file).
        block["tls"] = {
            "cert_file": str(cert),
            "key_file": str(key),
            "ca_file": str(cert),
            "verify": True,
        }
    return block


def server_config(
    *,
    host: str,
    port: int,
    store_dir: Path,
    seeds: dict[str, Path],
    extra: dict[str, Permissions] | None = None,
    tls: tuple[Path, Path] | None = None,
    cluster: Cluster | None = None,
    server_name: str = "",
    route_port: int = 0,
) -> dict[str, Any]:
    """A server's configuration. With `cluster`, one node of it: JetStream then needs a
    `server_name` unique in the cluster, and the node listens for routes on `route_port`."""
    config: dict[str, Any] = {
        "host": host,
        "port": port,
        "jetstream": {"store_dir": str(store_dir)},
        "authorization": authorization(seeds, extra),
    }
    if tls:
        cert, key = tls
        config["tls"] = {"cert_file": str(cert), "key_file": str(key)}
    if server_name:
        config["server_name"] = server_name
    if cluster:
        if not (server_name and route_port):
            raise ValueError("a cluster node needs a server name and a route port")
        config["cluster"] = cluster_block(cluster, host, route_port, tls)
    return config


def write_config(path: Path, config: dict[str, Any]) -> Path:
    """NATS reads JSON as its configuration format; the file holds no secret but is kept
    private like the seeds beside it."""
    _write_private(Path(path), json.dumps(config, indent=2).encode())
    return Path(path)


def tls_context(ca_file: str) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=ca_file) if ca_file else None


def server_list(servers: str | list[str]) -> list[str]:
    """The servers of a `*_NATS_URL` setting: one URL, or every node of a cluster separated
    by commas."""
    if isinstance(servers, str):
        servers = servers.split(",")
    return [server.strip() for server in servers if server.strip()]


RECONNECT_WAIT_SECONDS = 0.5
RECONNECT_JITTER_SECONDS = 0.5


class Reconnects:
    """Which server to try next after a lost connection, and after how long; nats-py's
    `reconnect_to_server_handler`, because nats-py has no jitter setting of its own.

    Every server not yet tried since the connection was lost is tried at once, in random
    order, so losing one node of a cluster costs one refused attempt at most. Once all have
    failed (the whole cluster is down or restarting), each further attempt waits
    RECONNECT_WAIT_SECONDS plus up to RECONNECT_JITTER_SECONDS at random, so that the clients
    do not all come back at the same instant."""

    def __init__(self) -> None:
        self._tried: set[str] = set()

    def __call__(self, servers: list[Server], _info: dict[str, Any]) -> tuple[Server, float]:
        untried = [server for server in servers if server.uri.netloc not in self._tried]
        delay = 0.0
        if not untried:
            self._tried.clear()
            untried = servers
            delay = RECONNECT_WAIT_SECONDS + random.uniform(0, RECONNECT_JITTER_SECONDS)
        server = random.choice(untried)
        self._tried.add(server.uri.netloc)
        return server, delay

    async def reconnected(self) -> None:
        self._tried.clear()


async def connect(
    servers: str | list[str],
    identity: str,
    seed_file: str | Path,
    *,
    name: str | None = None,
    tls_ca: str = "",
    **options: Any,
) -> NATS:
    """Connect as `identity` to one server or any of a cluster's (`servers`: a list, or URLs
    separated by commas), and reconnect forever, to whichever node answers: its nkey signs the
    server's challenge, and replies come on the identity's own inbox prefix, which no other
    identity may read."""
    if not seed_file:
        raise RuntimeError(f"no NATS credentials for {identity}: set the *_NATS_CREDENTIALS file")
    reconnects = Reconnects()
    settings: dict[str, Any] = {
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": RECONNECT_WAIT_SECONDS,
        "reconnect_to_server_handler": reconnects,
        "reconnected_cb": reconnects.reconnected,
        # A node that vanishes without closing its connections (its machine lost) is noticed
        # after two unanswered pings, 10 to 15 s, rather than nats-py's default 4 minutes.
        "ping_interval": 5,
        "max_outstanding_pings": 2,
    }
    context = tls_context(tls_ca)
    if context is not None:
        settings["tls"] = context
    return await nats.connect(
        server_list(servers),
        name=name or identity,
        nkeys_seed=str(seed_file),
        inbox_prefix=inbox_prefix(identity),
        **{**settings, **options},
    )


def main(argv: list[str] | None = None) -> None:
    """`python -m pyk8s_kit.natsauth`: what a container deployment runs before NATS starts.
    Each identity's seed is made once, in a folder of its own (<seeds>/<identity>/), so that
    each component can be given its own seed and nothing else; the server configuration is
    written again on every run, so an upgrade's permission table reaches the server."""
    parser = argparse.ArgumentParser(prog="python -m pyk8s_kit.natsauth", description=main.__doc__)
    parser.add_argument("--seeds", type=Path, required=True, help="one folder per identity")
    parser.add_argument("--config", type=Path, required=True, help="the server configuration")
    parser.add_argument("--store-dir", type=Path, required=True, help="JetStream's storage")
    parser.add_argument("--port", type=int, default=4222)
    parser.add_argument("--monitor-port", type=int, default=8222, help="/healthz; 0: none")
    args = parser.parse_args(argv)
    seeds = {
        identity: ensure_credentials(args.seeds / identity, [identity])[identity]
        for identity in ALL_IDENTITIES
    }
    config = server_config(host="0.0.0.0", port=args.port, store_dir=args.store_dir, seeds=seeds)
    if args.monitor_port:
        config["http_port"] = args.monitor_port
    write_config(args.config, config)
    print(f"NATS: {len(seeds)} identities under {args.seeds}, configuration {args.config}")


if __name__ == "__main__":
    main()
