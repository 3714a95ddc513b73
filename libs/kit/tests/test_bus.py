"""The typed request/reply layer over a real NATS server."""

import nats
import pytest

from pyk8s_contracts.common import Contract
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import Router, ServiceError, request, serve


class Echo(Contract):
    text: str


@pytest.fixture
async def client(nats_server):
    nc = await nats.connect(nats_server.url)
    router = Router()

    @router.endpoint("test.echo", Echo)
    async def echo(req: Echo) -> Echo:
        if req.text == "missing":
            raise ServiceError(ErrorCode.NOT_FOUND, "no such thing", {"what": "thing"})
        if req.text == "boom":
            raise RuntimeError("secret internals")
        return Echo(text=req.text.upper())

    service = await serve(nc, "test", "0.1.0", [router])
    yield nc
    await service.stop()
    await nc.close()


async def test_reply_is_decoded_into_the_contract(client):
    assert await request(client, "test.echo", Echo(text="hi"), Echo) == Echo(text="HI")


async def test_expected_error_travels_as_envelope(client):
    with pytest.raises(ServiceError) as error:
        await request(client, "test.echo", Echo(text="missing"), Echo)
    assert error.value.code == ErrorCode.NOT_FOUND
    assert error.value.detail == {"what": "thing"}


async def test_unexpected_error_hides_internals(client):
    with pytest.raises(ServiceError) as error:
        await request(client, "test.echo", Echo(text="boom"), Echo)
    assert error.value.code == ErrorCode.INTERNAL
    assert "secret" not in error.value.message


async def test_invalid_payload_is_a_validation_error(client):
    msg = await client.request("test.echo", b'{"text": 5, "extra": 1}', timeout=2)
    assert msg.headers["Nats-Service-Error-Code"] == "validation_error"


async def test_no_responders_is_unavailable(client):
    with pytest.raises(ServiceError) as error:
        await request(client, "test.nobody", Echo(text="hi"), Echo)
    assert error.value.code == ErrorCode.UNAVAILABLE


async def test_service_answers_discovery_ping(client):
    msg = await client.request("$SRV.PING.test", b"", timeout=2)
    assert b'"name":"test"' in msg.data.replace(b" ", b"")
