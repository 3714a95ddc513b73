"""Web terminal: the ticket route and the browser's WebSocket, bridged to the terminal service
over the session's NATS subjects. The frame protocol is described in docs/terminal.md."""

import asyncio
import json
import logging
import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, WebSocket
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.websockets import WebSocketDisconnect, WebSocketState

from pyk8s_contracts import subjects
from pyk8s_contracts.common import Contract
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.terminal import (
    CLOSE_ERROR,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CONTROL_HEADER,
    GATEWAY_PING_SECONDS,
    Ack,
    Close,
    Ended,
    Ping,
    Resize,
    SessionOpened,
    SessionOpenRequest,
    Ticket,
    TicketCreateRequest,
    TicketText,
    session_subject,
)
from pyk8s_kit.bus import ServiceError, request

from ..deps import Bus, CurrentUser
from ..settings import GatewaySettings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/clusters", tags=["terminal"])
ws_router = APIRouter()

HELLO_TIMEOUT_SECONDS = 10.0
MAX_TEXT_FRAME = 4096
MAX_DATA_FRAME = 64 * 1024
# The terminal service never has more than its window unacknowledged; anything beyond this
# means the other side broke the flow-control contract.
MAX_BUFFERED_OUTPUT = 4 * 1024 * 1024
OPEN_TIMEOUT_SECONDS = 20.0
# How often the gateway asks whether the terminal still serves the session (a replica that
# died cannot say goodbye); the same ping tells the terminal that this gateway is alive.
LIVENESS_SECONDS = GATEWAY_PING_SECONDS
LIVENESS_TIMEOUT_SECONDS = 5.0


def ws_path(cluster_id: uuid.UUID) -> str:
    return f"/ws/terminal/{cluster_id}"


class TerminalTicket(BaseModel):
    ticket: str
    cluster_id: uuid.UUID
    expires_at: datetime
    ws_url: str


@router.post("/{cluster_id}/terminal", status_code=201, response_model=TerminalTicket)
async def create_ticket(cluster_id: uuid.UUID, bus: Bus, user: CurrentUser) -> TerminalTicket:
    """A single-use ticket, valid for 30 seconds, to open the terminal WebSocket at `ws_url`:
    send it as the first message (`{"type": "hello", "ticket": ...}`). The cluster's team
    member (or above), or the owner of a personal cluster: 404 for outsiders, 403 for
    viewers, 409 while the cluster is not ready (the terminal service decides)."""
    ticket = await request(
        bus,
        subjects.TERMINAL_TICKET_CREATE,
        TicketCreateRequest(actor_id=user.user_id, cluster_id=cluster_id),
        Ticket,
        actor=user.assertion,
    )
    return TerminalTicket(
        ticket=ticket.ticket,
        cluster_id=cluster_id,
        expires_at=ticket.expires_at,
        ws_url=ws_path(cluster_id),
    )


class Hello(Contract):
    # Clients may be newer than the gateway and say more in their hello.
    model_config = ConfigDict(extra="ignore")
    type: str
    ticket: TicketText
    cols: int = 80
    rows: int = 24


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:120]  # a close reason fits in 123 bytes


def origin_allowed(websocket: WebSocket, settings: GatewaySettings) -> bool:
    """Browsers always send Origin; it must be one of the gateway's public origins or on the
    allowlist. Clients that are not browsers (the CLI) send none and are not exposed to
    cross-site requests."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    allowed = settings.trusted_origins()
    return "*" in allowed or origin.rstrip("/").lower() in allowed


async def read_hello(websocket: WebSocket) -> Hello:
    try:
        message = await asyncio.wait_for(websocket.receive(), HELLO_TIMEOUT_SECONDS)
    except TimeoutError:
        raise Refused(CLOSE_POLICY, "no ticket: the first message must carry it") from None
    text = message.get("text")
    if message["type"] != "websocket.receive" or text is None or len(text) > MAX_TEXT_FRAME:
        raise Refused(CLOSE_POLICY, "the first message must be a hello with a ticket")
    try:
        hello = Hello.model_validate_json(text)
    except ValidationError:
        raise Refused(CLOSE_POLICY, "the first message must be a hello with a ticket") from None
    if hello.type != "hello":
        raise Refused(CLOSE_POLICY, "the first message must be a hello with a ticket")
    return hello


def refusal(error: ServiceError) -> Refused:
    if error.code in (ErrorCode.UNAVAILABLE, ErrorCode.INTERNAL):
        return Refused(CLOSE_ERROR, error.message)
    return Refused(CLOSE_POLICY, error.message)


@ws_router.websocket("/ws/terminal/{cluster_id}")
async def terminal_socket(websocket: WebSocket, cluster_id: str) -> None:
    await websocket.accept()
    try:
        if not origin_allowed(websocket, websocket.app.state.settings):
            raise Refused(CLOSE_POLICY, "origin not allowed")
        hello = await read_hello(websocket)
        try:
            cluster = uuid.UUID(cluster_id)
        except ValueError:
            raise Refused(CLOSE_POLICY, "no such cluster") from None
        session = BrowserSession(websocket, websocket.app.state.nc)
        await session.run(cluster, hello)
    except Refused as refused:
        await _close(websocket, refused.code, refused.reason)
    except WebSocketDisconnect:
        pass


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state == WebSocketState.CONNECTED:
        try:
            await websocket.close(code, reason)
        except RuntimeError:
            pass  # the client was already gone


class BrowserSession:
    """One browser's socket bridged to one terminal session. Only `_to_browser` sends on the
    socket; the receiving side hands it pongs through the same queue."""

    def __init__(self, websocket: WebSocket, nc: NATS) -> None:
        self.websocket = websocket
        self.nc = nc
        self.id = uuid.uuid4()
        self.queue: asyncio.Queue[bytes | Ended | dict[str, Any]] = asyncio.Queue()
        self.buffered = 0
        self.peak_buffered = 0
        self._in = session_subject(self.id, "in")

    async def _on_output(self, msg: Msg) -> None:
        if msg.headers and CONTROL_HEADER in msg.headers:
            try:
                self.queue.put_nowait(Ended.model_validate_json(msg.data))
            except ValidationError:
                log.warning("unexpected control message on %s", msg.subject)
            return
        self.buffered += len(msg.data)
        self.peak_buffered = max(self.peak_buffered, self.buffered)
        if self.buffered > MAX_BUFFERED_OUTPUT:
            self.queue.put_nowait(Ended(close_code=CLOSE_ERROR, reason="output overflow"))
            return
        self.queue.put_nowait(msg.data)

    async def run(self, cluster_id: uuid.UUID, hello: Hello) -> None:
        # Subscribed before the session opens, so the first prompt is not missed.
        sub = await self.nc.subscribe(session_subject(self.id, "out"), cb=self._on_output)
        try:
            try:
                await request(
                    self.nc,
                    subjects.TERMINAL_SESSION_OPEN,
                    SessionOpenRequest(
                        session_id=self.id,
                        cluster_id=cluster_id,
                        ticket=hello.ticket,
                        cols=min(max(hello.cols, 1), 1000),
                        rows=min(max(hello.rows, 1), 1000),
                    ),
                    SessionOpened,
                    timeout=OPEN_TIMEOUT_SECONDS,
                )
            except ServiceError as error:
                raise refusal(error) from None
            try:
                await self.websocket.send_json({"type": "ready", "session_id": str(self.id)})
            except (WebSocketDisconnect, RuntimeError, OSError):
                await self._control(Close(reason="client left before the shell was ready"))
                return
            await self._bridge()
        finally:
            await sub.unsubscribe()

    async def _bridge(self) -> None:
        to_browser = asyncio.create_task(self._to_browser())
        from_browser = asyncio.create_task(self._from_browser())
        watch = asyncio.create_task(self._watch_terminal())
        done, pending = await asyncio.wait(
            {to_browser, from_browser}, return_when=asyncio.FIRST_COMPLETED
        )
        pending.add(watch)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # Whoever ended it (browser gone, protocol broken, overflow), the shell ends too; when
        # the terminal itself ended the session, nobody listens any more and this is a no-op.
        await self._control(Close(reason="client closed"))
        if from_browser in done and not from_browser.cancelled():
            problem = from_browser.exception() or from_browser.result()
            if isinstance(problem, Refused):
                await _close(self.websocket, problem.code, problem.reason)

    async def _watch_terminal(self) -> None:
        missed = 0
        while missed < 2:
            await asyncio.sleep(LIVENESS_SECONDS)
            try:
                await self.nc.request(
                    self._in,
                    Ping().model_dump_json().encode(),
                    timeout=LIVENESS_TIMEOUT_SECONDS,
                    headers={CONTROL_HEADER: "1"},
                )
                missed = 0
            except NoRespondersError:
                missed = 2
            except NatsTimeout:
                missed += 1
        self.queue.put_nowait(Ended(close_code=CLOSE_ERROR, reason="terminal session lost"))

    async def _control(self, message: BaseModel) -> None:
        await self.nc.publish(
            self._in, message.model_dump_json().encode(), headers={CONTROL_HEADER: "1"}
        )

    async def _to_browser(self) -> None:
        while True:
            item = await self.queue.get()
            if isinstance(item, Ended):
                if item.exit_code is not None:
                    await self.websocket.send_json({"type": "exit", "code": item.exit_code})
                await _close(self.websocket, item.close_code, item.reason[:120])
                return
            if isinstance(item, dict):
                await self.websocket.send_json(item)
                continue
            self.buffered -= len(item)
            await self.websocket.send_bytes(item)

    async def _from_browser(self) -> Refused | None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            data = message.get("bytes")
            if data is not None:
                if len(data) > MAX_DATA_FRAME:
                    return Refused(
                        CLOSE_TOO_BIG, f"data frames are limited to {MAX_DATA_FRAME} bytes"
                    )
                await self.nc.publish(self._in, data)
                continue
            refused = await self._on_text(message.get("text") or "")
            if refused:
                return refused

    async def _on_text(self, text: str) -> Refused | None:
        if len(text) > MAX_TEXT_FRAME:
            return Refused(CLOSE_TOO_BIG, "control frame too large")
        try:
            frame = json.loads(text)
            kind = frame.get("type")
            if kind == "resize":
                await self._control(Resize(cols=frame["cols"], rows=frame["rows"]))
            elif kind == "ack":
                await self._control(Ack(bytes=frame["bytes"]))
            elif kind == "ping":
                self.queue.put_nowait(
                    {"type": "pong", **({"t": frame["t"]} if "t" in frame else {})}
                )
            elif kind == "close":
                return Refused(1000, "client closed")
            # Unknown frame types are ignored so that clients may be newer than the gateway.
        except (ValueError, AttributeError, KeyError, TypeError, ValidationError):
            return Refused(CLOSE_POLICY, "malformed control frame")
        return None
