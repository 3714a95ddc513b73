"""The typed request/reply layer over a real NATS server."""

import asyncio
import uuid
from dataclasses import dataclass, field

import pytest
from nats.aio.client import Client as NATS
from nats.micro.service import Service

from pyk8s_contracts.common import ByPlatformAdmin, ByUser, Contract
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import Actor, Router, ServiceError, request, serve
from pyk8s_kit.testing import HARNESS, wait_until_async

ALICE = uuid.uuid4()
BOB = uuid.uuid4()
# Stands in for the access-token verifier: each assertion names one actor; Bob's grants the
# platform-admin role.
ASSERTIONS = {"alice-token": Actor(ALICE), "bob-token": Actor(BOB, platform_admin=True)}


class Echo(Contract):
    text: str


class WhoAmI(ByUser):
    pass


class Administer(ByPlatformAdmin):
    pass


async def check_assertion(token: str) -> Actor | None:
    return ASSERTIONS.get(token)


@pytest.fixture
async def client(nats_server):
    nc = await nats_server.connect(HARNESS)
    router = Router()

    @router.endpoint("test.whoami", WhoAmI)
    async def whoami(req: WhoAmI) -> Echo:
        return Echo(text=str(req.actor_id))

    @router.endpoint("test.administer", Administer)
    async def administer(req: Administer) -> Echo:
        return Echo(text=f"administered by {req.actor_id}")

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


@dataclass
class Waiting:
    """A concurrent endpoint on `test.wait` whose handlers wait for `release`."""

    nc: NATS
    router: Router
    service: Service
    release: asyncio.Event = field(default_factory=asyncio.Event)
    entered: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


@pytest.fixture
async def waiting(nats_server):
    nc = await nats_server.connect(HARNESS)
    router = Router()

    @router.endpoint("test.wait", Echo, concurrent=True)
    async def wait(req: Echo) -> Echo:
        endpoint.entered.append(req.text)
        try:
            await endpoint.release.wait()
        except asyncio.CancelledError:
            endpoint.cancelled.append(req.text)
            raise
        return req

    endpoint = Waiting(nc, router, await serve(nc, "test", "0.1.0", [router], check_assertion))
    yield endpoint
    await endpoint.service.stop()
    await nc.close()


async def test_a_concurrent_endpoint_handles_its_requests_at_once(waiting):
    asking = [
        asyncio.create_task(request(waiting.nc, "test.wait", Echo(text=str(n)), Echo))
        for n in range(3)
    ]
    # One at a time, the first would hold the others back until it timed out.
    await wait_until_async(lambda: len(waiting.entered) == 3)
    waiting.release.set()
    assert [reply.text for reply in await asyncio.gather(*asking)] == ["0", "1", "2"]


async def test_requests_being_handled_when_the_service_stops_still_get_their_answer(waiting):
    asking = asyncio.create_task(request(waiting.nc, "test.wait", Echo(text="late"), Echo))
    await wait_until_async(lambda: waiting.entered == ["late"])
    await waiting.service.stop()
    waiting.release.set()
    await waiting.router.finish(grace=30)
    assert (await asking).text == "late"


async def test_requests_still_being_handled_after_the_grace_are_cancelled(waiting):
    asking = asyncio.create_task(request(waiting.nc, "test.wait", Echo(text="stuck"), Echo))
    await wait_until_async(lambda: waiting.entered == ["stuck"])
    await waiting.service.stop()
    await waiting.router.finish(grace=0.1)
    assert waiting.cancelled == ["stuck"]
    asking.cancel()


async def test_platform_admin_requests_need_the_role_in_the_verified_assertion(client):
    reply = await request(
        client, "test.administer", Administer(actor_id=BOB), Echo, actor="bob-token"
    )
    assert reply.text == f"administered by {BOB}"
    with pytest.raises(ServiceError) as refused:
        await request(
            client, "test.administer", Administer(actor_id=ALICE), Echo, actor="alice-token"
        )
    assert (refused.value.code, refused.value.message) == (
        ErrorCode.FORBIDDEN,
        "this needs the platform admin role",
    )
    with pytest.raises(ServiceError) as unasserted:
        await request(client, "test.administer", Administer(actor_id=BOB), Echo)
    assert unasserted.value.code == ErrorCode.UNAUTHORIZED
