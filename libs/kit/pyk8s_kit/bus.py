"""Typed request/reply over nats.micro. Handlers take and return pydantic contracts;
expected failures are raised as `ServiceError` and travel as one error envelope."""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.micro import add_service
from nats.micro.request import ERROR_CODE_HEADER, ERROR_HEADER, Request
from nats.micro.service import EndpointConfig, Service
from pydantic import BaseModel, ValidationError

from pyk8s_contracts.common import ByPlatformAdmin, ByUser
from pyk8s_contracts.errors import ErrorCode, ErrorEnvelope

from .outages import is_outage

log = logging.getLogger(__name__)

# Requests on behalf of a person carry that person's access token here (see actors.py).
ACTOR_HEADER = "Pyk8s-Actor"


@dataclass(frozen=True)
class Actor:
    """The person a verified assertion names, and whether it grants the platform-admin role
    (rbac.json `platform`: granted by the auth service's settings, never by a team role)."""

    user_id: uuid.UUID
    platform_admin: bool = False


# Returns the actor an assertion names, or None when it does not hold.
ActorCheck = Callable[[str], Awaitable[Actor | None]]

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


PLATFORM_ADMINS_ONLY = "this needs the platform admin role"


class ServiceError(Exception):
    """An expected failure: becomes an error envelope, never a 500."""

    def __init__(self, code: ErrorCode, message: str, detail: Any = None) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.detail = detail

    def envelope(self) -> ErrorEnvelope:
        return ErrorEnvelope(code=self.code, message=self.message, detail=self.detail)


def validation_detail(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
        for e in error.errors(include_url=False, include_context=False, include_input=False)
    ]


@dataclass(frozen=True)
class Endpoint:
    subject: str
    request: type[BaseModel]
    handler: Callable[[Any], Awaitable[BaseModel]]
    # nats.micro hands an endpoint its requests one at a time: one that waits (for a worker
    # thread, the database) holds up every other. A concurrent endpoint handles each in a task
    # of its own, so whatever it waits for must bound itself (a pooled connection does: the
    # pool's timeout). The reads behind every request are concurrent: their answers then leave
    # in batches, one write for several, which halved the NATS server's CPU per read
    # (docs/performance.md).
    concurrent: bool = False

    @property
    def name(self) -> str:
        return self.subject.replace(".", "-")


class Router:
    """Collects endpoints of one service: `@router.endpoint(SUBJECT)` on an async function
    whose single parameter is annotated with its request contract."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []
        # Requests of concurrent endpoints being handled, for `finish` to wait for.
        self._handling: set[asyncio.Task] = set()

    def endpoint(self, subject: str, request: type[BaseModel], concurrent: bool = False):
        def register(handler: Callable[[Any], Awaitable[BaseModel]]):
            self.endpoints.append(Endpoint(subject, request, handler, concurrent))
            return handler

        return register

    def handle_apart(self, handling: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(handling)
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)

    async def finish(self, grace: float) -> None:
        """Once the service has stopped taking requests, give those of concurrent endpoints
        still being handled up to `grace` seconds to answer; then cancel the rest."""
        if not self._handling:
            return
        _, late = await asyncio.wait(set(self._handling), timeout=grace)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)


async def _reply_error(req: Request, envelope: ErrorEnvelope) -> None:
    await req.respond(
        envelope.model_dump_json().encode(),
        headers={ERROR_HEADER: envelope.message[:200], ERROR_CODE_HEADER: envelope.code.value},
    )


def _invalid(error: ValidationError) -> ErrorEnvelope:
    return ErrorEnvelope(
        code=ErrorCode.VALIDATION, message="invalid request", detail=validation_detail(error)
    )


async def _acting_user(req: Request, check: ActorCheck) -> Actor | None:
    token = (req.headers or {}).get(ACTOR_HEADER)
    return await check(token) if token else None


async def _decode(endpoint: Endpoint, req: Request, check: ActorCheck) -> BaseModel:
    """The request's contract; one made on behalf of a person must name the user its verified
    assertion names, never someone else on the caller's word."""
    if not issubclass(endpoint.request, ByUser):
        return endpoint.request.model_validate_json(req.data or b"{}")
    actor = await _acting_user(req, check)
    if actor is None:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "no valid actor assertion")
    payload = endpoint.request.model_validate_json(req.data or b"{}")
    if payload.actor_id != actor.user_id:
        raise ServiceError(ErrorCode.UNAUTHORIZED, "actor_id is not the asserted user")
    if isinstance(payload, ByPlatformAdmin) and not actor.platform_admin:
        raise ServiceError(ErrorCode.FORBIDDEN, PLATFORM_ADMINS_ONLY)
    return payload


def _failure(endpoint: Endpoint, error: Exception) -> ErrorEnvelope:
    """The envelope of an unexpected error: an unreachable database or bus is an outage the
    caller may retry; anything else is a bug, logged here and hidden from the caller."""
    if is_outage(error):
        log.warning("handler for %s: dependency unavailable: %r", endpoint.subject, error)
        return ErrorEnvelope(code=ErrorCode.UNAVAILABLE, message="a dependency is unavailable")
    log.error("handler for %s failed", endpoint.subject, exc_info=error)
    return ErrorEnvelope(code=ErrorCode.INTERNAL, message="internal error")


def _wrap(endpoint: Endpoint, check: ActorCheck) -> Callable[[Request], Coroutine[Any, Any, None]]:
    async def handle(req: Request) -> None:
        try:
            payload = await _decode(endpoint, req, check)
            reply = await endpoint.handler(payload)
        except ValidationError as error:
            await _reply_error(req, _invalid(error))
            return
        except ServiceError as error:
            await _reply_error(req, error.envelope())
            return
        except Exception as error:
            await _reply_error(req, _failure(endpoint, error))
            return
        await req.respond(reply.model_dump_json().encode())

    return handle


async def serve(
    nc: NATS, name: str, version: str, routers: list[Router], check_actor: ActorCheck
) -> Service:
    """Start one nats.micro service; the queue group is the service name so replicas share
    the load. `check_actor` verifies the assertion of requests made on behalf of a person."""
    service = await add_service(nc, name=name, version=version, queue_group=name)
    for router in routers:
        for endpoint in router.endpoints:
            handler = _wrap(endpoint, check_actor)
            if endpoint.concurrent:
                handler = _apart(router, handler)
            await service.add_endpoint(
                EndpointConfig(name=endpoint.name, subject=endpoint.subject, handler=handler)
            )
    return service


def _apart(
    router: Router, handle: Callable[[Request], Coroutine[Any, Any, None]]
) -> Callable[[Request], Awaitable[None]]:
    """Hands each request to a task of its own (see `Endpoint.concurrent`); nats.micro's
    statistics then count the hand-over, not the handling."""

    async def hand_over(req: Request) -> None:
        router.handle_apart(handle(req))

    return hand_over


async def request(
    nc: NATS,
    subject: str,
    payload: BaseModel,
    reply: type[Out],
    timeout: float = 5.0,
    actor: str | None = None,
) -> Out:
    """Send a contract, get a contract back, or raise `ServiceError` (`service_unavailable` at
    once while the client is disconnected). `actor`: the access token of the person on whose
    behalf this is asked (required by services for `ByUser`)."""
    if not nc.is_connected:
        # Reconnecting: the request would sit in the client's buffer until `timeout`.
        raise ServiceError(ErrorCode.UNAVAILABLE, "the message bus is not connected")
    headers = {ACTOR_HEADER: actor} if actor else None
    try:
        msg = await nc.request(
            subject, payload.model_dump_json().encode(), timeout=timeout, headers=headers
        )
    except NoRespondersError:
        raise ServiceError(ErrorCode.UNAVAILABLE, f"no service answers {subject}") from None
    except NatsTimeout:
        raise ServiceError(ErrorCode.UNAVAILABLE, f"{subject} timed out") from None
    if msg.headers and ERROR_CODE_HEADER in msg.headers:
        try:
            envelope = ErrorEnvelope.model_validate_json(msg.data)
        except ValidationError:
            envelope = ErrorEnvelope(
                code=ErrorCode.INTERNAL, message=msg.headers.get(ERROR_HEADER, "error")
            )
        raise ServiceError(envelope.code, envelope.message, envelope.detail)
    return reply.model_validate_json(msg.data)
