"""A create through the whole platform with the real kind and k3d CLIs: no node image can be
pulled here, so the cluster ends `failed` with the CLI's own message, within the deadline."""

import shutil
import subprocess
import time
from pathlib import Path
from uuid import UUID

import pytest

from pyk8s_kit.testing import wait_until
from pyk8s_provisioner.models import Cluster

ROOT = Path(__file__).resolve().parents[2]


def real(tool: str) -> str | None:
    built = ROOT / ".tools" / "bin" / tool
    return str(built) if built.exists() else shutil.which(tool)


KIND, K3D = real("kind"), real("k3d")
WAIT_SECONDS = 60


@pytest.fixture
def platform_overrides():
    overrides = {"cli_wait_seconds": WAIT_SECONDS, "cli_grace_seconds": 30}
    if KIND:
        overrides["kind_bin"] = KIND
    if K3D:
        overrides["k3d_bin"] = K3D
    return {"provisioner": overrides}


@pytest.mark.parametrize("provider, binary", [("kind", KIND), ("k3d", K3D)])
def test_a_real_create_ends_failed_with_the_cli_message(platform, person, provider, binary):
    if binary is None:
        pytest.skip(
            f"the real {provider} CLI is not installed: run scripts/install-cluster-tools.sh"
        )
    ada = person()
    started = time.monotonic()
    cluster = ada.post("/clusters", json={"name": "real", "provider": provider}).json()

    def settled():
        current = ada.get(f"/clusters/{cluster['id']}").json()
        return current if current["status"] in ("failed", "ready") else None

    failed = wait_until(settled, timeout=WAIT_SECONDS + 30, interval=0.2)
    elapsed = time.monotonic() - started
    print(f"real {provider}: failed after {elapsed:.1f}s")
    assert failed["status"] == "failed"
    assert "pull" in failed["status_message"].lower()
    assert failed["status_message"].startswith(("ERROR", "ERRO", "FATA"))
    assert ada.delete(f"/clusters/{cluster['id']}").status_code == 202
    wait_until(
        lambda: ada.get(f"/clusters/{cluster['id']}").json()["status"] == "deleted",
        timeout=60,
        interval=0.2,
    )
    if provider == "k3d":
        # k3d's own rollback leaves the cluster network behind when the pull fails; the
        # provisioner removes it.
        async def runtime_name():
            async with platform.runtimes["provisioner"].db.session() as session:
                return (await session.get(Cluster, UUID(cluster["id"]))).runtime_name

        name = platform.run(runtime_name())
        networks = subprocess.run(
            ["docker", "network", "ls", "--format", "{{.Name}}"],
            capture_output=True,
            check=True,
            text=True,
        ).stdout.split()
        assert f"k3d-{name}" not in networks
