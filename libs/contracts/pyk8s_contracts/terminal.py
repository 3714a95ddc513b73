"""Terminal service contracts: tickets, session opening, and the control messages that travel
beside the raw bytes on a session's NATS subjects (see docs/terminal.md)."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints, TypeAdapter

from .common import ByUser, Contract

TicketText = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Dimension = Annotated[int, Field(ge=1, le=1000)]

# Header that marks a message on a session subject as a JSON control message; messages
# without it are raw terminal bytes.
CONTROL_HEADER = "Pyk8s-Control"

# WebSocket close codes used by the gateway (RFC 6455).
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_ERROR = 1011

# The gateway pings each of its sessions this often over the session's `in` subject. The
# ping proves the terminal still serves the session, and to the terminal that the gateway
# holding the browser's socket is still there (terminal `gateway_silence_seconds`).
GATEWAY_PING_SECONDS = 3.0


def session_subject(session_id: UUID, direction: Literal["in", "out"]) -> str:
    """`in`: gateway -> terminal (keystrokes, control); `out`: terminal -> gateway."""
    return f"terminal.session.{session_id}.{direction}"


class TicketCreateRequest(ByUser):
    cluster_id: UUID


class Ticket(Contract):
    ticket: str
    cluster_id: UUID
    expires_at: datetime


class SessionOpenRequest(Contract):
    """Sent by the gateway once the browser's first message carried a ticket. The gateway
    chooses `session_id` and subscribes to the session's `out` subject before asking."""

    session_id: UUID
    cluster_id: UUID
    ticket: TicketText
    cols: Dimension = 80
    rows: Dimension = 24


class SessionOpened(Contract):
    session_id: UUID
    cluster_id: UUID
    user_id: UUID
    container: str


# Control messages, gateway -> terminal
class Resize(Contract):
    type: Literal["resize"] = "resize"
    cols: Dimension
    rows: Dimension


class Ack(Contract):
    """The client has consumed `bytes` more bytes of output: the terminal may send that many
    more (credit-based flow control)."""

    type: Literal["ack"] = "ack"
    bytes: Annotated[int, Field(ge=0, le=1 << 30)]


class Close(Contract):
    type: Literal["close"] = "close"
    reason: str = "client closed"


class Ping(Contract):
    """Sent as a request: the reply proves the session is still served."""

    type: Literal["ping"] = "ping"


class Probe(Contract):
    """Sent as a request by a starting terminal replica: a reply means some replica still
    serves the session. Unlike a ping it says nothing about the gateway."""

    type: Literal["probe"] = "probe"


# Control messages, terminal -> gateway
class Ended(Contract):
    """The session is over. `exit_code` is set when the shell exited by itself; `close_code`
    and `reason` are what the gateway closes the WebSocket with."""

    type: Literal["ended"] = "ended"
    exit_code: int | None = None
    close_code: int = CLOSE_NORMAL
    reason: str = "exited"


Control = Annotated[Resize | Ack | Close | Ping | Probe | Ended, Field(discriminator="type")]
control_adapter: TypeAdapter[Resize | Ack | Close | Ping | Probe | Ended] = TypeAdapter(Control)


class SessionRecord(Contract):
    """An audit row, as carried in `pyk8s.events.terminal.opened` / `.closed`."""

    session_id: UUID
    cluster_id: UUID
    user_id: UUID
    container: str
    started_at: datetime
    ended_at: datetime | None = None
    exit_code: int | None = None
    end_reason: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
