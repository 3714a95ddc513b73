import os

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from pyk8s_contracts.auth import PASSWORD_REQUEST_TIMEOUT_SECONDS
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
    # Threads that hash and check passwords (see passwords.py): one per core uses them all;
    # more only makes each hash slower. Each hash in flight takes argon2_memory_kib.
    password_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    # A sign-up or login expected to wait longer than this for a worker is refused at once
    # (503, Retry-After) rather than left to time out at the caller.
    password_queue_seconds: float = Field(10.0, gt=0)
    # E-mail addresses of the platform admins, comma-separated: their access tokens carry the
    # platform-admin claim (Docker hosts: list, drain, undrain). Team roles cannot grant it.
    platform_admins: str = ""

    @property
    def platform_admin_emails(self) -> frozenset[str]:
        return frozenset(e.strip().lower() for e in self.platform_admins.split(",") if e.strip())

    # Addresses are checked for syntax only (internal domains such as lab.local welcome); set,
    # sign-up also asks DNS whether the address's domain takes mail.
    email_check_deliverability: bool = False

    @model_validator(mode="after")
    def _argon2_not_weakened_in_production(self) -> "AuthSettings":
        if not self.is_development and self.argon2_memory_kib < 19456:
            raise ValueError("AUTH_ARGON2_MEMORY_KIB below the OWASP minimum outside development")
        return self

    @model_validator(mode="after")
    def _queue_answers_before_the_caller_gives_up(self) -> "AuthSettings":
        # The other half is for the check itself and for the estimate of the wait to be off.
        if self.password_queue_seconds > PASSWORD_REQUEST_TIMEOUT_SECONDS / 2:
            raise ValueError(
                "AUTH_PASSWORD_QUEUE_SECONDS above half of how long callers wait "
                f"({PASSWORD_REQUEST_TIMEOUT_SECONDS:g} s)"
            )
        return self
