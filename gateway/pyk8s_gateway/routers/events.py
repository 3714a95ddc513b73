"""Live cluster changes for browsers and the CLI as Server-Sent Events.

Each frame is one lifecycle CloudEvent (`id:` its sequence in the events stream, `data:` the
CloudEvent JSON), sent only if the caller may see the cluster at that moment: its owner for a
personal cluster, a viewer or above of its team otherwise (asked of the teams service,
remembered for at most one second). A client that reconnects with `Last-Event-ID` gets every
event it missed while away, as long as the stream still holds it (seven days)."""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy

from pyk8s_contracts import subjects
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.teams import Role
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.roles import team_role

from ..deps import Bus, bearer, get_verifier
from ..problems import Problem
from ..rbac import require_team_role
from ..security import InvalidToken, Principal, TokenVerifier

log = logging.getLogger(__name__)

router = APIRouter(prefix="/events", tags=["events"])

KEEPALIVE_SECONDS = 15.0
# The token is checked again this often: the stream ends once it expires or is revoked.
REVERIFY_SECONDS = 15.0
ROLE_CACHE_SECONDS = 1.0
QUEUE_LIMIT = 1000


@dataclass(frozen=True)
class StreamCaller:
    principal: Principal
    token: str
    verifier: TokenVerifier

    async def still_valid(self) -> bool:
        try:
            return (await self.verifier.verify(self.token)).user_id == self.principal.user_id
        except InvalidToken:
            return False
        except ServiceError:
            return True  # the auth service is briefly away: keep the stream, check again


async def stream_user(
    verifier: Annotated[TokenVerifier, Depends(get_verifier)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    access_token: Annotated[
        str | None,
        Query(
            description="Only for this stream: browsers' EventSource cannot send an "
            "Authorization header. Prefer the header everywhere else."
        ),
    ] = None,
) -> StreamCaller:
    token = None
    if credentials is not None and credentials.scheme.lower() == "bearer":
        token = credentials.credentials
    token = token or access_token
    if not token:
        raise Problem(401, ErrorCode.UNAUTHORIZED.value, "sign in first: no bearer token")
    try:
        return StreamCaller(await verifier.verify(token), token, verifier)
    except InvalidToken:
        raise Problem(
            401, ErrorCode.INVALID_TOKEN.value, "the token is invalid or expired"
        ) from None


StreamUser = Annotated[StreamCaller, Depends(stream_user)]


class Visibility:
    """Whether one user may see a cluster's events, with team roles cached for at most
    ROLE_CACHE_SECONDS so a removed member stops receiving within a second."""

    def __init__(self, bus: NATS, user_id: UUID) -> None:
        self._bus = bus
        self._user_id = user_id
        self._roles: dict[UUID, tuple[Role | None, float]] = {}

    async def role(self, team_id: UUID) -> Role | None:
        cached = self._roles.get(team_id)
        now = time.monotonic()
        if cached and now - cached[1] < ROLE_CACHE_SECONDS:
            return cached[0]
        try:
            role = await team_role(self._bus, team_id, self._user_id)
        except ServiceError:
            role = None  # when in doubt, do not show
        self._roles[team_id] = (role, now)
        return role

    async def can_see(self, data: dict[str, Any]) -> bool:
        team = data.get("team_id")
        if not team:
            return data.get("owner") == str(self._user_id)
        return await self.role(UUID(team)) is not None


def frame(msg: Msg, raw: str) -> str:
    return f"id: {msg.metadata.sequence.stream}\ndata: {raw}\n\n"


def start_after(last_event_id: str | None) -> ConsumerConfig:
    """New events only, or everything after the last one the client saw."""
    if last_event_id and last_event_id.strip().isdigit():
        return ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=int(last_event_id) + 1
        )
    return ConsumerConfig(deliver_policy=DeliverPolicy.NEW)


@router.get(
    "/clusters",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def cluster_events(
    bus: Bus,
    caller: StreamUser,
    team_id: Annotated[UUID | None, Query()] = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None,
) -> StreamingResponse:
    """Server-Sent Events: every lifecycle event (created, provisioning, ready, failed,
    deleting, expired, deleted) of the clusters the caller may see, or of one team's. Send
    the access token as `Authorization: Bearer ...`, or as `?access_token=` where the client
    cannot set headers (EventSource). The stream ends when the token expires or is revoked;
    reconnect with a fresh one and `Last-Event-ID` (EventSource sends it by itself) to get
    what happened in between."""
    user = caller.principal
    if team_id:
        await require_team_role(bus, team_id, user.user_id, Role.VIEWER)
    queue: asyncio.Queue[Msg | None] = asyncio.Queue(QUEUE_LIMIT)

    async def deliver(msg: Msg) -> None:
        try:
            queue.put_nowait(msg)
        except asyncio.QueueFull:
            # A reader that fell this far behind is closed; it reconnects and reads the
            # current state.
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(None)

    # An ordered consumer of our own: ephemeral, gapless, replayed from where the client was.
    subscription = await bus.jetstream().subscribe(
        subjects.CLUSTER_EVENTS_ALL,
        stream=subjects.EVENTS_STREAM,
        cb=deliver,
        ordered_consumer=True,
        config=start_after(last_event_id),
    )
    visibility = Visibility(bus, user.user_id)
    return StreamingResponse(
        _frames(queue, visibility, team_id, subscription, caller),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(
    queue: asyncio.Queue,
    visibility: Visibility,
    team_id: UUID | None,
    subscription,
    caller: StreamCaller,
) -> AsyncIterator[str]:
    try:
        yield "retry: 3000\n: connected\n\n"
        checked = time.monotonic()
        while True:
            if time.monotonic() - checked >= REVERIFY_SECONDS:
                if not await caller.still_valid():
                    return
                checked = time.monotonic()
            try:
                msg = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if msg is None:
                return
            raw = msg.data.decode()
            try:
                event = json.loads(raw)
                data = event["data"]
            except (ValueError, KeyError, TypeError):
                continue
            if team_id and data.get("team_id") != str(team_id):
                continue
            if await visibility.can_see(data):
                yield frame(msg, raw)
    finally:
        try:
            await subscription.unsubscribe()
        except Exception:
            log.debug("unsubscribe after stream end failed", exc_info=True)
