"""Browser checks: the built web app, served by the real gateway in front of every real
service, driven in headless Chromium (playwright-core, Debian's chromium) by the node
scripts next to this file. Screenshots land in artifacts/ (e2e-dashboard.png first; the
main pages at desktop, 390 px and dark in artifacts/screenshots/)."""

import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
DIST = WEB / "dist"
E2E = ROOT / "e2e"
ARTIFACTS = ROOT / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def missing_prerequisite() -> str | None:
    if not (DIST / "index.html").is_file():
        return "web/dist is not built: run `cd web && npm ci && npm run build`"
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        return "web/node_modules is missing: run `cd web && npm ci`"
    if shutil.which("node") is None:
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"chromium is not installed at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture
def platform_overrides() -> dict:
    reason = missing_prerequisite()
    if reason:
        pytest.skip(reason)
    return {"gateway": {"web_dist": DIST}}


def docker_ready() -> bool:
    return (
        shutil.which("docker") is not None
        and subprocess.run(["docker", "info"], check=False, capture_output=True).returncode == 0
    )


def remove_node_containers(cluster: str) -> None:
    """Nodes the run left behind if it stopped before deleting its cluster (the runtime
    name is the cluster's name plus a scope suffix)."""
    listing = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            "label=io.x-k8s.kind.cluster",
            "--format",
            '{{.Names}}\t{{.Label "io.x-k8s.kind.cluster"}}',
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    names = [
        line.split("\t")[0]
        for line in listing.stdout.splitlines()
        if line.split("\t")[-1].startswith(f"{cluster}-")
    ]
    if names:
        subprocess.run(["docker", "rm", "-f", *names], check=False, capture_output=True)


def run_script(name: str, base_url: str, **extra_env: str) -> str:
    env = {
        **os.environ,
        "E2E_BASE_URL": base_url,
        "E2E_ARTIFACTS": str(ARTIFACTS),
        "CHROMIUM_PATH": CHROMIUM,
        **extra_env,
    }
    run = subprocess.run(
        ["node", str(E2E / name)],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=270,
        cwd=ROOT,
    )
    output = run.stdout + run.stderr
    print(output)  # the steps and their timings, shown with -rP or on failure
    assert run.returncode == 0, output
    assert "PASS" in run.stdout, output
    return output


@pytest.mark.timeout(300)
def test_sign_up_and_see_the_dashboard_in_chromium(platform) -> None:
    started = time.time()
    output = run_script("dashboard.mjs", platform.url)
    screenshot = ARTIFACTS / "e2e-dashboard.png"
    assert screenshot.is_file(), output
    assert screenshot.stat().st_mtime >= started - 1
    assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank image


SCREENS = ("login", "clusters", "team", "teams", "cluster")


@pytest.mark.timeout(300)
def test_main_pages_at_desktop_narrow_and_dark_in_chromium(platform) -> None:
    """Every main page at 1280 px, 390 px and with a dark system theme, each checked for what
    that layout breaks (columns off screen, no user, light page in dark mode, low contrast)."""
    started = time.time()
    cluster = f"scr{uuid.uuid4().hex[:6]}"
    try:
        output = run_script("screens.mjs", platform.url, E2E_CLUSTER_NAME=cluster)
    finally:
        remove_node_containers(cluster)
    for mode in ("desktop", "narrow", "dark"):
        for name in SCREENS:
            screenshot = ARTIFACTS / "screenshots" / f"{mode}-{name}.png"
            assert screenshot.is_file(), (screenshot, output)
            assert screenshot.stat().st_mtime >= started - 1, (screenshot, output)


@pytest.mark.timeout(300)
def test_team_workflow_in_chromium(platform) -> None:
    """Sign up twice, team, invite, accept, team cluster ready live, terminal, delete."""
    if not docker_ready():
        pytest.skip(
            "no Docker engine answers: the cluster nodes and the terminal need one "
            "(scripts/ensure-docker.sh)"
        )
    started = time.time()
    cluster = f"e2e{uuid.uuid4().hex[:6]}"
    try:
        output = run_script("workflow.mjs", platform.url, E2E_CLUSTER_NAME=cluster)
    finally:
        remove_node_containers(cluster)
    for name in ("e2e-workflow-dashboard.png", "e2e-terminal.png"):
        screenshot = ARTIFACTS / name
        assert screenshot.is_file() and screenshot.stat().st_mtime >= started - 1, output
