"""Gateway process: FastAPI app under /api/v1, the clusters' Kubernetes APIs under /k8s, the
web app at /, probes at /health."""

import logging
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI

from pyk8s_contracts.identities import GATEWAY
from pyk8s_kit import natsauth
from pyk8s_kit.logs import setup_logging

from . import problems, stream_tickets
from .headers import SecurityHeaders, api_docs
from .kube_upstream import Upstreams
from .routers import (
    auth,
    clusters,
    events,
    health,
    hosts,
    invitations,
    kubernetes,
    providers,
    teams,
    terminal,
)
from .security import TokenVerifier
from .settings import GatewaySettings
from .web import mount_web

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


API_ROUTERS = (
    # FastAPI tries routes in order, each with a regular expression and some bookkeeping: the
    # reads every page makes (clusters, teams) come first (docs/performance.md).
    clusters.router,
    teams.router,
    auth.router,
    terminal.router,
    invitations.router,
    hosts.router,
    providers.router,
    events.router,
)


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.nc = await natsauth.connect(
            settings.nats_url, GATEWAY, settings.nats_credentials, tls_ca=settings.nats_tls_ca
        )
        app.state.verifier = TokenVerifier(app.state.nc, settings.api_token_cache_seconds)
        await app.state.verifier.start()
        app.state.stream_tickets = await stream_tickets.ticket_bucket(
            app.state.nc.jetstream(), settings.nats_stream_replicas
        )
        app.state.kube_upstreams = Upstreams()
        app.state.public_ca = settings.public_ca()
        try:
            yield
        finally:
            await app.state.kube_upstreams.aclose()
            await app.state.nc.drain()

    app = FastAPI(
        title="PyK8s-Lab API",
        version="0.1.0",
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        # The platform exports no OpenTelemetry; left on, FastAPI would look the global
        # providers up (and read the environment) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.add_middleware(SecurityHeaders, trusted_proxy_hops=settings.trusted_proxy_hops)
    app.add_api_route(f"{API_PREFIX}/docs", api_docs, include_in_schema=False)
    problems.install(app)
    app.include_router(health.router)
    # Each included straight into the app, not through an /api/v1 router: FastAPI walks every
    # level of included routers on every request.
    for router in API_ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(terminal.ws_router)
    app.include_router(kubernetes.router)
    mount_web(app, settings.web_dist)
    return app


def main() -> None:
    settings = GatewaySettings()
    setup_logging(settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Logging is set up above, with the access log's query strings redacted; uvicorn's
        # own configuration would replace it.
        log_config=None,
        proxy_headers=False,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        **settings.uvicorn_options(),
    )
