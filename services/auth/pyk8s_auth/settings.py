from pydantic import model_validator
from pydantic_settings import SettingsConfigDict

from pyk8s_kit.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pyk8s_auth"
    jwt_issuer: str = "pyk8s-lab"
    jwt_audience: str = "pyk8s-lab-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_days: int = 30
    # Login throttling (the rule is AuthService.login). Failures of a (login, client) pair are
    # forgotten once the pair has been quiet for the window.
    login_window_seconds: int = 15 * 60
    # A pair may fail this many times in a row; then it waits first_delay before its next
    # attempt is checked, twice as long after each further failure.
    login_pair_free_failures: int = 3
    login_pair_max_delay_seconds: float = 300.0
    # After this many failures of one login from all clients together, every client waits
    # too (one new to the login once), growing to the cap: slowed, never locked.
    login_account_free_failures: int = 100
    login_account_max_delay_seconds: float = 30.0
    login_first_delay_seconds: float = 1.0
    # Failures of one client across all logins (password spraying) refuse it for the window.
    login_max_failures_per_client: int = 30
    # OWASP password storage cheat sheet, argon2id: m=19 MiB, t=2, p=1.
    argon2_memory_kib: int = 19456
    argon2_time_cost: int = 2
    argon2_parallelism: int = 1

    @model_validator(mode="after")
    def _argon2_not_weakened_in_production(self) -> "AuthSettings":
        if not self.is_development and self.argon2_memory_kib < 19456:
            raise ValueError("AUTH_ARGON2_MEMORY_KIB below the OWASP minimum outside development")
        return self
