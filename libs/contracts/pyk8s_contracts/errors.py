"""Error codes carried in reply envelopes. The gateway maps each to one HTTP status."""

from enum import StrEnum
from typing import Any

from pydantic import BaseModel


class ErrorCode(StrEnum):
    VALIDATION = "validation_error"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAUTHORIZED = "unauthorized"
    INVALID_CREDENTIALS = "invalid_credentials"
    INVALID_TOKEN = "invalid_token"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"
    QUOTA_EXCEEDED = "quota_exceeded"
    LAST_OWNER = "last_owner"
    TEAM_NOT_EMPTY = "team_not_empty"
    INVITATION_INVALID = "invitation_invalid"
    UNAVAILABLE = "service_unavailable"
    INTERNAL = "internal_error"


class ErrorEnvelope(BaseModel):
    code: ErrorCode
    message: str
    detail: Any = None
