"""host list/drain/undrain: the pool of Docker hosts, for platform admins."""

import click

from ..app import App, examples, output_option, pass_app
from ..terminal import Column

GIB = 1024**3


def _providers(host: dict) -> str:
    announcement = host.get("announcement") or {}
    offered = []
    for provider in announcement.get("providers", []):
        if not provider["available"]:
            continue
        versions = provider.get("kubernetes_versions")
        offered.append(
            f"{provider['name']} ({', '.join(versions)})" if versions else provider["name"]
        )
    return ", ".join(offered) or "-"


def _state(host: dict) -> str:
    state = "reachable" if host["reachable"] else "unreachable"
    return f"{state}, drained" if host["drained"] else state


def _capacity(host: dict) -> str:
    announcement = host.get("announcement")
    if not announcement:
        return f"{host['clusters']} clusters"
    memory = f"{host['memory_used_bytes'] / GIB:.1f}/{announcement['memory_bytes'] / GIB:.1f} GiB"
    return f"{host['clusters']}/{announcement['max_clusters']} clusters, {memory}"


HOST_COLUMNS = [
    Column("Host", "id", "bold"),
    Column("State", _state),
    Column("Load", _capacity),
    Column("Providers", _providers),
    Column("Docker", lambda h: (h.get("announcement") or {}).get("docker_host", "-")),
]


@click.group()
@examples("pyk8s host list", "pyk8s host drain host-b", "pyk8s host undrain host-b")
def host() -> None:
    """The Docker hosts clusters run on (platform admins only)."""


@host.command("list")
@output_option
@examples("pyk8s host list", "pyk8s host list -o json")
@pass_app
def list_(app: App, output: str) -> None:
    """List the hosts: reachable or not, drained or not, load and providers."""
    app.terminal.render(app.api.get("/hosts")["hosts"], output, HOST_COLUMNS)


@host.command("drain")
@click.argument("host_id", metavar="HOST")
@output_option
@examples("pyk8s host drain host-b")
@pass_app
def drain(app: App, host_id: str, output: str) -> None:
    """Place no new cluster on HOST; the clusters on it keep running."""
    _show(app, app.api.post(f"/hosts/{host_id}/drain"), output, f"drained host {host_id}")


@host.command("undrain")
@click.argument("host_id", metavar="HOST")
@output_option
@examples("pyk8s host undrain host-b")
@pass_app
def undrain(app: App, host_id: str, output: str) -> None:
    """Let HOST take new clusters again."""
    _show(
        app,
        app.api.post(f"/hosts/{host_id}/undrain"),
        output,
        f"host {host_id} takes clusters again",
    )


def _show(app: App, changed: dict, output: str, message: str) -> None:
    if output == "table":
        app.terminal.success(message)
    else:
        app.terminal.data(changed, output)
