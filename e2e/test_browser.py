"""Browser check: the built web app, served by the real gateway in front of every real
service, driven in headless Chromium by e2e/dashboard.mjs (playwright-core, Debian's
chromium). Saves artifacts/e2e-dashboard.png."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"
DIST = WEB / "dist"
SCRIPT = ROOT / "e2e" / "dashboard.mjs"
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


@pytest.mark.timeout(300)
def test_sign_up_and_see_the_dashboard_in_chromium(platform) -> None:
    started = time.time()
    env = {**os.environ, "E2E_BASE_URL": platform.url, "E2E_ARTIFACTS": str(ARTIFACTS),
           "CHROMIUM_PATH": CHROMIUM}
    run = subprocess.run(["node", str(SCRIPT)], env=env, capture_output=True, text=True,
                         timeout=240, cwd=ROOT)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "PASS" in run.stdout, output
    screenshot = ARTIFACTS / "e2e-dashboard.png"
    assert screenshot.is_file(), output
    assert screenshot.stat().st_mtime >= started - 1
    assert screenshot.stat().st_size > 10_000  # a rendered page, not a blank image
