"""The typed request/reply layer over a real NATS server."""

import asyncio
import uuid

import pytest

from pyk8s_contracts.common import ByUser, Contract
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import Router, ServiceError, request, serve
from pyk8s_kit.testing import HARNESS, wait_until_async

ALICE = uuid.uuid4()
BOB = uuid.uuid4()
# Stands in for the access-token verifier: each assertion names one user.
ASSERTIONS = {"alice-token": ALICE, "bob-token": BOB}


class Echo(Contract):
    text: str


class WhoAmI(ByUser):
    pass


async def check_assertion(token: str) -> uuid.UUID | None:
    return ASSERTIONS.get(token)


@pytest.fixture
async def client(nats_server):
    nc = await nats_server.connect(HARNESS)
    router = Router()

    @router.endpoint("test.whoami", WhoAmI)
    async def whoami(req: WhoAmI) -> Echo:
        return Echo(text=str(req.actor_id))

    @router.endpoint("test.echo", Echo)
    async def echo(req: Echo) -> Echo:
        if req.text == "missing":
            raise ServiceError(ErrorCode.NOT_FOUND, "no such thing", {"what": "thing"})
        if req.text == "boom":
            raise RuntimeError("secret internals")
        return Echo(text=req.text.upper())

    service = await serve(nc, "test", "0.1.0", [router], check_assertion)
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


async def test_a_request_for_a_person_acts_for_the_user_its_assertion_names(client):
    reply = await request(client, "test.whoami", WhoAmI(actor_id=ALICE), Echo, actor="alice-token")
    assert reply.text == str(ALICE)


@pytest.mark.parametrize("assertion", [None, "forged-token"])
async def test_a_request_for_a_person_without_a_valid_assertion_is_refused(client, assertion):
    with pytest.raises(ServiceError) as error:
        await request(client, "test.whoami", WhoAmI(actor_id=ALICE), Echo, actor=assertion)
    assert error.value.code == ErrorCode.UNAUTHORIZED


async def test_naming_another_user_than_the_assertion_is_refused(client):
    with pytest.raises(ServiceError) as error:
        await request(client, "test.whoami", WhoAmI(actor_id=ALICE), Echo, actor="bob-token")
    assert error.value.code == ErrorCode.UNAUTHORIZED


@pytest.fixture
async def waiting_endpoint(nats_server):
    """A concurrent endpoint whose handlers wait for `release`; yields (nc, router, service,
    the events)."""
    nc = await nats_server.connect(HARNESS)
    router = Router()
    entered: list[str] = []
    release = asyncio.Event()

    @router.endpoint("test.wait", Echo, concurrent=True)
    async def wait(req: Echo) -> Echo:
        entered.append(req.text)
        await release.wait()
        return req

    service = await serve(nc, "test", "0.1.0", [router], check_assertion)
    yield nc, router, service, entered, release
    await service.stop()
    await nc.close()


async def test_a_concurrent_endpoint_handles_its_requests_at_once(waiting_endpoint):
    nc, _, _, entered, release = waiting_endpoint
    asking = [
        asyncio.create_task(request(nc, "test.wait", Echo(text=str(n)), Echo)) for n in range(3)
    ]
    # One at a time, the first would hold the others back until it timed out.
    await wait_until_async(lambda: len(entered) == 3)
    release.set()
    assert [reply.text for reply in await asyncio.gather(*asking)] == ["0", "1", "2"]


async def test_requests_being_handled_when_the_service_stops_still_get_their_answer(
    waiting_endpoint,
):
    nc, router, service, entered, release = waiting_endpoint
    asking = asyncio.create_task(request(nc, "test.wait", Echo(text="late"), Echo))
    await wait_until_async(lambda: entered == ["late"])
    await service.stop()
    release.set()
    await router.finish()
    assert (await asking).text == "late"
