"""Running a cluster CLI as a child process with a deadline."""

import asyncio
import contextlib
import ctypes
import logging
import os
import re
import signal
import tempfile
import typing
from collections.abc import Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ERROR_LINE = re.compile(r"^(ERROR|ERRO|FATA|Error)\b")
MAX_MESSAGE = 2000
PR_SET_PDEATHSIG = 1


class CliError(Exception):
    """The CLI failed, timed out or could not be started; the message is its own text."""


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str


def _die_with_parent() -> None:
    # A CLI left running by a provisioner that was killed would race the create that a
    # restarted provisioner resumes; it dies with us instead and the resume adopts or
    # recreates what it left.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def error_text(result: CliResult) -> str:
    """The CLI's own explanation: its error lines, else the end of what it printed."""
    text = ANSI.sub("", (result.stderr or "") + "\n" + (result.stdout or ""))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if ERROR_LINE.match(line)]
    chosen = errors or lines[-5:] or [f"exited with status {result.returncode}"]
    return "\n".join(chosen)[-MAX_MESSAGE:]


async def run_cli(
    argv: Sequence[str],
    timeout: float,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> CliResult:
    """Run to completion or kill the whole process group after `timeout` seconds; `stdin`
    is what the command reads on its standard input (nothing when None).

    The output goes to unnamed files, read once the CLI has exited: a CLI that starts daemons
    (kwokctl starts etcd, kube-apiserver and kwok) may leave them holding a copy of its output
    pipe, and reading a pipe to its end would then wait for the daemons, not for the CLI."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdout=stdout,
                stderr=stderr,
                stdin=asyncio.subprocess.DEVNULL if stdin is None else asyncio.subprocess.PIPE,
                start_new_session=True,
                preexec_fn=_die_with_parent,
                env={**os.environ, **(env or {})},
            )
        except FileNotFoundError:
            raise CliError(f"{argv[0]}: command not found") from None
        except PermissionError:
            raise CliError(f"{argv[0]}: permission denied") from None
        try:
            await asyncio.wait_for(_finish(process, stdin), timeout)
        except (TimeoutError, asyncio.CancelledError) as stop:
            _kill_group(process)
            await process.wait()
            if isinstance(stop, asyncio.CancelledError):
                raise
            raise CliError(
                f"{os.path.basename(argv[0])} did not finish within {timeout:.0f}s"
            ) from None
        return CliResult(process.returncode or 0, _text(stdout), _text(stderr))


async def _finish(process: asyncio.subprocess.Process, stdin: bytes | None) -> None:
    if stdin is not None:
        process.stdin.write(stdin)
        # A CLI that exits without reading all of it closes the pipe: that is its business.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            await process.stdin.drain()
        process.stdin.close()
    await process.wait()


def _text(output: typing.BinaryIO) -> str:
    output.seek(0)
    return output.read().decode(errors="replace")


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_checked(
    argv: Sequence[str],
    timeout: float,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
) -> CliResult:
    result = await run_cli(argv, timeout, env, stdin)
    if result.returncode != 0:
        raise CliError(error_text(result))
    return result
