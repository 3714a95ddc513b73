"""Run the `pyk8s` CLI in-process (click's CliRunner) against the real running platform,
each person with their own HOME and config directory."""

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from pyk8s_cli.main import cli

PASSWORD = "correct horse battery"


@dataclass
class CliUser:
    home: Path
    server: str
    username: str = ""

    def run(
        self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None
    ) -> Result:
        environment = {
            "HOME": str(self.home),
            "XDG_CONFIG_HOME": str(self.home / ".config"),
            "PYK8S_SERVER": self.server,
            "PYK8S_TOKEN": None,
            "PYK8S_OUTPUT": None,
            "PYK8S_PASSWORD": None,
            "KUBECONFIG": None,
            **(env or {}),
        }
        return CliRunner().invoke(
            cli, list(args), input=input, env=environment, prog_name="pyk8s", catch_exceptions=False
        )

    def ok(self, *args: str, **kw: Any) -> Result:
        result = self.run(*args, **kw)
        assert result.exit_code == 0, (args, result.exit_code, result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "-o", "json").stdout)

    def signup(self, username: str) -> "CliUser":
        self.ok(
            "signup",
            "--username",
            username,
            "--email",
            f"{username}@example.com",
            "--password",
            PASSWORD,
        )
        self.username = username
        return self

    @property
    def credentials(self) -> Path:
        return self.home / ".config" / "pyk8s" / "credentials.json"


class Users:
    """`users.new(name)` makes a person with a fresh HOME; `users.signed_up(name)` also signs up."""

    def __init__(self, server: str, root: Path) -> None:
        self.server, self.root = server, root
        self.made: list[CliUser] = []

    def new(self, name: str) -> CliUser:
        home = self.root / name
        home.mkdir()
        self.made.append(CliUser(home, self.server))
        return self.made[-1]

    def delete_clusters(self) -> None:
        """Delete, through the CLI, every cluster the test left, so that no node container
        outlives the test."""
        for user in self.made:
            listed = user.run("cluster", "list", "-o", "json")
            if listed.exit_code != 0:
                continue
            for cluster in json.loads(listed.stdout):
                if cluster["status"] not in ("deleted", "deleting"):
                    user.run(
                        "cluster", "delete", cluster["id"], "--yes", "--wait", "--timeout", "120"
                    )

    def signed_up(self, name: str) -> CliUser:
        return self.new(name).signup(name)


def fails(result: Result, exit_code: int, *words: str) -> str:
    """The one error line of a failed command, checked for its exit code and words."""
    assert result.exit_code == exit_code, (result.exit_code, result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    # Progress lines may come first; the error is one line, and the last.
    assert len(errors) == 1 and lines[-1] == errors[0], result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word.lower() in errors[0].lower(), (word, errors[0])
    return errors[0]


def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Pty:
    """`pyk8s` as a real process on a pseudo-terminal, as a person runs it."""

    def __init__(self, user, *args: str, rows: int, cols: int) -> None:
        self.master, slave = pty.openpty()
        set_size(slave, rows, cols)
        env = {
            **os.environ,
            "HOME": str(user.home),
            "PYK8S_SERVER": user.server,
            "XDG_CONFIG_HOME": str(user.home / ".config"),
        }
        env.pop("PYK8S_TOKEN", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyk8s_cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.seen = b""

    def expect(self, text: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{text!r} not seen; output so far: {self.seen!r}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    self.seen += os.read(self.master, 4096)
                except OSError:  # the process ended and closed the terminal
                    assert text.encode() in self.seen, self.seen
                    return

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def resize(self, rows: int, cols: int) -> None:
        set_size(self.master, rows, cols)
        self.proc.send_signal(signal.SIGWINCH)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        os.close(self.master)
