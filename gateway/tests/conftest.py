"""Fixtures for the Kubernetes API proxy's tests: a TLS Kubernetes API server test double, and
ready clusters whose stored admin kubeconfig points at it."""

import asyncio
import base64
import gzip
import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn
import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from pyk8s_contracts.common import utcnow
from pyk8s_kit import pki as certificates
from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import wait_until
from pyk8s_provisioner.crypto import KubeconfigBox
from pyk8s_provisioner.models import Cluster

# The subprotocols a kube-apiserver speaks for exec, attach and port-forward, in the order
# it prefers them.
STREAM_SUBPROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "SPDY/3.1+portforward.k8s.io")
LIFETIME = timedelta(days=1)
POD_LIST = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": []}


def pod_event(kind: str, name: str) -> bytes:
    pod = {"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name}}
    return json.dumps({"type": kind, "object": pod}).encode() + b"\n"


@dataclass
class Pki:
    """A CA of its own, a server certificate for 127.0.0.1 and a client certificate, in PEM."""

    ca: str
    server_certificate: str
    server_key: str
    client_certificate: str
    client_key: str

    @classmethod
    def make(cls) -> "Pki":
        ca = certificates.authority("test-double-ca", LIFETIME)
        server = certificates.issue(ca, "kube-apiserver", LIFETIME, ("127.0.0.1", "localhost"))
        client = certificates.issue(ca, "kubernetes-admin", LIFETIME)
        return cls(
            ca.certificate_pem(),
            server.certificate_pem(),
            server.key_pem(),
            client.certificate_pem(),
            client.key_pem(),
        )

    def write_server_files(self, folder: Path) -> dict[str, str]:
        """ca.pem, server.pem and server-key.pem in `folder`; their paths by name."""
        files = {
            "ca.pem": self.ca,
            "server.pem": self.server_certificate,
            "server-key.pem": self.server_key,
        }
        for name, text in files.items():
            (folder / name).write_text(text)
        return {name: str(folder / name) for name in files}


@dataclass
class Seen:
    """One request as the double received it: headers lower-cased, in order."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    # A WebSocket's offered subprotocols (the server's WebSocket layer takes their header).
    subprotocols: list[str]

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


@dataclass
class KubernetesApiDouble:
    """A TLS Kubernetes API server test double. Like kube-apiserver it requires a client
    certificate from its CA and serves a certificate for 127.0.0.1 from the same CA. It
    records each request's headers and serves: a pod list, a watch that sends one event and
    then waits for `release()` before the next, an echo of request bodies, a gzip-compressed
    answer for clients that accept it, and exec, attach and port-forward WebSockets that echo
    messages with the first subprotocol they know. These are refused in namespace `locked`
    with a 403 Status, and, as by kube-apiserver, without an upgrade with a 400 "Upgrade
    request required"."""

    folder: Path
    pki: Pki = field(default_factory=Pki.make)
    seen: list[Seen] = field(default_factory=list)
    pod_list = POD_LIST

    def __post_init__(self) -> None:
        self.port = free_port()
        self.server: uvicorn.Server | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True, name="kube-api-double")

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def admin_kubeconfig(self, server: str | None = None, foreign_ca: bool = False) -> str:
        """The kubeconfig a cluster CLI would write for this API server; with `foreign_ca`, a
        CA that did not sign its certificate."""

        def data(text: str) -> str:
            return base64.b64encode(text.encode()).decode()

        ca = Pki.make().ca if foreign_ca else self.pki.ca
        context = {"cluster": "double", "user": "double"}
        cluster = {"server": server or self.url, "certificate-authority-data": data(ca)}
        user = {
            "client-certificate-data": data(self.pki.client_certificate),
            "client-key-data": data(self.pki.client_key),
        }
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "double", "cluster": cluster}],
                "users": [{"name": "double", "user": user}],
                "contexts": [{"name": "double", "context": context}],
                "current-context": "double",
            }
        )

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def release(self) -> None:
        """Lets the waiting watch send its second event and end."""
        self.loop.call_soon_threadsafe(self._release.set)

    def _record(self, scope) -> None:
        headers = [(k.decode().lower(), v.decode()) for k, v in scope["headers"]]
        method = scope.get("method", "WEBSOCKET")
        query = scope["query_string"].decode()
        offered = list(scope.get("subprotocols", []))
        self.seen.append(Seen(method, scope["path"], query, headers, offered))

    async def _pods(self, request: Request) -> Response:
        self._record(request.scope)
        if request.query_params.get("watch") != "true":
            return JSONResponse(POD_LIST)

        async def events():
            yield pod_event("ADDED", "first")
            await self._release.wait()
            yield pod_event("ADDED", "second")

        return StreamingResponse(events(), media_type="application/json")

    async def _echo(self, request: Request) -> Response:
        self._record(request.scope)
        body = await request.body()
        return Response(body, status_code=201, media_type=request.headers.get("content-type"))

    async def _compressed(self, request: Request) -> Response:
        self._record(request.scope)
        body = json.dumps(POD_LIST).encode()
        if "gzip" not in request.headers.get("accept-encoding", ""):
            return Response(body, media_type="application/json")
        return Response(
            gzip.compress(body),
            media_type="application/json",
            headers={"Content-Encoding": "gzip"},
        )

    @staticmethod
    def _refusal(namespace: str) -> JSONResponse:
        if namespace == "locked":
            message, reason, code = 'pods "p" is forbidden: no "pods/exec"', "Forbidden", 403
        else:
            message, reason, code = "Upgrade request required", "BadRequest", 400
        status = {"kind": "Status", "apiVersion": "v1", "status": "Failure"}
        return JSONResponse({**status, "message": message, "reason": reason, "code": code}, code)

    async def _refuse_without_upgrade(self, request: Request) -> Response:
        self._record(request.scope)
        return self._refusal(request.path_params["namespace"])

    async def _exec(self, websocket: WebSocket) -> None:
        self._record(websocket.scope)
        if websocket.path_params["namespace"] == "locked":
            await websocket.send_denial_response(self._refusal("locked"))
            return
        offered = websocket.scope.get("subprotocols", [])
        chosen = next((p for p in STREAM_SUBPROTOCOLS if p in offered), None)
        await websocket.accept(subprotocol=chosen)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                if message.get("bytes") == b"\xffclose":
                    await websocket.close(4000, "closed by the API server")
                    return
                if message.get("bytes") is not None:
                    await websocket.send_bytes(message["bytes"])
                else:
                    await websocket.send_text(message["text"])
        except WebSocketDisconnect:
            return

    def _app(self) -> Starlette:
        pods = "/api/v1/namespaces/{namespace}/pods"
        return Starlette(
            routes=[
                Route(pods, self._pods),
                Route("/api/v1/namespaces/{namespace}/configmaps", self._echo, methods=["POST"]),
                Route("/openapi/v2", self._compressed),
                Route(pods + "/{name}/{stream}", self._refuse_without_upgrade, methods=["POST"]),
                WebSocketRoute(pods + "/{name}/{stream}", self._exec),
            ]
        )

    def _files(self) -> dict[str, str]:
        return self.pki.write_server_files(self.folder)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self._release = asyncio.Event()
        files = self._files()
        config = uvicorn.Config(
            self._app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ssl_certfile=files["server.pem"],
            ssl_keyfile=files["server-key.pem"],
            ssl_ca_certs=files["ca.pem"],
            ssl_cert_reqs=ssl.CERT_REQUIRED,
            # Like kube-apiserver, it takes port-forward's subprotocol, which has a '/'.
            ws="wsproto",
        )
        self.server = uvicorn.Server(config)
        self.loop.run_until_complete(self.server.serve())

    def start(self) -> "KubernetesApiDouble":
        self._thread.start()
        wait_until(lambda: self.server and self.server.started, timeout=30)
        return self

    def stop(self) -> None:
        if self.server:
            self.server.should_exit = True
            # A watch still waiting would hold the shutdown until its grace runs out.
            self.release()
        self._thread.join(15)


@pytest.fixture
def pki() -> Pki:
    """A CA with a server certificate for 127.0.0.1 and a client certificate, in PEM."""
    return Pki.make()


@pytest.fixture
def gateway_pki(tmp_path: Path) -> Path:
    """For a gateway serving HTTPS, as kubectl needs (it sends credentials to https:// servers
    only): a folder with a CA of the test's own and a certificate for 127.0.0.1 it signed."""
    folder = tmp_path / "gateway-tls"
    folder.mkdir()
    Pki.make().write_server_files(folder)
    return folder


@pytest.fixture
def kube_api(tmp_path: Path) -> Iterator[KubernetesApiDouble]:
    folder = tmp_path / "kube-api-double"
    folder.mkdir()
    double = KubernetesApiDouble(folder).start()
    yield double
    double.stop()


@pytest.fixture
def add_cluster(platform, kube_api):
    """`add_cluster(owner_id, team_id=None, status="ready", kubeconfig=None)` stores a cluster
    through the provisioner's own model, as the provisioner stores one that its CLI made, with
    the admin kubeconfig of the API server double (or `kubeconfig`); returns its id."""
    runtime = platform.runtimes["provisioner"]
    box = KubeconfigBox(runtime.settings.kubeconfig_key)

    def add(owner_id, team_id=None, status="ready", kubeconfig=None) -> str:
        cluster_id = uuid.uuid4()
        cluster = Cluster(
            id=cluster_id,
            name=f"c-{cluster_id.hex[:8]}",
            team_id=uuid.UUID(team_id) if team_id else None,
            owner_id=uuid.UUID(owner_id),
            provider="kind",
            workers=0,
            status=status,
            api_server=kube_api.url,
            runtime_name=f"r-{cluster_id.hex[:12]}",
            kubeconfig_encrypted=box.seal(kubeconfig or kube_api.admin_kubeconfig()),
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(hours=1),
        )

        async def store() -> None:
            async with runtime.db.session() as session:
                session.add(cluster)

        platform.run(store())
        return str(cluster_id)

    return add
