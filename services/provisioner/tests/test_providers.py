"""What each driver says its provider offers here: the kind and k3d test doubles answer
`kind version` / `k3d version` as the real CLIs do; versions come from the local Docker
engine's node images, or from the configured list; the default is always offered."""

import random
import subprocess

import pytest

from pyk8s_contracts.clusters import Provider
from pyk8s_provisioner.drivers import K3dDriver, KindDriver, Timeouts, Unavailable
from pyk8s_provisioner.settings import ProvisionerSettings

from .conftest import K3D_DOUBLE, KIND_DOUBLE

TIMEOUTS = Timeouts(wait_seconds=60, grace_seconds=30, short_seconds=60)
BASE_IMAGE = "pyk8s-lab/node:local"


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], capture_output=True, check=True)


@pytest.fixture
def node_image_tag():
    """Tags the local node image as `repository:<tag>` for one test (a version no other test
    uses), and removes the tag after."""
    made = []

    def tag(repository: str, make_tag) -> str:
        version = f"v1.{random.randint(40, 99)}.{random.randint(0, 99)}"
        docker("tag", BASE_IMAGE, f"{repository}:{make_tag(version)}")
        made.append(f"{repository}:{make_tag(version)}")
        return version

    yield tag
    for image in made:
        subprocess.run(["docker", "image", "rm", image], capture_output=True, check=False)


async def test_kind_offers_its_default_from_its_binary_and_says_its_version():
    offer = await KindDriver(KIND_DOUBLE, TIMEOUTS).describe()
    assert offer.provider == Provider.KIND
    assert offer.available and offer.reason is None
    assert offer.cli_version == "v0.30.0"
    assert offer.default_version == "v1.34.0"
    assert "v1.34.0" in offer.versions


async def test_k3d_offers_the_default_its_version_names():
    offer = await K3dDriver(K3D_DOUBLE, TIMEOUTS).describe()
    assert offer.available
    assert offer.cli_version == "v5.8.3"
    assert offer.default_version == "v1.31.5"
    assert "v1.31.5" in offer.versions


@pytest.mark.parametrize("driver_class", [KindDriver, K3dDriver])
async def test_a_missing_cli_is_unavailable_with_the_reason(driver_class, tmp_path):
    missing = str(tmp_path / "no-such-cli")
    driver = driver_class(missing, TIMEOUTS)
    offer = await driver.describe()
    assert not offer.available
    assert offer.versions == [] and offer.cli_version is None
    assert "command not found" in offer.reason and missing in offer.reason
    with pytest.raises(Unavailable, match=r"is not available here: .*command not found"):
        await driver.version_for(None)


@pytest.mark.parametrize(
    "driver_class, binary, repository, make_tag",
    [
        (KindDriver, KIND_DOUBLE, "kindest/node", lambda v: v),
        (K3dDriver, K3D_DOUBLE, "rancher/k3s", lambda v: f"{v}-k3s2"),
    ],
)
async def test_node_images_in_the_local_engine_are_offered_and_probes_are_reused(
    driver_class, binary, repository, make_tag, node_image_tag
):
    cached = driver_class(binary, Timeouts(60, 30, 60, probe_fresh_seconds=3600))
    fresh = driver_class(binary, Timeouts(60, 30, 60, probe_fresh_seconds=0))
    before = await cached.describe()
    version = node_image_tag(repository, make_tag)
    assert version not in (await cached.describe()).versions  # the earlier answer, reused
    offer = await fresh.describe()
    assert version in offer.versions
    assert offer.versions == sorted(
        offer.versions, key=lambda v: tuple(map(int, v[1:].split("."))), reverse=True
    )
    assert await fresh.version_for(version) == version
    assert fresh.image(version) == f"{repository}:{make_tag(version)}"
    # The default version lets the CLI pick its own default image.
    assert fresh.image(before.default_version) is None


async def test_a_version_not_offered_is_refused_naming_those_that_are():
    driver = KindDriver(KIND_DOUBLE, TIMEOUTS)
    with pytest.raises(Unavailable) as refused:
        await driver.version_for("v1.99.0")
    offered = (await driver.describe()).versions
    assert str(refused.value) == (
        f"Kubernetes v1.99.0 is not offered by kind here; available: {', '.join(offered)}"
    )
    assert refused.value.available == tuple(offered)
    assert await driver.version_for(None) == "v1.34.0"


async def test_configured_versions_replace_the_local_images_and_keep_the_default():
    driver = K3dDriver(K3D_DOUBLE, TIMEOUTS, versions=("v1.30.2", "v1.33.0"))
    offer = await driver.describe()
    assert offer.versions == ["v1.33.0", "v1.31.5", "v1.30.2"]
    assert await driver.version_for("v1.30.2") == "v1.30.2"


async def test_a_configured_node_image_is_the_default():
    driver = KindDriver(KIND_DOUBLE, TIMEOUTS, node_image="kindest/node:v1.33.1@sha256:abc")
    offer = await driver.describe()
    assert offer.default_version == "v1.33.1"
    assert driver.image("v1.33.1") == "kindest/node:v1.33.1@sha256:abc"


def test_configured_versions_must_be_kubernetes_versions():
    with pytest.raises(ValueError, match="k3d_versions"):
        ProvisionerSettings(environment="test", k3d_versions=("latest",))
    assert ProvisionerSettings(environment="test", kind_versions=("v1.33.1",)).kind_versions == (
        "v1.33.1",
    )
