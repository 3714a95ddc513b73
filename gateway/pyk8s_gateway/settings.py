from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pyk8s_contracts.subjects import ALL_SERVICES

DEFAULT_WEB_DIST = Path(__file__).resolve().parents[2] / "web" / "dist"


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    environment: str = "development"
    # One server, or every node of a cluster separated by commas.
    nats_url: str = "nats://127.0.0.1:4222"
    # Replicas of the stream-ticket bucket, which the gateway owns: 1 on a single server, 3 on
    # a cluster of three or more nodes.
    nats_stream_replicas: int = Field(1, ge=1, le=5)
    # The gateway's nkey seed file (see pyk8s_kit.natsauth); NATS admits nobody without one.
    nats_credentials: str = ""
    # CA bundle to verify the NATS server's certificate (tls:// URLs); empty: system CAs.
    nats_tls_ca: str = ""
    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    web_dist: Path = DEFAULT_WEB_DIST
    # Serve HTTPS with this certificate and key (PEM files) instead of plain HTTP; unset when
    # a TLS proxy in front serves it. kubectl sends no credentials to an http:// server.
    tls_cert_file: str = ""
    tls_key_file: str = ""
    # Where browsers and kubectl reach the gateway (scheme://host[:port]), the first one in the
    # kubeconfigs it hands out, e.g. https://lab.example.com. Empty: http(s)://127.0.0.1:<port>
    # and http(s)://localhost:<port>, for development.
    public_origins: list[str] = []
    # PEM file of the CA that signed the certificate served at the first public origin, put in
    # the kubeconfigs the gateway hands out; empty: kubectl trusts its system CAs.
    public_ca_file: str = ""
    # Origins allowed to open the terminal WebSocket besides the public ones.
    allowed_origins: list[str] = []
    # How many reverse proxies in front of us append to X-Forwarded-For (0: trust none).
    trusted_proxy_hops: int = 0
    api_token_cache_seconds: float = 30.0
    # An idle kept-alive connection is closed after this many seconds. A client that sends its
    # next request on it just as the server closes it gets "connection reset by peer", so the
    # server waits longer than clients pause between requests: browsers, proxies (often 60 s)
    # and the load test's users (uvicorn's own 5 s dropped one request in 4,576 of bench/load.py).
    keep_alive_seconds: int = Field(75, ge=1)
    # Event streams and terminals never finish on their own: on shutdown they get this long.
    shutdown_grace_seconds: float = 5.0
    # Services that must answer a ping for /health/ready to pass.
    required_services: list[str] = list(ALL_SERVICES)

    @model_validator(mode="after")
    def _checks(self) -> "GatewaySettings":
        if self.environment not in ("development", "test") and "*" in self.allowed_origins:
            raise ValueError("GATEWAY_ALLOWED_ORIGINS may not be '*' outside development")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ValueError("set both GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE, or neither")
        return self

    def uvicorn_options(self) -> dict[str, str | int | None]:
        """What uvicorn needs beyond host and port: HTTPS when a certificate is set, the
        keep-alive, and wsproto for WebSockets, which takes subprotocols as clients send them;
        `websockets` refuses kubectl port-forward's `SPDY/3.1+portforward.k8s.io` (a '/' is not
        a token). No `server` header: it would name our software and its version to anyone
        asking, and it is one more header to write on every answer."""
        return {
            "timeout_keep_alive": self.keep_alive_seconds,
            "server_header": False,
            "ssl_certfile": self.tls_cert_file or None,
            "ssl_keyfile": self.tls_key_file or None,
            "ws": "wsproto",
        }

    def public_ca(self) -> str | None:
        return Path(self.public_ca_file).read_text() if self.public_ca_file else None

    def public_urls(self) -> list[str]:
        """Where people reach the gateway. Never derived from a request's Host header: a
        DNS-rebinding page, or anyone who sends a request, controls that."""
        scheme = "https" if self.tls_cert_file else "http"
        return self.public_origins or [
            f"{scheme}://127.0.0.1:{self.port}",
            f"{scheme}://localhost:{self.port}",
        ]

    def trusted_origins(self) -> set[str]:
        """The origins a browser page may open the terminal from."""
        return {
            origin.rstrip("/").lower() for origin in [*self.public_urls(), *self.allowed_origins]
        }
