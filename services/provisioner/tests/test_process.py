"""Running a cluster CLI: its output, its input and its deadline, on the event loop the
service runs (uvloop) and on asyncio's own."""

import asyncio
import time

import pytest
import uvloop

from pyk8s_provisioner.drivers.process import CliError, run_checked, run_cli

LOOPS = {"uvloop": uvloop.run, "asyncio": asyncio.run}


@pytest.fixture(params=sorted(LOOPS))
def run(request):
    return LOOPS[request.param]


def test_a_cli_that_leaves_a_daemon_behind_returns_when_it_exits(run):
    # kwokctl does this: its etcd, kube-apiserver and kwok outlive it, holding copies of
    # whatever it was given as output.
    argv = ["sh", "-c", "sleep 30 & echo started; echo warned >&2"]
    started = time.monotonic()
    result = run(run_cli(argv, timeout=10))
    assert (result.returncode, result.stdout, result.stderr) == (0, "started\n", "warned\n")
    assert time.monotonic() - started < 5


def test_input_reaches_the_cli_and_its_failure_is_its_own_words(run):
    result = run(run_cli(["sh", "-c", "tr a-z A-Z; exit 3"], timeout=10, stdin=b"kubeconfig"))
    assert (result.returncode, result.stdout) == (3, "KUBECONFIG")
    with pytest.raises(CliError, match=r"^no such cluster$"):
        run(run_checked(["sh", "-c", "echo 'no such cluster' >&2; exit 1"], timeout=10))


def test_a_cli_that_ignores_its_input_is_not_an_error(run):
    result = run(run_cli(["true"], timeout=10, stdin=b"x" * 1_000_000))
    assert result.returncode == 0


def test_a_cli_past_its_deadline_is_killed_with_its_children(run):
    argv = ["sh", "-c", "sleep 30 & sleep 30"]
    started = time.monotonic()
    with pytest.raises(CliError, match="did not finish within 1s"):
        run(run_cli(argv, timeout=1))
    assert time.monotonic() - started < 5
