"""A stand-in gateway for the CLI's kubectl commands: a real HTTPS server (FastAPI on
uvicorn, in a thread) answering the few routes those commands use the way the gateway does,
with one cluster and tokens a test hands out. It counts the calls, so a test can tell a cached
token from a fresh one, and its Kubernetes API proxy only accepts the short-lived tokens it
issued, so kubectl itself can be run against it. HTTPS because kubectl sends no credentials,
exec plugin included, to a plain http:// server; clients trust it through SSL_CERT_FILE."""

import base64
import json
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import uvicorn
import yaml
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from pyk8s_cli.config import Config, Session
from pyk8s_kit import pki
from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import wait_until

EXEC_API_VERSION = "client.authentication.k8s.io/v1"


def fake_jwt(ttl_seconds: float) -> str:
    """Shaped like an access token (the CLI reads only `exp`); unsigned, for this double."""

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    claims = {"sub": "double", "exp": int(time.time() + ttl_seconds), "jti": uuid.uuid4().hex}
    return f"{part({'alg': 'ES256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def problem(status: int, code: str, detail: str) -> JSONResponse:
    body = {"status": status, "code": code, "detail": detail}
    return JSONResponse(body, status, media_type="application/problem+json")


def self_signed(folder: Path) -> tuple[Path, Path]:
    issued = pki.self_signed(timedelta(hours=1))
    return issued.write(folder / "gateway.crt", folder / "gateway.key")


class GatewayDouble:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        # What clients must trust (SSL_CERT_FILE for pyk8s, the kubeconfig for kubectl).
        self.certificate, key = self_signed(folder)
        self.cluster = {
            "id": str(uuid.uuid4()),
            "name": "demo",
            "team_id": str(uuid.uuid4()),
            "provider": "kwok",
            "status": "ready",
        }
        # token -> team role of its holder
        self.api_tokens: dict[str, str] = {}
        self.access_tokens: dict[str, str] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.access_ttl = 900.0
        self.calls: Counter[str] = Counter()
        # What kubectl sent to the Kubernetes API proxy.
        self.proxied: list[str] = []
        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            ssl_certfile=str(self.certificate),
            ssl_keyfile=str(key),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> "GatewayDouble":
        self.thread.start()
        wait_until(lambda: self.server.started, timeout=30)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)

    # tokens
    def api_token(self, role: str = "member") -> str:
        token = f"pyk8s_pat_{uuid.uuid4().hex}"
        self.api_tokens[token] = role
        return token

    def access_token(self, role: str, ttl: float | None = None) -> str:
        token = fake_jwt(self.access_ttl if ttl is None else ttl)
        self.access_tokens[token] = role
        return token

    def sign_in(self, config_path, role: str = "member", ttl: float | None = None) -> Session:
        """Store a login for this server in the CLI config at `config_path`, as `pyk8s
        login` would; its access token expires in `ttl` seconds."""
        refresh = f"pyk8s_rt_{uuid.uuid4().hex}"
        self.refresh_tokens[refresh] = role
        session = Session(self.access_token(role, ttl), refresh, "ada")
        Config.load(config_path).set_session(self.url, session)
        return session

    def role_of(self, request: Request) -> str | None:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        return self.api_tokens.get(token) or self.access_tokens.get(token)

    # the gateway's answers
    def exec_kubeconfig(self) -> str:
        name, cluster_id = f"pyk8s-{self.cluster['name']}", self.cluster["id"]
        plugin = {
            "apiVersion": EXEC_API_VERSION,
            "command": "pyk8s",
            "args": ["--server", self.url, "kube-credential", "--cluster", cluster_id],
            "interactiveMode": "Never",
        }
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": name,
                "clusters": [{"name": name, "cluster": self.kubernetes_api(cluster_id)}],
                "users": [{"name": name, "user": {"exec": plugin}}],
                "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
            }
        )

    def kubernetes_api(self, cluster_id: str) -> dict:
        authority = base64.b64encode(self.certificate.read_bytes()).decode()
        return {
            "server": f"{self.url}/k8s/clusters/{cluster_id}",
            "certificate-authority-data": authority,
        }

    def admin_kubeconfig(self) -> str:
        runtime = "kwok-demo"
        return yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": runtime,
                "clusters": [{"name": runtime, "cluster": {"server": "https://127.0.0.1:6443"}}],
                "users": [{"name": runtime, "user": {"client-key-data": "S0VZ"}}],
                "contexts": [{"name": runtime, "context": {"cluster": runtime, "user": runtime}}],
            }
        )

    def app(self) -> FastAPI:
        app = FastAPI()
        unauthorized = problem(401, "invalid_token", "the token is invalid or expired")

        @app.middleware("http")
        async def count(request: Request, call_next):
            self.calls[f"{request.method} {request.url.path}"] += 1
            return await call_next(request)

        @app.post("/api/v1/auth/access-token")
        async def access_token(request: Request):
            role = self.role_of(request)
            if role is None:
                return unauthorized
            token = self.access_token(role)
            expires = datetime.fromtimestamp(time.time() + self.access_ttl, UTC)
            return {"access_token": token, "expires_at": expires.isoformat()}

        @app.post("/api/v1/auth/refresh")
        async def refresh(request: Request):
            role = self.refresh_tokens.pop((await request.json())["refresh_token"], None)
            if role is None:
                return unauthorized
            renewed = f"pyk8s_rt_{uuid.uuid4().hex}"
            self.refresh_tokens[renewed] = role
            return {
                "access_token": self.access_token(role),
                "refresh_token": renewed,
                "token_type": "bearer",
                "expires_in": int(self.access_ttl),
            }

        @app.get("/api/v1/clusters")
        async def clusters(request: Request):
            if not self.role_of(request):
                return unauthorized
            return {"clusters": [self.cluster], "next_cursor": None}

        @app.get("/api/v1/clusters/{cluster_id}/kubeconfig")
        async def kubeconfig(cluster_id: str, request: Request):
            if self.role_of(request) is None:
                return unauthorized
            return {"cluster_id": cluster_id, "kubeconfig": self.exec_kubeconfig()}

        @app.get("/api/v1/clusters/{cluster_id}/kubeconfig/admin")
        async def admin_kubeconfig(cluster_id: str, request: Request):
            role = self.role_of(request)
            if role is None:
                return unauthorized
            if role not in ("admin", "owner"):
                return problem(403, "forbidden", "needs the admin role in the cluster's team")
            return {"cluster_id": cluster_id, "kubeconfig": self.admin_kubeconfig()}

        @app.get("/k8s/clusters/{cluster_id}/{path:path}")
        async def kubernetes(cluster_id: str, path: str, request: Request):
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            self.proxied.append(token)
            if token not in self.access_tokens:
                return JSONResponse({"kind": "Status", "code": 401}, 401)
            return {"major": "1", "minor": "34", "gitVersion": "v1.34.4"}

        return app
