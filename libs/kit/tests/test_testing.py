"""The test plugin's PYK8S_REQUIRE_ALL switch: with it a skip fails, without it a skip stays a
skip; expected failures (xfail) are left alone either way."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyk8s_kit.testing import REQUIRE_ALL

SUITE = """
import pytest

pytest.importorskip("a_module_nobody_has") if "{module_skip}" == "yes" else None


def test_runs():
    pass


def test_skips():
    pytest.skip("no engine here")


@pytest.mark.skipif(True, reason="marked away")
def test_marked():
    pass


@pytest.fixture
def engine():
    pytest.skip("fixture found no engine")


def test_needs_engine(engine):
    pass


@pytest.mark.xfail(reason="known bug", strict=True)
def test_known_bug():
    assert False
"""


def run_suite(folder: Path, require_all: str | None, module_skip: str = "no") -> str:
    (folder / "test_suite.py").write_text(SUITE.format(module_skip=module_skip))
    (folder / "pytest.ini").write_text("[pytest]\n")
    env = {key: value for key, value in os.environ.items() if key != REQUIRE_ALL}
    if require_all is not None:
        env[REQUIRE_ALL] = require_all
    plugins = ["-p", "pyk8s_kit.testing", "-p", "no:cacheprovider"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *plugins, "-rA", "-q", str(folder)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout


@pytest.mark.parametrize("require_all", [None, "0"])
def test_skips_stay_skips_on_a_developer_machine(tmp_path: Path, require_all: str | None):
    summary = run_suite(tmp_path, require_all).splitlines()[-1]
    assert "1 passed, 3 skipped, 1 xfailed" in summary, summary


def test_in_ci_every_skip_fails_with_its_reason(tmp_path: Path):
    output = run_suite(tmp_path, "1")
    # A skip in the test's set-up (a mark, a fixture) is an error, in its body a failure.
    assert "1 failed, 1 passed, 1 xfailed, 2 errors" in output.splitlines()[-1], output
    for reason in ("no engine here", "marked away", "fixture found no engine"):
        assert f"{REQUIRE_ALL}=1 requires every test to run: Skipped: {reason}" in output, output


def test_in_ci_a_skipped_module_is_an_error(tmp_path: Path):
    output = run_suite(tmp_path, "1", module_skip="yes")
    assert "1 error" in output.splitlines()[-1], output
    assert "a_module_nobody_has" in output, output
