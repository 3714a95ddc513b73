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
    # Where browsers reach the gateway (scheme://host[:port]), e.g. https://lab.example.com.
    # Empty: http://127.0.0.1:<port> and http://localhost:<port>, for development.
    public_origins: list[str] = []
    # Origins allowed to open the terminal WebSocket besides the public ones.
    allowed_origins: list[str] = []
    # How many reverse proxies in front of us append to X-Forwarded-For (0: trust none).
    trusted_proxy_hops: int = 0
    api_token_cache_seconds: float = 30.0
    # Event streams and terminals never finish on their own: on shutdown they get this long.
    shutdown_grace_seconds: float = 5.0
    # Services that must answer a ping for /health/ready to pass.
    required_services: list[str] = list(ALL_SERVICES)

    @model_validator(mode="after")
    def _origins_in_production(self) -> "GatewaySettings":
        if self.environment not in ("development", "test") and "*" in self.allowed_origins:
            raise ValueError("GATEWAY_ALLOWED_ORIGINS may not be '*' outside development")
        return self

    def trusted_origins(self) -> set[str]:
        """The origins a browser page may open the terminal from. Never derived from the
        request's Host header: a DNS-rebinding page controls that."""
        public = self.public_origins or [
            f"http://127.0.0.1:{self.port}",
            f"http://localhost:{self.port}",
        ]
        return {origin.rstrip("/").lower() for origin in [*public, *self.allowed_origins]}
