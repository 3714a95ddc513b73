"""Fixtures for the provisioner's tests: the kind/k3d test doubles, Docker look-ups, and
removal of every runtime cluster a test made."""

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DOUBLES = Path(__file__).parent / "doubles"
KIND_DOUBLE = str(DOUBLES / "kind_double")
K3D_DOUBLE = str(DOUBLES / "k3d_double")
LABELS = {"kind": "io.x-k8s.kind.cluster", "k3d": "k3d.cluster"}


def docker_ready() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def containers(provider: str, runtime_name: str) -> list[str]:
    """Names of the Docker containers labelled as nodes of that runtime cluster."""
    out = subprocess.run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"label={LABELS[provider]}={runtime_name}",
            "--format",
            "{{.Names}}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted(line for line in out.splitlines() if line)


def remove_container(name: str) -> None:
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=True)


def remove_runtime(provider: str, runtime_name: str) -> None:
    names = containers(provider, runtime_name)
    if names:
        subprocess.run(["docker", "rm", "-f", *names], capture_output=True, check=False)


@pytest.fixture(autouse=True, scope="session")
def _docker() -> None:
    if not docker_ready():
        pytest.skip("no Docker engine answers (run scripts/ensure-docker.sh)")


@pytest.fixture
def runtime_name() -> Iterator:
    """`runtime_name()` gives a fresh runtime cluster name; its containers are removed after
    the test whichever provider made them."""
    made: list[str] = []

    def make() -> str:
        name = f"t-{uuid.uuid4().hex[:10]}"
        made.append(name)
        return name

    yield make
    for name in made:
        for provider in LABELS:
            remove_runtime(provider, name)
        # A real k3d create that fails to pull can leave its network behind.
        subprocess.run(["docker", "network", "rm", f"k3d-{name}"], capture_output=True, check=False)


def announced_hosts_double(settings, drivers, memory_bytes: int = 64 * 1024**3):
    """Test double of the hosts bucket's reader: this machine announcing itself as
    `settings.host_id`, with every provider its drivers offer here."""
    from pyk8s_contracts.common import utcnow
    from pyk8s_contracts.hosts import HostAnnouncement
    from pyk8s_provisioner.hosts import offered

    async def announced() -> dict:
        providers = [await offered(provider, driver) for provider, driver in drivers.items()]
        announcement = HostAnnouncement(
            host_id=settings.host_id,
            docker_host="unix:///var/run/docker.sock",
            max_clusters=settings.host_max_clusters,
            memory_bytes=memory_bytes,
            providers=providers,
            clusters=0,
            announced_at=utcnow(),
        )
        return {announcement.host_id: announcement}

    return announced
