from pydantic import Field
from pydantic_settings import SettingsConfigDict

from pyk8s_kit.settings import ServiceSettings

WEEK = 7 * 24 * 3600


class TeamsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TEAMS_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pyk8s_teams"
    invitation_ttl_seconds: int = Field(default=WEEK, ge=60)
    # How long to wait for the auth service and the provisioner to answer.
    peer_timeout_seconds: float = 5.0
    # Invitation addresses are checked for syntax only (internal domains such as lab.local
    # welcome); set, DNS is also asked whether the address's domain takes mail.
    email_check_deliverability: bool = False
