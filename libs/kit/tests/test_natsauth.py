"""NATS identities against a real server: the generated configuration admits only known
nkeys, credentials are private files, and TLS works when configured."""

import asyncio
import datetime
import json
import stat

import pytest
from nats.errors import Error as NatsError

from pyk8s_contracts.identities import ALL_IDENTITIES
from pyk8s_kit import natsauth, pki
from pyk8s_kit.embedded import EmbeddedNats
from pyk8s_kit.testing import HARNESS, HARNESS_PERMISSIONS


def test_credentials_are_private_and_kept_across_runs(tmp_path):
    first = natsauth.ensure_credentials(tmp_path / "creds", ["gateway", "events"])
    again = natsauth.ensure_credentials(tmp_path / "creds", ["gateway", "events"])
    assert {k: p.read_bytes() for k, p in first.items()} == {
        k: p.read_bytes() for k, p in again.items()
    }
    for path in first.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.read_bytes().startswith(b"SU")
    assert stat.S_IMODE((tmp_path / "creds").stat().st_mode) == 0o700


def test_the_cli_makes_a_seed_folder_per_identity_once_and_the_configuration_each_run(tmp_path):
    args = [
        "--seeds",
        str(tmp_path / "seeds"),
        "--config",
        str(tmp_path / "server.json"),
        "--store-dir",
        "/data/jetstream",
    ]
    natsauth.main(args)
    seeds = {path.parent.name: path.read_bytes() for path in (tmp_path / "seeds").glob("*/*.nk")}
    assert set(seeds) == set(ALL_IDENTITIES)
    (tmp_path / "server.json").unlink()
    natsauth.main(args)
    assert {p.parent.name: p.read_bytes() for p in (tmp_path / "seeds").glob("*/*.nk")} == seeds
    for identity in ALL_IDENTITIES:
        folder = tmp_path / "seeds" / identity
        assert [p.name for p in folder.iterdir()] == [f"{identity}.nk"]
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    config = json.loads((tmp_path / "server.json").read_text())
    assert (config["host"], config["port"], config["http_port"]) == ("0.0.0.0", 4222, 8222)
    assert config["jetstream"] == {"store_dir": "/data/jetstream"}
    keys = {user["nkey"] for user in config["authorization"]["users"]}
    assert keys == {natsauth.public_key(p) for p in (tmp_path / "seeds").glob("*/*.nk")}


def test_a_component_without_credentials_does_not_start():
    with pytest.raises(RuntimeError, match="NATS_CREDENTIALS"):
        asyncio.run(natsauth.connect("nats://127.0.0.1:1", "gateway", ""))


def self_signed(folder) -> tuple:
    issued = pki.self_signed(datetime.timedelta(hours=1))
    return issued.write(folder / "server.crt", folder / "server.key")


async def test_tls_connections_verify_the_server_and_plain_ones_are_refused(tmp_path, nats_seeds):
    cert, key = self_signed(tmp_path)
    server = EmbeddedNats(
        tmp_path / "nats", nats_seeds, extra={HARNESS: HARNESS_PERMISSIONS}, tls=(cert, key)
    ).start()
    try:
        assert server.url.startswith("tls://")
        nc = await natsauth.connect(
            server.url, "gateway", nats_seeds["gateway"], tls_ca=str(cert), allow_reconnect=False
        )
        assert nc.is_connected
        await nc.close()
        plain = server.url.replace("tls://", "nats://")
        with pytest.raises((NatsError, OSError)):
            await natsauth.connect(
                plain,
                "gateway",
                nats_seeds["gateway"],
                allow_reconnect=False,
                max_reconnect_attempts=0,
            )
    finally:
        server.stop()
