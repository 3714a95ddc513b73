"""Live cluster changes for browsers and the CLI as Server-Sent Events.

Each frame is one lifecycle CloudEvent (`id:` its sequence in the events stream, `data:` the
CloudEvent JSON), sent only if the caller may see the cluster at that moment: its owner for a
personal cluster, a viewer or above of its team otherwise (asked of the teams service,
remembered for at most one second). Team events that concern one person (invited, invitation
revoked, role changed, removed) go to that person only. A client that reconnects with
`Last-Event-ID` gets every event it missed while away, as long as the stream still holds it
(seven days)."""

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.kv import KeyValue
from pydantic import BaseModel

from pyk8s_contracts import subjects
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.events import PERSONAL_EVENT_TYPES
from pyk8s_contracts.teams import Role
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.roles import team_role

from .. import stream_tickets
from ..deps import Bus, bearer, connected_bus, get_verifier
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
# Frame ids are JetStream stream sequences: unsigned 64-bit integers.
MAX_SEQUENCE = 2**64 - 1
EVENT_ID = re.compile(r"[0-9]{1,20}")
INVALID_LAST_EVENT_ID = "invalid_last_event_id"
CLUSTER_EVENT_PREFIX = "io.pyk8s.cluster."
# What the stream reads of the events stream: cluster lifecycle, and the team events among
# which are those that concern the caller.
STREAM_SUBJECTS = [
    subjects.CLUSTER_EVENTS_ALL,
    subjects.TEAM_INVITATION_EVENTS,
    subjects.TEAM_MEMBER_EVENTS,
]


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


class StreamTicket(BaseModel):
    ticket: str
    expires_at: datetime


async def get_ticket_bucket(request: Request) -> KeyValue:
    connected_bus(request)
    return request.app.state.stream_tickets


TicketBucket = Annotated[KeyValue, Depends(get_ticket_bucket)]
Verifier = Annotated[TokenVerifier, Depends(get_verifier)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def bearer_token(credentials: HTTPAuthorizationCredentials | None) -> str | None:
    if credentials is None or credentials.scheme.lower() != "bearer":
        return None
    return credentials.credentials


def no_credentials() -> Problem:
    return Problem(
        401, ErrorCode.UNAUTHORIZED.value, "sign in first: no bearer token or stream ticket"
    )


async def verified(verifier: TokenVerifier, token: str) -> StreamCaller:
    try:
        return StreamCaller(await verifier.verify(token), token, verifier)
    except InvalidToken:
        raise Problem(
            401, ErrorCode.INVALID_TOKEN.value, "the token is invalid or expired"
        ) from None


async def header_caller(verifier: Verifier, credentials: Credentials) -> StreamCaller:
    token = bearer_token(credentials)
    if token is None:
        raise no_credentials()
    return await verified(verifier, token)


async def stream_caller(
    verifier: Verifier,
    tickets: TicketBucket,
    credentials: Credentials,
    ticket: Annotated[
        str | None,
        Query(
            description="A stream ticket from `POST /events/tickets`, for clients that "
            "cannot send an Authorization header (EventSource).",
        ),
    ] = None,
) -> StreamCaller:
    token = bearer_token(credentials)
    if token is None and ticket is not None:
        token = await stream_tickets.redeem(tickets, ticket)
        if token is None:
            raise Problem(
                401, ErrorCode.INVALID_TOKEN.value, "the ticket is invalid, used or expired"
            )
    if token is None:
        raise no_credentials()
    return await verified(verifier, token)


StreamUser = Annotated[StreamCaller, Depends(stream_caller)]


def parse_event_id(text: str) -> int:
    if not EVENT_ID.fullmatch(text) or int(text) > MAX_SEQUENCE:
        raise Problem(
            400,
            INVALID_LAST_EVENT_ID,
            "Last-Event-ID must be the id of an event of this stream: an integer from 0 to "
            f"{MAX_SEQUENCE}",
        )
    return int(text)


async def last_seen(
    header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    query: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            description="As the Last-Event-ID header, for clients that open a new "
            "EventSource (with a new ticket) to reconnect and so cannot send the header.",
        ),
    ] = None,
) -> int | None:
    """The id of the last event the client saw, checked before anything else (a ticket is
    not spent on a request that is refused anyway)."""
    text = header if header is not None else query
    return None if text is None else parse_event_id(text)


LastSeen = Annotated[int | None, Depends(last_seen)]


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

    async def can_see(self, event: dict[str, Any]) -> bool:
        data = event["data"]
        if event.get("type") in PERSONAL_EVENT_TYPES:
            return data.get("user_id") == str(self._user_id)
        if not str(event.get("type", "")).startswith(CLUSTER_EVENT_PREFIX):
            return False
        team = data.get("team_id")
        if not team:
            return data.get("owner") == str(self._user_id)
        return await self.role(UUID(team)) is not None


def frame(msg: Msg, raw: str) -> str:
    return f"id: {msg.metadata.sequence.stream}\ndata: {raw}\n\n"


async def start_after(bus: NATS, seen: int | None) -> ConsumerConfig:
    """New events only, or everything after the last one the client saw."""
    if seen is None:
        return ConsumerConfig(deliver_policy=DeliverPolicy.NEW, filter_subjects=STREAM_SUBJECTS)
    info = await bus.jetstream().stream_info(subjects.EVENTS_STREAM)
    # An id beyond the stream's last names no event the client saw here (the stream was
    # recreated, or the id is made up). A consumer told to start there would wait silently
    # until the stream reached it, so such a client gets new events, as a fresh one does.
    start = min(seen, info.state.last_seq) + 1
    return ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
        opt_start_seq=start,
        filter_subjects=STREAM_SUBJECTS,
    )


@router.post("/tickets", status_code=201, response_model=StreamTicket)
async def create_stream_ticket(
    caller: Annotated[StreamCaller, Depends(header_caller)], tickets: TicketBucket
) -> StreamTicket:
    """A single-use ticket, valid for 30 seconds, to open `GET /events/clusters?ticket=...`
    where the client cannot send an Authorization header (a browser's EventSource). The stream
    it opens ends when the token that asked for it expires or is revoked."""
    issued = await stream_tickets.issue(tickets, caller.token)
    return StreamTicket(
        ticket=issued.ticket, expires_at=datetime.fromtimestamp(issued.expires_at, UTC)
    )


@router.get(
    "/clusters",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def cluster_events(
    bus: Bus,
    seen: LastSeen,
    caller: StreamUser,
    team_id: Annotated[UUID | None, Query()] = None,
) -> StreamingResponse:
    """Server-Sent Events: every lifecycle event (created, provisioning, ready, failed,
    deleting, expired, deleted) of the clusters the caller may see, or of one team's, and
    the team events that concern the caller alone (`io.pyk8s.team.invitation.created` /
    `.revoked`, `io.pyk8s.team.member.role_changed` / `.removed`, where `data.user_id` is
    the caller). Send
    the token as `Authorization: Bearer ...`, or, where the client cannot set headers
    (EventSource), a single-use `?ticket=` from `POST /events/tickets`. The stream ends when
    the token expires or is revoked; reconnect (with a new ticket) and `Last-Event-ID` to get
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
        config=await start_after(bus, seen),
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
                team = event["data"].get("team_id")
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
            if team_id and team != str(team_id):
                continue
            if await visibility.can_see(event):
                yield frame(msg, raw)
    finally:
        try:
            await subscription.unsubscribe()
        except Exception:
            log.debug("unsubscribe after stream end failed", exc_info=True)
