"""One live shell session: the Docker exec stream on one side, the session's NATS subjects on
the other. Output is read only while the client has credit (unacknowledged bytes in flight
stay under the window), so a flooding command blocks on its TTY instead of filling memory."""

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import BadSubscriptionError
from pydantic import ValidationError

from pyk8s_contracts.terminal import (
    CLOSE_ERROR,
    CLOSE_POLICY,
    CONTROL_HEADER,
    Ack,
    Close,
    Ended,
    Probe,
    Resize,
    control_adapter,
    session_subject,
)

from .docker import Docker, DockerError, ExecStream
from .settings import TerminalSettings

log = logging.getLogger(__name__)

MARKER_VARIABLE = "PYK8S_TERMINAL_SESSION"


def marker(session_id: uuid.UUID) -> str:
    return f"{MARKER_VARIABLE}={session_id}"


@dataclass
class SessionInfo:
    id: uuid.UUID
    user_id: uuid.UUID
    cluster_id: uuid.UUID
    team_id: uuid.UUID | None
    owner_id: uuid.UUID
    container: str
    # The cluster's Docker host and its engine, as its provisioner announces them.
    host_id: str | None = None
    docker_host: str | None = None


@dataclass
class Counters:
    bytes_in: int = 0
    bytes_out: int = 0
    in_flight: int = 0
    peak_in_flight: int = 0
    started: float = field(default_factory=time.monotonic)
    last_activity: float = field(default_factory=time.monotonic)
    # Anything from the gateway, keystrokes or its pings: proof that it still holds the socket.
    last_heard: float = field(default_factory=time.monotonic)


class SessionBridge:
    def __init__(
        self,
        info: SessionInfo,
        stream: ExecStream,
        nc: NATS,
        docker: Docker,
        settings: TerminalSettings,
        finished: Callable[["SessionBridge", Ended], Awaitable[None]],
        explain: Callable[[SessionInfo], Awaitable[str | None]],
    ) -> None:
        self.info = info
        self.stream = stream
        self.counters = Counters()
        self._nc = nc
        self._docker = docker
        self._settings = settings
        self._finished = finished
        self._explain = explain
        self._out = session_subject(info.id, "out")
        self._credit = asyncio.Event()
        self._credit.set()
        self._sub: Subscription | None = None
        self._task: asyncio.Task | None = None
        self._ending: asyncio.Task | None = None
        self.ended: Ended | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(
            session_subject(self.info.id, "in"),
            cb=self._on_input,
            pending_bytes_limit=self._settings.input_max_pending_bytes,
        )
        self._task = asyncio.create_task(self._run(), name=f"terminal-{self.info.id}")

    def idle_for(self) -> float:
        return time.monotonic() - self.counters.last_activity

    def age(self) -> float:
        return time.monotonic() - self.counters.started

    def silent_for(self) -> float:
        return time.monotonic() - self.counters.last_heard

    def heard(self) -> None:
        self.counters.last_heard = time.monotonic()

    async def _run(self) -> None:
        try:
            await self._pump_output()
            try:
                code = await self._docker.exit_code(self.stream.exec_id)
            except DockerError:
                code = None  # the container itself is gone
            # A shell also ends because its node went away: say so when that is the cause.
            denial = await self._explain(self.info)
            if denial:
                ended = Ended(exit_code=code, close_code=CLOSE_POLICY, reason=denial)
            else:
                ended = Ended(
                    exit_code=code, reason="exited" if code is None else f"exited with {code}"
                )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("terminal session %s failed", self.info.id)
            ended = Ended(close_code=CLOSE_ERROR, reason="terminal error")
        self.end(ended)

    async def _pump_output(self) -> None:
        chunk = self._settings.output_chunk_bytes
        window = self._settings.output_window_bytes
        counters = self.counters
        while True:
            await self._credit.wait()
            data = await self.stream.reader.read(min(chunk, window - counters.in_flight))
            if not data:
                return
            counters.bytes_out += len(data)
            counters.in_flight += len(data)
            counters.peak_in_flight = max(counters.peak_in_flight, counters.in_flight)
            if counters.in_flight >= window:
                self._credit.clear()
            await self._nc.publish(self._out, data)

    async def _on_input(self, msg: Msg) -> None:
        if self.ended:
            return
        if msg.headers and CONTROL_HEADER in msg.headers:
            await self._on_control(msg.data)
            if msg.reply:
                await msg.respond(b"")
            return
        self.heard()
        self.counters.bytes_in += len(msg.data)
        self.counters.last_activity = time.monotonic()
        self.stream.writer.write(msg.data)
        try:
            await self.stream.writer.drain()
        except ConnectionError:
            pass  # the shell is gone; the output pump notices and ends the session

    async def _on_control(self, data: bytes) -> None:
        try:
            control = control_adapter.validate_json(data)
        except ValidationError:
            return
        if not isinstance(control, Probe):
            self.heard()
        if isinstance(control, Ack):
            self.counters.last_activity = time.monotonic()
            self.counters.in_flight = max(0, self.counters.in_flight - control.bytes)
            if self.counters.in_flight < self._settings.output_window_bytes:
                self._credit.set()
        elif isinstance(control, Resize):
            self.counters.last_activity = time.monotonic()
            try:
                await self._docker.resize(self.stream.exec_id, control.cols, control.rows)
            except DockerError as error:
                log.info("resize of %s refused: %s", self.info.id, error)
        elif isinstance(control, Close):
            self.end(Ended(reason=control.reason))

    def end(self, ended: Ended) -> asyncio.Task:
        """Ends the session once (idempotent): kills the shell and everything it started,
        tells the gateway why, records the audit row. Returns the task doing it."""
        if self._ending is None:
            self.ended = ended
            self._ending = asyncio.create_task(self._end(ended), name=f"end-{self.info.id}")
        return self._ending

    async def _end(self, ended: Ended) -> None:
        if self._task and self._task is not asyncio.current_task():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._sub:
            try:
                await self._sub.unsubscribe()
            except BadSubscriptionError:
                pass  # already gone with its connection
        try:
            await self._docker.kill_marked(self.info.container, marker(self.info.id))
            if ended.exit_code is None:
                ended.exit_code = await self._docker.exit_code(self.stream.exec_id, 2.0)
        except DockerError as error:
            log.warning("could not clean up session %s: %s", self.info.id, error)
        self.stream.close()
        # Audited before the gateway hears of it, so a closed socket implies a complete record.
        try:
            await self._finished(self, ended)
        except Exception:
            log.exception("could not record the end of session %s", self.info.id)
        await self._nc.publish(
            self._out, ended.model_dump_json().encode(), headers={CONTROL_HEADER: ended.type}
        )
