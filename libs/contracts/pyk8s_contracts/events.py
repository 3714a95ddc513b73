"""CloudEvents 1.0 envelope for every event on the EVENTS stream."""

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel, Field

from .common import utcnow

EVENT_TYPE_PREFIX = "io.pyk8s"


class CloudEvent(BaseModel):
    specversion: str = "1.0"
    id: str = Field(default_factory=lambda: str(uuid4()))
    source: str
    type: str
    time: datetime = Field(default_factory=utcnow)
    subject: str | None = None
    datacontenttype: str = "application/json"
    data: dict[str, Any]


def event_type(entity: str, verb: str) -> str:
    return f"{EVENT_TYPE_PREFIX}.{entity}.{verb}"


# Team events that concern one person, `data.user_id`: the live stream sends them to that
# person only (docs/events.md).
PERSONAL_EVENT_TYPES = frozenset(
    {
        event_type("team.invitation", "created"),
        event_type("team.invitation", "revoked"),
        event_type("team.member", "role_changed"),
        event_type("team.member", "removed"),
    }
)


def subject_of(entity: str, verb: str) -> str:
    return f"pyk8s.events.{entity}.{verb}"


__all__ = ["PERSONAL_EVENT_TYPES", "UUID", "CloudEvent", "event_type", "subject_of"]
