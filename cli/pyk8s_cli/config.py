"""Credentials in the XDG config dir (`$XDG_CONFIG_HOME/pyk8s/credentials.json`, mode 0600).

Tokens are kept per server so that pointing the CLI at another server (`PYK8S_SERVER`)
never sends it the tokens of the first one."""

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs

APP_NAME = "pyk8s"
FILE_NAME = "credentials.json"
LOCK_NAME = ".credentials.lock"


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


@dataclass
class Session:
    access_token: str
    refresh_token: str | None = None
    username: str | None = None


@dataclass
class Config:
    current_server: str | None = None
    servers: dict[str, Session] = field(default_factory=dict)
    path: Path = field(default_factory=lambda: config_dir() / FILE_NAME)

    @classmethod
    def load(cls, path: Path | None = None) -> "Config":
        path = path or config_dir() / FILE_NAME
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(path=path)
        except (OSError, ValueError) as error:
            from .errors import CliError

            raise CliError(f"cannot read {path}: {error}") from None
        servers = {url: Session(**data) for url, data in raw.get("servers", {}).items()}
        return cls(current_server=raw.get("current_server"), servers=servers, path=path)

    def reload(self) -> None:
        """Read the file again: another pyk8s process may have stored a new pair since."""
        fresh = Config.load(self.path)
        self.current_server, self.servers = fresh.current_server, fresh.servers

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock that pyk8s processes take turns on to renew the stored login."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path.with_name(LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def session_for(self, server: str) -> Session | None:
        return self.servers.get(server)

    def set_session(self, server: str, session: Session) -> None:
        self.servers[server] = session
        self.current_server = server
        self.save()

    def forget(self, server: str) -> None:
        self.servers.pop(server, None)
        self.save()

    def save(self) -> None:
        data = {
            "current_server": self.current_server,
            "servers": {url: asdict(s) for url, s in self.servers.items()},
        }
        write_private(self.path, json.dumps(data, indent=2) + "\n")


def write_private(path: Path, text: str) -> None:
    """Write atomically with mode 0600 (the file never exists with wider permissions)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
