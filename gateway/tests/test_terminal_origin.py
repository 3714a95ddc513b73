"""Which browser pages may open the terminal WebSocket: the Origin check runs before the
ticket is read, so these tests need no cluster and no Docker engine."""

import json
import socket
from urllib.parse import urlsplit

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from pyk8s_gateway.settings import GatewaySettings

PATH = "/ws/terminal/00000000-0000-0000-0000-000000000000"


def close_after_hello(platform, origin: str, host: str | None = None) -> tuple[int, str]:
    """Opens the socket with `origin`, as if reached under `host` (a DNS-rebinding page),
    sends a hello with an unknown ticket, and returns how the gateway closed it."""
    port = urlsplit(platform.url).port
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    url = f"ws://{host or f'127.0.0.1:{port}'}{PATH}"
    with connect(url, sock=sock, origin=origin, open_timeout=10) as ws:
        try:
            ws.send(json.dumps({"type": "hello", "ticket": "unknown"}))
            ws.recv(timeout=15)
        except ConnectionClosed as closed:
            return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("the socket stayed open")


def test_a_rebound_host_does_not_make_its_origin_trusted(platform):
    port = urlsplit(platform.url).port
    evil = f"evil.example:{port}"
    assert close_after_hello(platform, f"http://{evil}", host=evil) == (
        1008,
        "origin not allowed",
    )


def test_the_development_origins_pass_the_origin_check(platform):
    port = urlsplit(platform.url).port
    for origin in (platform.url, f"http://localhost:{port}"):
        code, reason = close_after_hello(platform, origin)
        # Refused for the unknown ticket, after the origin was accepted.
        assert (code, reason) != (1008, "origin not allowed")
        assert code == 1008


@pytest.mark.parametrize(
    "platform_overrides", [{"gateway": {"public_origins": ["https://lab.example/"]}}]
)
def test_configured_public_origins_replace_the_development_ones(platform):
    code, reason = close_after_hello(platform, "https://LAB.example", host="lab.example")
    assert (code, reason) != (1008, "origin not allowed")
    assert close_after_hello(platform, platform.url) == (1008, "origin not allowed")


def test_default_origins_follow_the_port():
    settings = GatewaySettings(port=9000, allowed_origins=["https://console.example"])
    assert settings.trusted_origins() == {
        "http://127.0.0.1:9000",
        "http://localhost:9000",
        "https://console.example",
    }
