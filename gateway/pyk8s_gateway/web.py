"""Serves the built React app from one origin, with SPA fallback to index.html."""

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.staticfiles import StaticFiles

from .problems import Problem

RESERVED = ("api/", "ws/", "health/", "k8s/")


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
        if path.startswith(RESERVED) or "\x00" in path:
            raise Problem(404, "not_found", f"no route {request.url.path}")
        found = static_file(dist, path)
        if found:
            return FileResponse(found)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})


def static_file(dist: Path, path: str) -> Path | None:
    """The file under `dist` that `path` names, if any; names the file system refuses
    (too long, say) are not files."""
    if not path:
        return None
    try:
        candidate = (dist / path).resolve()
        found = candidate.is_file()
    except OSError:
        return None
    return candidate if found and candidate.is_relative_to(dist.resolve()) else None
