"""Serves the built React app from one origin, with SPA fallback to index.html.

Caching: Vite names each file under /assets/ after a hash of its content, so browsers keep
those for a year without asking again. Every other file, index.html above all (it names the
current assets), is revalidated on each use: `no-cache`, answered 304 while it is unchanged.

Compression: the build writes a brotli and a gzip copy beside each file (web/vite.config.ts) and
the gateway sends the copy the browser accepts. Compressing once, at the highest levels, costs
no CPU per request, and it touches these files only: the Kubernetes API proxy at /k8s, the SSE
streams and the WebSockets pass as they are, where a GZipMiddleware would sit in front of all
of them. Starlette's StaticFiles does the rest (safe paths, ETag, 304, ranges): a copy is sent
with its own length and ETag, and a range counts its bytes, as HTTP defines ranges over the
encoded content. ServeStatic (WhiteNoise for ASGI) also serves such copies, but gives every
encoding the same strong ETag and reads the files only at start-up.
"""

import os
from mimetypes import guess_type
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

from .problems import Problem

RESERVED = ("api/", "ws/", "health/", "k8s/")

HASHED = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# The build's copies, the smaller first: brotli beats gzip on text.
COPIES = (("br", ".br"), ("gzip", ".gz"))


def mount_web(app: FastAPI, dist: Path) -> None:
    index = dist / "index.html"
    if not index.exists():

        @app.get("/", include_in_schema=False)
        async def no_web() -> JSONResponse:
            return JSONResponse(
                {"detail": "the web app is not built; run `make web`", "api": "/api/v1/docs"},
                status_code=503,
            )

        return

    if (dist / "assets").is_dir():
        app.mount("/assets", WebFiles(dist / "assets", HASHED), name="assets")
    pages = WebFiles(dist, REVALIDATE)

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str, request: Request) -> Response:
        if path.startswith(RESERVED) or "\x00" in path:
            raise Problem(404, "not_found", f"no route {request.url.path}")
        try:
            return await pages.get_response(path, request.scope)
        except HTTPException as missing:
            if missing.status_code != 404:
                raise
        return await pages.get_response("index.html", request.scope)


class WebFiles(StaticFiles):
    """The files of one folder of the built app, with one cache policy, each sent as the
    build's compressed copy when the browser accepts its encoding."""

    def __init__(self, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory)
        self.cache_control = cache_control

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        # The copies are sent in place of their original only, with its Content-Type.
        if path.endswith(tuple(suffix for _, suffix in COPIES)):
            return "", None
        return super().lookup_path(path)

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        request_headers = Headers(scope=scope)
        headers = {"Cache-Control": self.cache_control, "Vary": "Accept-Encoding"}
        sent, encoding, stat_result = compressed_copy(
            str(full_path), stat_result, request_headers.get("accept-encoding", "")
        )
        if encoding:
            headers["Content-Encoding"] = encoding
        response = FileResponse(
            sent,
            status_code,
            headers,
            media_type=guess_type(full_path)[0],  # the original's, not application/gzip
            stat_result=stat_result,
        )
        if self.is_not_modified(response.headers, request_headers):
            return NotModifiedResponse(response.headers)
        return response


def compressed_copy(
    path: str, stat_result: os.stat_result, accept_encoding: str
) -> tuple[str, str | None, os.stat_result]:
    """The build's copy of `path` to send, its encoding and its stat: the first of COPIES the
    browser accepts and the build wrote (it skips those no smaller), else `path` itself."""
    accepted = accepted_encodings(accept_encoding)
    for encoding, suffix in COPIES:
        if encoding in accepted:
            try:
                return path + suffix, encoding, os.stat(path + suffix)
            except FileNotFoundError:
                continue
    return path, None, stat_result


def accepted_encodings(accept_encoding: str) -> set[str]:
    """The content codings an Accept-Encoding header names without refusing them (`q=0`),
    RFC 9110 section 12.5.3. A `*` accepts nothing here: a client that sends it gets the
    original. Written here because neither Starlette nor our other dependencies parse it."""
    accepted = set()
    for item in accept_encoding.lower().split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        if quality(parameters) > 0:
            accepted.add(coding)
    return accepted


def quality(parameters: list[str]) -> float:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0
