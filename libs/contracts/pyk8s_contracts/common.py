"""Field types shared by several contracts."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

# DNS label (RFC 1123): lowercase letters, digits and '-', starting and ending alphanumeric.
DNS_LABEL_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
DnsLabel = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]
Username = Annotated[str, StringConstraints(min_length=2, max_length=39, pattern=DNS_LABEL_PATTERN)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)


class Empty(Contract):
    pass


class Ok(Contract):
    ok: bool = True


class ByUser(Contract):
    """Every request on behalf of a person names the acting user (defence in depth)."""

    actor_id: UUID


def utcnow() -> datetime:
    return datetime.now(UTC)


Limit = Annotated[int, Field(ge=1, le=500)]
