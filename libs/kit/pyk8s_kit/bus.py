"""Typed request/reply over nats.micro. Handlers take and return pydantic contracts;
expected failures are raised as `ServiceError` and travel as one error envelope."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.micro import add_service
from nats.micro.request import ERROR_CODE_HEADER, ERROR_HEADER, Request
from nats.micro.service import EndpointConfig, Service
from pydantic import BaseModel, ValidationError

from pyk8s_contracts.errors import ErrorCode, ErrorEnvelope

log = logging.getLogger(__name__)

In = TypeVar("In", bound=BaseModel)
Out = TypeVar("Out", bound=BaseModel)


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

    @property
    def name(self) -> str:
        return self.subject.replace(".", "-")


class Router:
    """Collects endpoints of one service: `@router.endpoint(SUBJECT)` on an async function
    whose single parameter is annotated with its request contract."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def endpoint(self, subject: str, request: type[BaseModel]):
        def register(handler: Callable[[Any], Awaitable[BaseModel]]):
            self.endpoints.append(Endpoint(subject, request, handler))
            return handler

        return register


async def _reply_error(req: Request, envelope: ErrorEnvelope) -> None:
    await req.respond(
        envelope.model_dump_json().encode(),
        headers={ERROR_HEADER: envelope.message[:200], ERROR_CODE_HEADER: envelope.code.value},
    )


def _wrap(endpoint: Endpoint) -> Callable[[Request], Awaitable[None]]:
    async def handle(req: Request) -> None:
        try:
            payload = endpoint.request.model_validate_json(req.data or b"{}")
        except ValidationError as error:
            await _reply_error(
                req,
                ErrorEnvelope(
                    code=ErrorCode.VALIDATION,
                    message="invalid request",
                    detail=validation_detail(error),
                ),
            )
            return
        try:
            reply = await endpoint.handler(payload)
        except ServiceError as error:
            await _reply_error(req, error.envelope())
            return
        except Exception:
            log.exception("handler for %s failed", endpoint.subject)
            await _reply_error(
                req, ErrorEnvelope(code=ErrorCode.INTERNAL, message="internal error")
            )
            return
        await req.respond(reply.model_dump_json().encode())

    return handle


async def serve(nc: NATS, name: str, version: str, routers: list[Router]) -> Service:
    """Start one nats.micro service; the queue group is the service name so replicas share
    the load."""
    service = await add_service(nc, name=name, version=version, queue_group=name)
    for router in routers:
        for endpoint in router.endpoints:
            await service.add_endpoint(
                EndpointConfig(
                    name=endpoint.name, subject=endpoint.subject, handler=_wrap(endpoint)
                )
            )
    return service


async def request(
    nc: NATS, subject: str, payload: BaseModel, reply: type[Out], timeout: float = 5.0
) -> Out:
    """Send a contract, get a contract back, or raise `ServiceError`."""
    try:
        msg = await nc.request(subject, payload.model_dump_json().encode(), timeout=timeout)
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
