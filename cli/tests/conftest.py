from collections.abc import Iterator

import pytest

from cli.tests.gateway_double import GatewayDouble


@pytest.fixture
def double(tmp_path, monkeypatch) -> Iterator[GatewayDouble]:
    """A stand-in gateway over HTTPS, trusted by the CLI through SSL_CERT_FILE."""
    gateway = GatewayDouble(tmp_path).start()
    monkeypatch.setenv("SSL_CERT_FILE", str(gateway.certificate))
    yield gateway
    gateway.stop()
