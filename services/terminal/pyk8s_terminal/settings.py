from pydantic_settings import SettingsConfigDict

from pyk8s_kit.settings import ServiceSettings


class TerminalSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TERMINAL_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pyk8s_terminal"
    # The engine of clusters whose provisioner names none (from before Docker hosts), and the
    # one the readiness check pings. Every other session runs on the engine its cluster's
    # host announces (docker.Engines).
    docker_socket: str = "/var/run/docker.sock"
    # A remote engine instead of the socket: tcp://host:2376, with mutual TLS from the folder
    # in docker_cert_path (ca.pem, cert.pem, key.pem, as the Docker CLI's DOCKER_CERT_PATH).
    # Hosts' remote engines take theirs from docker_cert_path/<host id> when it exists.
    docker_host: str = ""
    docker_cert_path: str = ""
    # Oldest Engine API that has everything used here (Debian's docker.io 20.10 speaks 1.41).
    docker_api_version: str = "1.41"
    ticket_ttl_seconds: int = 30
    # Ends a session when neither keystrokes nor output acknowledgements arrive for this long.
    idle_timeout_seconds: float = 15 * 60
    max_session_seconds: float = 4 * 3600
    # Ends a session when its gateway has sent nothing, not even its ping (every 3 s), for this
    # long: the gateway that held the browser's socket is gone, and nobody else will close it.
    gateway_silence_seconds: float = 10.0
    max_sessions_per_user: int = 5
    max_sessions_per_cluster: int = 10
    # How often every live session's right to its cluster is asked again.
    recheck_interval_seconds: float = 5.0
    # Output flow control: bytes per NATS message, and unacknowledged bytes in flight.
    output_chunk_bytes: int = 16 * 1024
    output_window_bytes: int = 256 * 1024
    input_max_pending_bytes: int = 4 * 1024 * 1024
