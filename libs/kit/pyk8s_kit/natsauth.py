"""NATS identities: an nkey per component, the server's authorization block generated from
the permission table in `pyk8s_contracts.identities`, and the one way components connect.

nkey users with permissions in the server configuration (rather than decentralized JWT auth):
the permissions live in one table in this repository, the server needs no account resolver,
and a rotation is a new seed plus a configuration reload. docs/architecture.md has the why."""

import argparse
import json
import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nats
import nkeys
from nats.aio.client import Client as NATS

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


def server_config(
    *,
    host: str,
    port: int,
    store_dir: Path,
    seeds: dict[str, Path],
    extra: dict[str, Permissions] | None = None,
    tls: tuple[Path, Path] | None = None,
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "host": host,
        "port": port,
        "jetstream": {"store_dir": str(store_dir)},
        "authorization": authorization(seeds, extra),
    }
    if tls:
        cert, key = tls
        config["tls"] = {"cert_file": str(cert), "key_file": str(key)}
    return config


def write_config(path: Path, config: dict[str, Any]) -> Path:
    """NATS reads JSON as its configuration format; the file holds no secret but is kept
    private like the seeds beside it."""
    _write_private(Path(path), json.dumps(config, indent=2).encode())
    return Path(path)


def tls_context(ca_file: str) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=ca_file) if ca_file else None


async def connect(
    servers: str | list[str],
    identity: str,
    seed_file: str | Path,
    *,
    name: str | None = None,
    tls_ca: str = "",
    **options: Any,
) -> NATS:
    """Connect as `identity`: its nkey signs the server's challenge, and replies come on the
    identity's own inbox prefix, which no other identity may read."""
    if not seed_file:
        raise RuntimeError(f"no NATS credentials for {identity}: set the *_NATS_CREDENTIALS file")
    settings: dict[str, Any] = {"max_reconnect_attempts": -1, "reconnect_time_wait": 0.5}
    context = tls_context(tls_ca)
    if context is not None:
        settings["tls"] = context
    return await nats.connect(
        servers,
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
