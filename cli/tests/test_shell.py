"""`cluster shell` as a real process on a pseudo-terminal: raw mode, the terminal size in the
hello, a resize on SIGWINCH, and the remote shell's exit code as the command's."""

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator

import pytest

from cli.tests.support import Users, has_routes
from conftest import SERVICES

pytestmark = pytest.mark.skipif(
    not has_routes("POST /clusters/{cluster_id}/terminal", "POST /clusters")
    or "terminal" not in {spec.name for spec in SERVICES},
    reason="the platform has no terminal service yet")


@pytest.fixture
def users(platform, tmp_path) -> Iterator[Users]:
    made = Users(platform.url, tmp_path)
    yield made
    made.delete_clusters()


def set_size(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


class Pty:
    def __init__(self, user, *args: str, rows: int, cols: int) -> None:
        self.master, slave = pty.openpty()
        set_size(slave, rows, cols)
        env = {**os.environ, "HOME": str(user.home), "PYK8S_SERVER": user.server,
               "XDG_CONFIG_HOME": str(user.home / ".config")}
        env.pop("PYK8S_TOKEN", None)
        self.proc = subprocess.Popen([sys.executable, "-m", "pyk8s_cli", *args], stdin=slave,
                                     stdout=slave, stderr=slave, env=env, start_new_session=True)
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


def test_shell_runs_commands_follows_resizes_and_returns_the_exit_code(users):
    ada = users.signed_up("ada")
    ada.ok("cluster", "create", "demo", "--wait", "--timeout", "120")
    shell = Pty(ada, "cluster", "shell", "demo", rows=30, cols=100)
    try:
        # The expected texts differ from the typed commands, so the echo never matches them.
        shell.send("echo marker-$((6*7))\r")
        shell.expect("marker-42")
        shell.send("echo size-$(stty size | tr ' ' x)\r")
        shell.expect("size-30x100")
        shell.resize(40, 120)
        deadline = time.monotonic() + 15
        while b"size-40x120" not in shell.seen:
            assert time.monotonic() < deadline, shell.seen
            shell.send("echo size-$(stty size | tr ' ' x)\r")  # the resize may land later
            try:
                shell.expect("size-40x120", timeout=2)
            except AssertionError:
                pass
        shell.send("exit 7\r")
        assert shell.proc.wait(30) == 7
    finally:
        shell.close()


def test_shell_needs_a_terminal_and_a_visible_cluster(users):
    ada, eve = users.signed_up("ada"), users.signed_up("eve")
    ada.ok("cluster", "create", "demo", "--wait", "--timeout", "120")
    assert ada.run("cluster", "shell", "demo").exit_code == 2  # stdin is not a terminal
    result = eve.run("cluster", "shell", "demo")
    assert result.exit_code == 4 and "no cluster named 'demo'" in result.stderr
