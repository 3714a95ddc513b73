"""Serves the built React app from one origin, with SPA fallback to index.html."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.staticfiles import StaticFiles

RESERVED = ("api/", "ws/", "health/")


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
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")

    @app.get("/{path:path}", include_in_schema=False)
    async def spa(path: str, request: Request) -> FileResponse:
        if path.startswith(RESERVED):
            from .problems import Problem

            raise Problem(404, "not_found", f"no route {request.url.path}")
        candidate = (dist / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(dist.resolve()):
            return FileResponse(candidate)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
