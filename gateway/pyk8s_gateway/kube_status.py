"""Errors of the Kubernetes API proxy as Kubernetes `Status` objects, the body kubectl and
client-go decode and print ("Error from server (Forbidden): ..."), not problem+json."""

import math

from fastapi.responses import JSONResponse

from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.outages import RETRY_AFTER_SECONDS

from .problems import STATUS

# metav1.StatusReason for each status the proxy answers itself.
REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Gone",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    # Kubernetes has no reason for a bad gateway; kubectl prints the message either way.
    502: "InternalError",
    503: "ServiceUnavailable",
}


class KubeError(Exception):
    """Raised inside the proxy; answered as a `Status` with `code` as the HTTP status."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def from_service(cls, error: ServiceError) -> "KubeError":
        # The same code -> status table as the rest of the API.
        return cls(STATUS.get(error.code, 500), error.message)

    @classmethod
    def unavailable(cls, message: str) -> "KubeError":
        return cls(STATUS[ErrorCode.UNAVAILABLE], message)

    def body(self) -> dict:
        status = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": REASONS.get(self.code, ""),
            "code": self.code,
        }
        if self.code == 503:
            status["details"] = {"retryAfterSeconds": RETRY_AFTER_SECONDS}
        return status

    def response(self) -> JSONResponse:
        headers = {"Retry-After": str(math.ceil(RETRY_AFTER_SECONDS))} if self.code == 503 else {}
        return JSONResponse(self.body(), status_code=self.code, headers=headers)
