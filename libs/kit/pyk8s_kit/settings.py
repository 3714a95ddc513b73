"""Settings base: every value comes from the environment, with an env prefix per service."""

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PYK8S_", extra="ignore")

    environment: str = "development"
    # One server, or every node of a cluster separated by commas.
    nats_url: str = "nats://127.0.0.1:4222"
    # Replicas of the JetStream streams this service owns: 1 on a single server, 3 on a
    # cluster of three or more nodes (JetStream allows at most 5).
    nats_stream_replicas: int = Field(1, ge=1, le=5)
    # This component's nkey seed file (see pyk8s_kit.natsauth); NATS admits nobody without one.
    nats_credentials: str = ""
    # CA bundle to verify the NATS server's certificate (tls:// URLs); empty: system CAs.
    nats_tls_ca: str = ""
    database_url: str = ""
    health_host: str = "127.0.0.1"
    # 0 disables the probe server (tests run several services in one process).
    health_port: int = 0
    log_level: str = "INFO"
    db_pool_size: int = 10

    @model_validator(mode="after")
    def _database_url_is_async(self) -> "ServiceSettings":
        if self.database_url.startswith("postgresql://"):
            self.database_url = self.database_url.replace(
                "postgresql://", "postgresql+asyncpg://", 1
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "test")
