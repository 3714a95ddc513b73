"""The rules of the terminal service: tickets, opening sessions within the limits, ending
them when the right to the cluster goes, and the audit trail. No SQL here (repository.py)."""

import asyncio
import hashlib
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pyk8s_contracts import subjects
from pyk8s_contracts.clusters import ClusterNode, ClusterNodeRequest, ClusterStatus
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.events import CloudEvent, event_type
from pyk8s_contracts.terminal import (
    CLOSE_ERROR,
    CLOSE_GOING_AWAY,
    CLOSE_POLICY,
    CONTROL_HEADER,
    Ended,
    Probe,
    SessionOpened,
    SessionOpenRequest,
    SessionRecord,
    Ticket,
    TicketCreateRequest,
    session_subject,
)
from pyk8s_kit.bus import ServiceError, request
from pyk8s_kit.db import Database
from pyk8s_kit.outbox import add_event

from .access import Denied, check_access
from .bridge import SessionBridge, SessionInfo, marker
from .docker import DockerError, Engines
from .models import OutboxEvent, TerminalSession
from .models import Ticket as TicketRow
from .repository import TerminalRepository
from .settings import TerminalSettings

log = logging.getLogger(__name__)

EVENT_SOURCE = "pyk8s-terminal"
GATEWAY_GONE = "gateway gone: no heartbeat from the gateway holding the socket"
# How long a peer may take between recording a session and listening to its subject.
OPENING_SECONDS = 30.0
PROBE_TIMEOUT_SECONDS = 2.0
CLUSTER_GONE_EVENTS = (
    subjects.event_subject("cluster", "deleted"),
    subjects.event_subject("cluster", "expired"),
)


def _now() -> datetime:
    return datetime.now(UTC)


def hash_ticket(ticket: str) -> str:
    # Tickets carry 256 random bits, so a fast hash stores them safely.
    return hashlib.sha256(ticket.encode()).hexdigest()


def _record(row: TerminalSession) -> SessionRecord:
    return SessionRecord(
        session_id=row.id,
        cluster_id=row.cluster_id,
        user_id=row.user_id,
        container=row.container,
        started_at=row.started_at,
        ended_at=row.ended_at,
        exit_code=row.exit_code,
        end_reason=row.end_reason,
        bytes_in=row.bytes_in,
        bytes_out=row.bytes_out,
    )


def _event(verb: str, row: TerminalSession) -> CloudEvent:
    return CloudEvent(
        source=EVENT_SOURCE,
        type=event_type("terminal", verb),
        subject=str(row.id),
        data=_record(row).model_dump(mode="json"),
    )


class TerminalService:
    def __init__(
        self, db: Database, nc: NATS, engines: Engines, settings: TerminalSettings
    ) -> None:
        self.db = db
        self.nc = nc
        # Each host's Docker engine: a session runs on the engine of its cluster's host.
        self.engines = engines
        self.settings = settings
        self.live: dict[uuid.UUID, SessionBridge] = {}
        # Held so the loop does not drop a running recheck.
        self._rechecks: set[asyncio.Task] = set()

    # tickets
    async def create_ticket(self, req: TicketCreateRequest) -> Ticket:
        """Refused (404, 403, 409) unless the actor may open a shell on the cluster now; the
        same check runs again when the ticket opens a session."""
        try:
            await check_access(self.nc, req.cluster_id, req.actor_id)
        except Denied as denied:
            raise denied.service_error() from None
        return await self.issue_ticket(req.actor_id, req.cluster_id)

    async def issue_ticket(self, user_id: uuid.UUID, cluster_id: uuid.UUID) -> Ticket:
        token = secrets.token_urlsafe(32)
        now = _now()
        expires_at = now + timedelta(seconds=self.settings.ticket_ttl_seconds)
        async with self.db.session() as session:
            repo = TerminalRepository(session)
            await repo.prune_tickets(now - timedelta(hours=1))
            await repo.add(
                TicketRow(
                    token_hash=hash_ticket(token),
                    user_id=user_id,
                    cluster_id=cluster_id,
                    expires_at=expires_at,
                )
            )
        return Ticket(ticket=token, cluster_id=cluster_id, expires_at=expires_at)

    # sessions
    async def open(self, req: SessionOpenRequest) -> SessionOpened:
        async with self.db.session() as session:
            ticket = await TerminalRepository(session).redeem_ticket(
                hash_ticket(req.ticket), _now()
            )
        if ticket is None or ticket.cluster_id != req.cluster_id:
            raise ServiceError(ErrorCode.INVALID_TOKEN, "the ticket is invalid, used or expired")
        user_id = ticket.user_id
        try:
            cluster = await check_access(self.nc, req.cluster_id, user_id)
        except Denied as denied:
            raise denied.service_error() from None
        node = await request(
            self.nc,
            subjects.PROVISIONER_CLUSTER_NODE,
            ClusterNodeRequest(cluster_id=cluster.id),
            ClusterNode,
        )
        if node.status != ClusterStatus.READY:
            raise ServiceError(ErrorCode.CONFLICT, f"cluster is {node.status.value}, not ready")
        info = SessionInfo(
            id=req.session_id,
            user_id=user_id,
            cluster_id=cluster.id,
            team_id=cluster.team_id,
            owner_id=cluster.owner_id,
            container=node.container,
            host_id=node.host_id,
            docker_host=node.docker_host,
        )
        await self._record_open(info)
        try:
            docker = self.engines.for_host(node.host_id, node.docker_host)
            stream = await docker.start_shell(
                node.container, [marker(info.id), "TERM=xterm-256color"]
            )
            await docker.resize(stream.exec_id, req.cols, req.rows)
        except DockerError as error:
            log.warning(
                "could not start a shell in %s on host %s: %s", node.container, node.host_id, error
            )
            await self._record_end(
                info.id, Ended(close_code=CLOSE_ERROR, reason="could not start a shell"), None, 0, 0
            )
            raise ServiceError(
                ErrorCode.UNAVAILABLE, "could not start a shell on the node"
            ) from None
        bridge = SessionBridge(
            info, stream, self.nc, docker, self.settings, self._finished, self.denial
        )
        self.live[info.id] = bridge
        await bridge.start()
        return SessionOpened(
            session_id=info.id,
            cluster_id=info.cluster_id,
            user_id=user_id,
            container=info.container,
        )

    def _alive_since(self) -> datetime:
        return _now() - timedelta(seconds=3 * self.settings.recheck_interval_seconds + 5)

    async def _record_open(self, info: SessionInfo) -> None:
        try:
            async with self.db.session() as session:
                repo = TerminalRepository(session)
                await repo.lock_openings()
                by_user, by_cluster = await repo.live_counts(
                    info.user_id, info.cluster_id, self._alive_since()
                )
                if by_user >= self.settings.max_sessions_per_user:
                    raise ServiceError(
                        ErrorCode.QUOTA_EXCEEDED,
                        "limit reached: too many terminal sessions for this user",
                    )
                if by_cluster >= self.settings.max_sessions_per_cluster:
                    raise ServiceError(
                        ErrorCode.QUOTA_EXCEEDED,
                        "limit reached: too many terminal sessions on this cluster",
                    )
                row = TerminalSession(
                    id=info.id,
                    user_id=info.user_id,
                    cluster_id=info.cluster_id,
                    container=info.container,
                    host_id=info.host_id,
                    docker_host=info.docker_host,
                    started_at=_now(),
                    bytes_in=0,
                    bytes_out=0,
                )
                await repo.add(row)
                add_event(
                    session,
                    OutboxEvent,
                    subjects.event_subject("terminal", "opened"),
                    _event("opened", row),
                )
        except IntegrityError:
            raise ServiceError(ErrorCode.CONFLICT, "session id already used") from None

    async def _record_end(
        self,
        session_id: uuid.UUID,
        ended: Ended,
        exec_id: str | None,
        bytes_in: int,
        bytes_out: int,
    ) -> None:
        async with self.db.session() as session:
            row = await TerminalRepository(session).get(session_id)
            if row is None or row.ended_at is not None:
                return
            row.ended_at = _now()
            row.exit_code = ended.exit_code
            row.end_reason = ended.reason[:200]
            row.exec_id = exec_id
            row.bytes_in = bytes_in
            row.bytes_out = bytes_out
            add_event(
                session,
                OutboxEvent,
                subjects.event_subject("terminal", "closed"),
                _event("closed", row),
            )

    async def _finished(self, bridge: SessionBridge, ended: Ended) -> None:
        self.live.pop(bridge.info.id, None)
        await self._record_end(
            bridge.info.id,
            ended,
            bridge.stream.exec_id,
            bridge.counters.bytes_in,
            bridge.counters.bytes_out,
        )

    # supervision
    def end_where(self, predicate, reason: str, close_code: int = CLOSE_POLICY) -> list:
        return [
            bridge.end(Ended(close_code=close_code, reason=reason))
            for bridge in list(self.live.values())
            if predicate(bridge)
        ]

    async def enforce_limits(self) -> None:
        idle = self.settings.idle_timeout_seconds
        longest = self.settings.max_session_seconds
        silence = self.settings.gateway_silence_seconds
        self.end_where(lambda b: b.idle_for() > idle, "idle timeout")
        self.end_where(lambda b: b.age() > longest, "maximum session length reached")
        if not self.nc.is_connected:
            # Nothing can be heard while the bus is away: a NATS restart is not the gateway's
            # death, so silence counts only while connected.
            for bridge in self.live.values():
                bridge.heard()
        self.end_where(lambda b: b.silent_for() > silence, GATEWAY_GONE, CLOSE_ERROR)

    async def denial(self, info: SessionInfo) -> str | None:
        """Why the session's user may no longer use its cluster, or None while they may."""
        try:
            await check_access(self.nc, info.cluster_id, info.user_id)
        except Denied as denied:
            return "cluster deleted" if denied.gone else "access to the cluster was withdrawn"
        except ServiceError as error:
            # A service that cannot answer right now is not a reason to cut a session.
            log.info("access recheck of %s skipped: %s", info.id, error.message)
        return None

    async def recheck(self, bridges: list[SessionBridge] | None = None) -> None:
        """Ask again whether each session's user still has the right to its cluster."""
        for bridge in bridges if bridges is not None else list(self.live.values()):
            reason = await self.denial(bridge.info)
            if reason:
                bridge.end(Ended(close_code=CLOSE_POLICY, reason=reason))

    async def heartbeat(self) -> None:
        """Keeps this replica's sessions counted, and closes sessions whose replica died,
        killing what their shells left running."""
        async with self.db.session() as session:
            repo = TerminalRepository(session)
            await repo.heartbeat(list(self.live), _now())
            lost = await repo.lost_sessions(self._alive_since())
            self._close_lost(session, lost, "lost: the terminal service replica stopped")
        await self._kill_leftovers(lost)

    async def end_unserved(self) -> None:
        """At start-up: closes the sessions that no replica serves any more (this one before
        a restart, or a peer that died), without waiting for their heartbeats to go stale."""
        async with self.db.session() as session:
            # Younger sessions may be opening on a peer that does not listen to them yet.
            candidates = await TerminalRepository(session).open_sessions(
                _now() - timedelta(seconds=OPENING_SECONDS)
            )
        unserved = [row.id for row in candidates if not await self._served(row.id)]
        if not unserved:
            return
        async with self.db.session() as session:
            lost = await TerminalRepository(session).lock_open(unserved)
            self._close_lost(session, lost, "lost: no terminal service serves it any more")
        log.info("closed %d sessions that no replica serves", len(lost))
        await self._kill_leftovers(lost)

    async def _served(self, session_id: uuid.UUID) -> bool:
        if session_id in self.live:
            return True
        try:
            await self.nc.request(
                session_subject(session_id, "in"),
                Probe().model_dump_json().encode(),
                timeout=PROBE_TIMEOUT_SECONDS,
                headers={CONTROL_HEADER: "1"},
            )
        except NoRespondersError:
            return False
        except NatsTimeout:
            pass  # someone listens but is slow: its heartbeat decides
        return True

    @staticmethod
    def _close_lost(session: AsyncSession, rows: list[TerminalSession], reason: str) -> None:
        now = _now()
        for row in rows:
            row.ended_at = now
            row.end_reason = reason
            add_event(
                session,
                OutboxEvent,
                subjects.event_subject("terminal", "closed"),
                _event("closed", row),
            )

    async def _kill_leftovers(self, rows: list[TerminalSession]) -> None:
        for row in rows:
            try:
                docker = self.engines.for_host(row.host_id, row.docker_host)
                await docker.kill_marked(row.container, marker(row.id))
            except DockerError as error:
                log.info("no cleanup for lost session %s: %s", row.id, error)

    async def supervise(self) -> None:
        """Background loop: unserved sessions once, limits every second, rights and
        heartbeats every recheck interval."""
        last_recheck = 0.0
        unserved_closed = False
        loop = asyncio.get_running_loop()
        while True:
            try:
                if not unserved_closed:
                    await self.end_unserved()
                    unserved_closed = True
                await self.enforce_limits()
                if loop.time() - last_recheck >= self.settings.recheck_interval_seconds:
                    last_recheck = loop.time()
                    await self.recheck()
                    await self.heartbeat()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("terminal supervision failed; retrying")
            await asyncio.sleep(min(1.0, self.settings.recheck_interval_seconds))

    async def on_event(self, msg: Msg) -> None:
        """Cluster deletions end that cluster's sessions at once; team changes trigger a
        recheck of the sessions on that team's clusters."""
        try:
            event = CloudEvent.model_validate_json(msg.data)
        except ValidationError:
            return
        if msg.subject in CLUSTER_GONE_EVENTS:
            cluster_id = str(event.data.get("cluster_id") or event.data.get("id") or event.subject)
            self.end_where(lambda b: str(b.info.cluster_id) == cluster_id, "cluster deleted")
        elif ".team" in msg.subject or ".member" in msg.subject:
            team_id = str(event.data.get("team_id") or "")
            affected = [b for b in self.live.values() if str(b.info.team_id) == team_id]
            if affected:
                task = asyncio.create_task(self.recheck(affected))
                self._rechecks.add(task)
                task.add_done_callback(self._rechecks.discard)

    async def stop(self) -> None:
        tasks = self.end_where(lambda b: True, "terminal service stopping", CLOSE_GOING_AWAY)
        await asyncio.gather(*tasks, return_exceptions=True)
