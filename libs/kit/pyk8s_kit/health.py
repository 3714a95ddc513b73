"""A minimal HTTP server for Kubernetes probes: /health/live and /health/ready."""

import asyncio
import json
from collections.abc import Awaitable, Callable

Check = Callable[[], Awaitable[dict[str, bool]]]


class HealthServer:
    def __init__(self, host: str, port: int, ready: Check) -> None:
        self._host = host
        self._port = port
        self._ready = ready
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = line.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else ""
            status, body = await self._answer(path)
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, path: str) -> tuple[str, dict]:
        if path == "/health/live":
            return "200 OK", {"status": "ok"}
        if path == "/health/ready":
            checks = await self._ready()
            ok = all(checks.values())
            return ("200 OK" if ok else "503 Service Unavailable"), {
                "status": "ok" if ok else "unavailable",
                "checks": checks,
            }
        return "404 Not Found", {"status": "not found"}
