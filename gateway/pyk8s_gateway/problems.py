"""RFC 9457 problem details with a stable `code`; one table maps error codes to statuses."""

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.outages import RETRY_AFTER_SECONDS, is_outage

log = logging.getLogger(__name__)

STATUS = {
    ErrorCode.VALIDATION: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.INVALID_CREDENTIALS: 401,
    ErrorCode.INVALID_TOKEN: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.QUOTA_EXCEEDED: 409,
    ErrorCode.LAST_OWNER: 409,
    ErrorCode.TEAM_NOT_EMPTY: 409,
    ErrorCode.INVITATION_INVALID: 410,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}

HTTP_CODES = {
    400: "bad_request",
    401: ErrorCode.UNAUTHORIZED.value,
    403: ErrorCode.FORBIDDEN.value,
    404: ErrorCode.NOT_FOUND.value,
    405: "method_not_allowed",
    409: ErrorCode.CONFLICT.value,
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: ErrorCode.VALIDATION.value,
    429: ErrorCode.RATE_LIMITED.value,
}

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    410: "Gone",
    413: "Payload Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class Problem(Exception):
    """Raise from a route to answer with a problem body."""

    def __init__(self, status: int, code: str, detail: str, **extra: object) -> None:
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


def problem_response(
    status: int, code: str, detail: str, request: Request | None = None, **extra: object
) -> JSONResponse:
    body = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "code": code,
        "detail": detail,
    }
    if request is not None:
        body["instance"] = request.url.path
    if status == 503:
        # An outage ends by itself: every 503 says when to try again.
        extra.setdefault("retry_after", RETRY_AFTER_SECONDS)
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    retry_after = extra.get("retry_after")
    if isinstance(retry_after, int | float):
        # HTTP counts Retry-After in whole seconds; the body keeps the exact wait.
        headers["Retry-After"] = str(math.ceil(retry_after))
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc.status, exc.code, exc.detail, request, **exc.extra)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        status = STATUS.get(exc.code, 500)
        if status == 500:
            log.error("service error on %s: %s", request.url.path, exc.message)
        extra = {"errors": exc.detail} if isinstance(exc.detail, list) else {}
        if isinstance(exc.detail, dict):
            extra = dict(exc.detail)
        return problem_response(status, exc.code.value, exc.message, request, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return problem_response(
            422, ErrorCode.VALIDATION.value, "request validation failed", request, errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "error")
        return problem_response(exc.status_code, code, str(exc.detail), request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if is_outage(exc):
            # The gateway's own NATS calls (JetStream, the ticket bucket) losing the server.
            log.warning("dependency unavailable on %s: %r", request.url.path, exc)
            return problem_response(
                503, ErrorCode.UNAVAILABLE.value, "a dependency is unavailable", request
            )
        log.exception("unhandled error on %s", request.url.path)
        return problem_response(500, ErrorCode.INTERNAL.value, "internal error", request)
