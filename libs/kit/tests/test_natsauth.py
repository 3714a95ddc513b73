"""NATS identities against a real server: the generated configuration admits only known
nkeys, credentials are private files, and TLS works when configured."""

import asyncio
import datetime
import ipaddress
import json
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from nats.errors import Error as NatsError

from pyk8s_contracts.identities import ALL_IDENTITIES
from pyk8s_kit import natsauth
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
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "server.crt", folder / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


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
