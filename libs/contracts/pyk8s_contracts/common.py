"""Field types shared by several contracts."""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError

# DNS label (RFC 1123): lowercase letters, digits and '-', starting and ending alphanumeric.
DNS_LABEL_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$"
DnsLabel = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL_PATTERN)]
Username = Annotated[str, StringConstraints(min_length=2, max_length=39, pattern=DNS_LABEL_PATTERN)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]


def reject_nul(value: Any) -> Any:
    """PostgreSQL refuses NUL in text, so no string anywhere in a contract may carry one."""
    if isinstance(value, str):
        if "\x00" in value:
            raise PydanticCustomError("nul_character", "text may not contain NUL characters")
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            reject_nul(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            reject_nul(key)
            reject_nul(item)
    return value


class Contract(BaseModel):
    """Base of every message: unknown fields and NUL characters in text are refused."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return reject_nul(value)


class Empty(Contract):
    pass


class Ok(Contract):
    ok: bool = True


class ByUser(Contract):
    """Every request on behalf of a person names the acting user (defence in depth)."""

    actor_id: UUID


class ByPlatformAdmin(ByUser):
    """A request only a platform admin may make (rbac.json `platform`): the bus layer refuses
    it before any handler runs when the actor's verified access token lacks the role."""


def utcnow() -> datetime:
    return datetime.now(UTC)


# Lists are read a page at a time (docs/performance.md, "Lists"): `limit` rows, then the
# opaque `cursor` of the reply's `next_cursor` for the next page (pyk8s_kit.pages makes it).
DEFAULT_PAGE_LIMIT = 50
MAX_PAGE_LIMIT = 200
PageLimit = Annotated[int, Field(ge=1, le=MAX_PAGE_LIMIT)]
Cursor = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class PageRequest(Contract):
    limit: PageLimit = DEFAULT_PAGE_LIMIT
    cursor: Cursor | None = None


class Page(Contract):
    """`next_cursor` asks for the page after this one; None on the last page."""

    next_cursor: str | None = None
