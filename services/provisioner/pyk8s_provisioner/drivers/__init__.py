from pyk8s_contracts.clusters import Provider

from ..settings import ProvisionerSettings
from .base import CreateSpec, Driver, Timeouts, Unavailable, api_server_of
from .k3d import K3dDriver
from .kind import KindDriver
from .kwok import KwokDriver, KwokTools, Shell
from .process import CliError


def build_drivers(settings: ProvisionerSettings) -> dict[Provider, Driver]:
    timeouts = Timeouts(
        settings.cli_wait_seconds,
        settings.cli_grace_seconds,
        settings.cli_short_timeout_seconds,
        settings.provider_probe_fresh_seconds,
    )
    scratch = settings.work_dir / "cli"
    kwok_tools = KwokTools(
        settings.kwokctl_bin,
        settings.kwok_etcd_bin,
        settings.kwok_controller_bin,
        settings.kwok_versions_dir,
    )
    return {
        Provider.KIND: KindDriver(
            settings.kind_bin,
            timeouts,
            settings.kind_node_image,
            scratch,
            settings.kind_versions,
            settings.host_address,
        ),
        Provider.K3D: K3dDriver(
            settings.k3d_bin,
            timeouts,
            settings.k3d_node_image,
            scratch,
            settings.k3d_versions,
            settings.host_address,
        ),
        Provider.KWOK: KwokDriver(
            kwok_tools,
            timeouts,
            settings.work_dir / "kwok",
            str(settings.kwok_apiserver_bind_address),
            Shell(settings.kwok_shell_image, settings.kwok_shell_network),
            scratch,
            settings.host_address,
        ),
    }


__all__ = [
    "CliError",
    "CreateSpec",
    "Driver",
    "K3dDriver",
    "KindDriver",
    "KwokDriver",
    "KwokTools",
    "Shell",
    "Timeouts",
    "Unavailable",
    "api_server_of",
    "build_drivers",
]
