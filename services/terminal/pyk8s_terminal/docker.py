"""Docker Engine API over its unix socket, or over TCP with mutual TLS for a remote engine:
interactive exec with a TTY (the start call is hijacked into a raw byte stream), resize,
inspect, and a helper to run a short command."""

import asyncio
import json
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

SHELL = "if command -v bash >/dev/null 2>&1; then exec bash; else exec sh; fi"

# Kills every process in the container that carries the session's marker in its environment
# (the shell and everything it started); prints how many it found.
SWEEP = (
    "n=0; for f in /proc/[0-9]*/environ; do "
    'if grep -q "$1" "$f" 2>/dev/null; then p=${f#/proc/}; kill -9 "${p%/environ}" 2>/dev/null '
    "&& n=$((n+1)); fi; done; echo $n"
)


class DockerError(Exception):
    pass


@dataclass
class ExecStream:
    exec_id: str
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    def close(self) -> None:
        self.writer.close()


def client_tls(cert_path: str) -> ssl.SSLContext:
    """The Docker CLI's DOCKER_CERT_PATH layout: the engine's CA and this client's pair."""
    folder = Path(cert_path)
    context = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


class Docker:
    """`host` (tcp://name:2376) selects a remote engine, which must require client
    certificates from `cert_path`; otherwise the engine's unix socket at `socket_path`."""

    def __init__(
        self, socket_path: str, api_version: str, host: str = "", cert_path: str = ""
    ) -> None:
        self._socket = socket_path
        self._prefix = f"/v{api_version}"
        self._tcp: tuple[str, int, ssl.SSLContext] | None = None
        if host:
            address = urlsplit(host)
            if address.scheme != "tcp" or not address.hostname or not cert_path:
                raise ValueError("a remote Docker engine is tcp://host:port with a cert path")
            self._tcp = (address.hostname, address.port or 2376, client_tls(cert_path))
            name, port, context = self._tcp
            self._http = httpx.AsyncClient(
                base_url=f"https://{name}:{port}{self._prefix}", verify=context, timeout=30
            )
        else:
            self._http = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(uds=socket_path),
                base_url=f"http://docker{self._prefix}",
                timeout=30,
            )

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._tcp:
            name, port, context = self._tcp
            return await asyncio.open_connection(name, port, ssl=context, limit=1 << 16)
        return await asyncio.open_unix_connection(self._socket, limit=1 << 16)

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kw) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kw)
        except httpx.HTTPError as error:
            raise DockerError(f"docker engine unreachable: {error}") from None
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise DockerError(message.strip())
        return response

    async def ping(self) -> bool:
        try:
            return (await self._http.get("/_ping", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False

    async def create_exec(self, container: str, cmd: list[str], env: list[str], tty: bool) -> str:
        body = {
            "AttachStdin": tty,
            "AttachStdout": True,
            "AttachStderr": True,
            "Tty": tty,
            "Cmd": cmd,
            "Env": env,
        }
        response = await self._call("POST", f"/containers/{container}/exec", json=body)
        return response.json()["Id"]

    async def start_shell(self, container: str, env: list[str]) -> ExecStream:
        exec_id = await self.create_exec(container, ["sh", "-c", SHELL], env, tty=True)
        reader, writer = await self._hijack(exec_id)
        return ExecStream(exec_id, reader, writer)

    async def _hijack(self, exec_id: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """POST /exec/{id}/start upgraded to a raw TCP-like stream (Engine API "hijacking")."""
        body = json.dumps({"Detach": False, "Tty": True}).encode()
        try:
            reader, writer = await self._connect()
            writer.write(
                f"POST {self._prefix}/exec/{exec_id}/start HTTP/1.1\r\nHost: docker\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n".encode()
                + body
            )
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
        ) as error:
            raise DockerError(f"exec start failed: {error!r}") from None
        status = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
        if status not in (b"101", b"200"):
            writer.close()
            raise DockerError(f"exec start failed: {head.decode(errors='replace').strip()}")
        return reader, writer

    async def resize(self, exec_id: str, cols: int, rows: int) -> None:
        await self._call("POST", f"/exec/{exec_id}/resize", params={"h": rows, "w": cols})

    async def inspect_exec(self, exec_id: str) -> dict[str, Any]:
        return (await self._call("GET", f"/exec/{exec_id}/json")).json()

    async def exit_code(self, exec_id: str, deadline_s: float = 5.0) -> int | None:
        """The exec's exit code, once the engine has noticed the process ended."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_s
        while True:
            state = await self.inspect_exec(exec_id)
            if not state.get("Running"):
                return state.get("ExitCode")
            if loop.time() > deadline:
                return None
            await asyncio.sleep(0.05)

    async def run(self, container: str, cmd: list[str]) -> str:
        """Run a short command to completion and return its output (stdout and stderr)."""
        exec_id = await self.create_exec(container, cmd, [], tty=False)
        response = await self._call(
            "POST", f"/exec/{exec_id}/start", json={"Detach": False, "Tty": False}
        )
        return _demultiplex(response.content)

    async def kill_marked(self, container: str, marker: str, attempts: int = 5) -> None:
        """Kill every process carrying `marker` in its environment, until none is left."""
        for _ in range(attempts):
            found = (await self.run(container, ["sh", "-c", SWEEP, "sweep", marker])).strip()
            if found in ("0", ""):
                return


def _demultiplex(raw: bytes) -> str:
    """Non-TTY exec output arrives in frames: 1 byte stream, 3 zero bytes, 4 bytes size."""
    out = bytearray()
    while len(raw) >= 8:
        size = int.from_bytes(raw[4:8], "big")
        out += raw[8 : 8 + size]
        raw = raw[8 + size :]
    return out.decode(errors="replace")


class Engines:
    """The Docker engine of each host, one client each, made when first asked for.

    A cluster's node is on the engine its host's provisioner announces (`docker_host`): a unix
    socket, reached on this machine, or tcp:// with mutual TLS, whose client certificates are
    in `<cert_path>/<host id>` when that folder exists (each engine its own CA), otherwise in
    `cert_path` itself (one pair every engine trusts). A node named without an engine (a
    provisioner from before Docker hosts) is on `default`, the engine of this service's own
    settings."""

    def __init__(self, default: Docker, api_version: str, cert_path: str) -> None:
        self.default = default
        self._api_version = api_version
        self._cert_path = cert_path
        self._clients: dict[tuple[str | None, str], Docker] = {}

    def for_host(self, host_id: str | None, docker_host: str | None) -> Docker:
        if not docker_host:
            return self.default
        key = (host_id, docker_host)
        if key not in self._clients:
            self._clients[key] = self._client(host_id, docker_host)
        return self._clients[key]

    def _client(self, host_id: str | None, docker_host: str) -> Docker:
        address = urlsplit(docker_host)
        if address.scheme == "unix":
            return Docker(address.path, self._api_version)
        if address.scheme != "tcp":
            raise DockerError(f"host {host_id}: unsupported Docker endpoint {docker_host}")
        own = Path(self._cert_path, host_id) if self._cert_path and host_id else None
        cert_path = str(own) if own and own.is_dir() else self._cert_path
        try:
            return Docker("", self._api_version, host=docker_host, cert_path=cert_path)
        except (ValueError, OSError) as error:
            raise DockerError(f"host {host_id}: {error}") from None

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()
        await self.default.close()
