"""How the gateway's HTTP server is configured (uvicorn), beyond the routes."""

import uvicorn

from pyk8s_gateway.settings import GatewaySettings

UVICORN_DEFAULT_KEEP_ALIVE = 5


def config(**settings) -> uvicorn.Config:
    options = GatewaySettings(**settings).uvicorn_options()
    return uvicorn.Config("pyk8s_gateway.main:create_app", **options)


def test_idle_connections_are_kept_longer_than_clients_pause():
    """With uvicorn's 5 s, a client pausing about that long between requests on one connection
    now and then sent its request just as the server closed it: "connection reset by peer"."""
    kept = config().timeout_keep_alive
    assert kept == 75
    assert kept > UVICORN_DEFAULT_KEEP_ALIVE


def test_the_keep_alive_is_a_setting():
    assert config(keep_alive_seconds=20).timeout_keep_alive == 20


def test_answers_do_not_name_the_server_software():
    assert config().server_header is False
