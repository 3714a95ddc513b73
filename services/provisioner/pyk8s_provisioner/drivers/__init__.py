from pyk8s_contracts.clusters import Provider

from ..settings import ProvisionerSettings
from .base import CreateSpec, Driver, Timeouts, api_server_of
from .k3d import K3dDriver
from .kind import KindDriver
from .process import CliError


def build_drivers(settings: ProvisionerSettings) -> dict[Provider, Driver]:
    timeouts = Timeouts(
        settings.cli_wait_seconds, settings.cli_grace_seconds, settings.cli_short_timeout_seconds
    )
    scratch = settings.work_dir / "cli"
    return {
        Provider.KIND: KindDriver(settings.kind_bin, timeouts, settings.kind_node_image, scratch),
        Provider.K3D: K3dDriver(settings.k3d_bin, timeouts, settings.k3d_node_image, scratch),
    }


__all__ = [
    "CliError",
    "CreateSpec",
    "Driver",
    "K3dDriver",
    "KindDriver",
    "Timeouts",
    "api_server_of",
    "build_drivers",
]
