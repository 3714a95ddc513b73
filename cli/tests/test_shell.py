"""`cluster shell` as a real process on a pseudo-terminal: raw mode, the terminal size in the
hello, a resize on SIGWINCH, and the remote shell's exit code as the command's."""

import time
from collections.abc import Iterator

import pytest

from cli.tests.support import Pty, Users


@pytest.fixture
def users(platform, tmp_path) -> Iterator[Users]:
    made = Users(platform.url, tmp_path)
    yield made
    made.delete_clusters()


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
