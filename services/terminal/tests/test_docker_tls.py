"""A remote Docker engine over TCP with mutual TLS (the Helm chart's docker.mode=remote): the
client proves itself with its certificate, checks the engine's, and the exec stream is
hijacked over the TLS connection as over the socket. The engine here is a small TLS server
that answers the two calls involved, so the test needs no Docker."""

import asyncio
import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pyk8s_terminal.docker import Docker, DockerError, Engines


def issue(folder, stem, subject, issuer=None, issuer_key=None, ca=False):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    (folder / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert, key


@pytest.fixture
def certificates(tmp_path):
    """A CA, the engine's certificate and a client pair in the DOCKER_CERT_PATH layout."""
    ca, ca_key = issue(tmp_path, "ca", "engine-ca", ca=True)
    issue(tmp_path, "server", "127.0.0.1", ca, ca_key)
    client = tmp_path / "client"
    client.mkdir()
    issue(client, "cert", "terminal", ca, ca_key)
    (client / "key.pem").write_bytes((client / "cert-key.pem").read_bytes())
    (client / "ca.pem").write_bytes((tmp_path / "ca.pem").read_bytes())
    return tmp_path


async def engine(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """GET /_ping, and POST /exec/{id}/start upgraded to a stream that echoes its input."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = next(
        (
            int(line.split(":")[1])
            for line in head.split("\r\n")
            if line.lower().startswith("content-length")
        ),
        0,
    )
    await reader.readexactly(length)
    if head.startswith("GET /v1.41/_ping"):
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
    elif head.startswith("POST /v1.41/exec/abc/start") and "Upgrade: tcp" in head:
        writer.write(b"HTTP/1.1 101 UPGRADED\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
        writer.write(await reader.readexactly(5))
    else:
        writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()
    writer.close()


@pytest.fixture
async def tls_engine(certificates):
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=certificates / "ca.pem")
    context.load_cert_chain(certificates / "server.pem", certificates / "server-key.pem")
    context.verify_mode = ssl.CERT_REQUIRED
    server = await asyncio.start_server(engine, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    yield f"tcp://127.0.0.1:{port}"
    server.close()
    await server.wait_closed()


async def test_remote_engine_with_client_certificates(tls_engine, certificates):
    docker = Docker("", "1.41", host=tls_engine, cert_path=str(certificates / "client"))
    try:
        assert await docker.ping()
        reader, writer = await docker._hijack("abc")
        writer.write(b"echo\n")
        await writer.drain()
        assert await asyncio.wait_for(reader.readexactly(5), 5) == b"echo\n"
        writer.close()
    finally:
        await docker.close()


async def test_an_engine_without_our_certificate_authority_is_refused(tls_engine, tmp_path):
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    issue(stranger, "ca", "other-ca", ca=True)
    issue(stranger, "cert", "terminal")
    (stranger / "key.pem").write_bytes((stranger / "cert-key.pem").read_bytes())
    docker = Docker("", "1.41", host=tls_engine, cert_path=str(stranger))
    try:
        assert not await docker.ping()
    finally:
        await docker.close()


def test_a_remote_engine_needs_tcp_and_certificates(certificates):
    with pytest.raises(ValueError, match="tcp://"):
        Docker("", "1.41", host="http://engine:2375", cert_path=str(certificates / "client"))
    with pytest.raises(ValueError, match="tcp://"):
        Docker("", "1.41", host="tcp://engine:2376")


async def test_each_hosts_engine_is_reached_with_that_hosts_certificates(
    tls_engine, certificates, tmp_path
):
    """`<cert path>/<host id>` holds a host's own pair; a host without a folder uses the pair
    at the top, here one its engine does not trust."""
    top = tmp_path / "certs"
    (top / "host-b").mkdir(parents=True)
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (top / "host-b" / name).write_bytes((certificates / "client" / name).read_bytes())
    issue(top, "ca", "other-ca", ca=True)
    issue(top, "cert", "terminal")
    (top / "key.pem").write_bytes((top / "cert-key.pem").read_bytes())
    default = Docker("/nonexistent.sock", "1.41")
    engines = Engines(default, "1.41", str(top))
    try:
        host_b = engines.for_host("host-b", tls_engine)
        assert engines.for_host("host-b", tls_engine) is host_b
        assert await host_b.ping()
        assert not await engines.for_host("host-c", tls_engine).ping()
        assert engines.for_host("local", None) is default
        socket = engines.for_host("host-d", "unix:///run/engine-d/docker.sock")
        assert socket._socket == "/run/engine-d/docker.sock"
        with pytest.raises(DockerError, match="unsupported"):
            engines.for_host("host-e", "ssh://engine-e")
    finally:
        await engines.close()
