"""Security headers on every HTTP answer, and the API docs page with a policy of its own.
Written as a small ASGI middleware: no maintained one is among our dependencies, and a
pure ASGI one leaves the event streams and the WebSocket untouched."""

import base64
import hashlib
import re

from fastapi import Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .deps import forwarded_by_trusted_proxy

APP_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # Mantine and xterm.js inject <style> elements at run time, without a nonce hook
        # that a static index.html could use.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SWAGGER_CDN = "https://cdn.jsdelivr.net"
FAVICON_HOST = "https://fastapi.tiangolo.com"
HSTS = "max-age=31536000; includeSubDomains"

ALWAYS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}

INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def is_https(scope: Scope, trusted_proxy_hops: int) -> bool:
    """Over TLS to us, or, behind trusted proxies, over TLS to the outermost of them."""
    if scope.get("scheme") == "https":
        return True
    forwarded = Headers(scope=scope).get("x-forwarded-proto")
    return forwarded_by_trusted_proxy(forwarded, trusted_proxy_hops) == "https"


class SecurityHeaders:
    """Adds the headers to every HTTP response; a response that sets its own
    Content-Security-Policy (the docs page) keeps it."""

    def __init__(self, app: ASGIApp, trusted_proxy_hops: int = 0) -> None:
        self.app = app
        self.trusted_proxy_hops = trusted_proxy_hops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = is_https(scope, self.trusted_proxy_hops)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.update(ALWAYS)
                headers.setdefault("content-security-policy", APP_POLICY)
                if https:
                    headers["strict-transport-security"] = HSTS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def docs_policy(page: bytes) -> str:
    """Swagger UI's script and style sheet come from its CDN; the page's own inline start-up
    script is allowed by its hash only."""
    hashes = " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in INLINE_SCRIPT.findall(page)
    )
    return "; ".join(
        (
            "default-src 'none'",
            f"script-src {SWAGGER_CDN} {hashes}",
            # Swagger UI sets style attributes on its elements.
            f"style-src {SWAGGER_CDN} 'unsafe-inline'",
            f"img-src 'self' data: {FAVICON_HOST}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


async def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI for the API."""
    page = get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{request.app.title} - Swagger UI",
        # The default validator would send the API's description to a third party.
        swagger_ui_parameters={"validatorUrl": None},
    )
    page.headers["content-security-policy"] = docs_policy(page.body)
    return page
