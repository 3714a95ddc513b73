"""cluster create/list/get/delete/extend/kubeconfig/shell."""

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from .. import kubeconfig, resolve, watch
from ..app import App, examples, output_option, pass_app
from ..completion import complete_cluster, complete_team
from ..config import write_private
from ..errors import EXIT_FAILED, CliError
from ..terminal import Column

PROVIDERS = ("kind", "k3d", "kwok")
STATUS_COLORS = {
    "ready": "green",
    "failed": "red",
    "pending": "yellow",
    "provisioning": "yellow",
    "deleting": "magenta",
    "deleted": "dim",
}
WAIT_HELP = "Follow progress until the cluster is ready or failed (default on a terminal)."


STATUSES = tuple(STATUS_COLORS)


def cluster_columns(
    team_names: dict[str, str], creators: dict[str, str] | None = None
) -> list[Column]:
    created_by = [
        Column("Created by", lambda c: creators.get(str(c.get("owner_id")), c.get("owner_id")))
    ]
    return [
        Column("Name", "name", "bold"),
        Column(
            "Team",
            lambda c: (
                team_names.get(str(c.get("team_id")), c.get("team_id"))
                if c.get("team_id")
                else "(personal)"
            ),
        ),
        Column("Provider", "provider"),
        Column("Version", "kubernetes_version"),
        Column("Workers", "workers"),
        Column("Status", "status", colors=STATUS_COLORS),
        *(created_by if creators is not None else []),
        Column("Expires", "expires_at"),
        Column("Message", "status_message"),
    ]


DETAIL_COLUMNS = [
    Column("ID", "id"),
    Column("API server", "api_server"),
    Column("Created", "created_at"),
    Column("Ready", "ready_at"),
]


def team_names(app: App) -> dict[str, str]:
    return {str(t["id"]): t["name"] for t in resolve.teams(app.api)}


def creator_names(app: App, team_id: str | None) -> dict[str, str]:
    """Names for the "Created by" column: "you", and with one team the members' usernames
    (one more list; other creators show as their user id)."""
    names = {}
    if team_id:
        names = {
            str(m["user_id"]): m.get("username") or m["user_id"]
            for m in resolve.members(app.api, team_id)
        }
    return {**names, str(app.api.get("/auth/me")["id"]): "you"}


def show(app: App, value: Any, output: str, creators: dict[str, str] | None = None) -> None:
    names = team_names(app) if output == "table" else {}
    columns = cluster_columns(names, creators)
    if isinstance(value, dict):
        columns = [*columns[:1], *DETAIL_COLUMNS[:1], *columns[1:], *DETAIL_COLUMNS[1:]]
    app.terminal.render(value, output, columns)


team_option = click.option(
    "--team",
    "-t",
    "team_name",
    metavar="TEAM",
    shell_complete=complete_team,
    help="Team name (default: a personal cluster / all visible).",
)
timeout_option = click.option(
    "--timeout",
    type=click.IntRange(1),
    default=900,
    show_default=True,
    help="Seconds to wait with --wait.",
)


@click.group()
@examples(
    "pyk8s cluster create demo --team platform",
    "pyk8s cluster list",
    "pyk8s cluster kubeconfig demo --merge",
)
def cluster() -> None:
    """Short-lived Kubernetes clusters (kind, k3d or kwok)."""


@cluster.command("create")
@click.argument("name")
@team_option
@click.option("--provider", "-p", type=click.Choice(PROVIDERS), default="kind", show_default=True)
@click.option(
    "--version",
    "kubernetes_version",
    metavar="V",
    help="Kubernetes version, e.g. v1.31.0 (default: the provider's).",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 5),
    default=0,
    show_default=True,
    help="Worker nodes besides the control plane.",
)
@click.option(
    "--ttl",
    "ttl_hours",
    type=click.IntRange(1),
    metavar="HOURS",
    help="Hours before the cluster is deleted (default: the server's).",
)
@click.option("--wait/--no-wait", default=None, help=WAIT_HELP)
@timeout_option
@output_option
@examples(
    "pyk8s cluster create demo",
    "pyk8s cluster create demo --team platform --provider k3d --workers 2 --ttl 8",
    "pyk8s cluster create ci-$RANDOM --team platform --no-wait -o json",
)
@pass_app
def create(
    app: App,
    name: str,
    team_name: str | None,
    provider: str,
    kubernetes_version: str | None,
    workers: int,
    ttl_hours: int | None,
    wait: bool | None,
    timeout: int,
    output: str,
) -> None:
    """Create a cluster NAME, for a team with --team."""
    check_offered(app, provider, kubernetes_version)
    body: dict[str, Any] = {"name": name, "provider": provider, "workers": workers}
    if team_name:
        body["team_id"] = resolve.team_id(app.api, team_name)
    if kubernetes_version:
        body["kubernetes_version"] = kubernetes_version
    if ttl_hours:
        body["ttl_hours"] = ttl_hours
    created = app.api.post("/clusters", body)
    if wait is None:
        wait = app.terminal.interactive
    if not wait:
        report(app, created, output, f"cluster {name} is {created.get('status', 'pending')}")
        return
    final = follow(app, created, "ready", timeout)
    report(app, final, output, f"cluster {name} is ready ({elapsed(final)})")


def check_offered(app: App, provider: str, version: str | None) -> None:
    """Refuses, before anything is queued, a provider that is not available on the server or
    a Kubernetes version it does not offer (the server refuses them too)."""
    offers = {offer["provider"]: offer for offer in app.api.get("/providers")["providers"]}
    offer = offers.get(provider)
    if offer is None or not offer["available"]:
        reason = offer["reason"] if offer else "the server does not know it"
        others = [name for name, o in offers.items() if o["available"]]
        hint = f" (available: {', '.join(others)})" if others else ""
        raise CliError(f"{provider} is not available on the server: {reason}{hint}")
    if version and version not in offer["versions"]:
        raise CliError(
            f"Kubernetes {version} is not offered by {provider} on the server; "
            f"available: {', '.join(offer['versions'])} (see pyk8s cluster providers)"
        )


PROVIDER_COLUMNS = [
    Column("Provider", "provider", "bold"),
    Column("Available", lambda p: "yes" if p["available"] else "no"),
    Column("CLI", "cli_version"),
    Column("Default", "default_version"),
    Column("Versions", lambda p: ", ".join(p["versions"])),
    Column("Why not", "reason"),
]


@cluster.command("providers")
@output_option
@examples("pyk8s cluster providers", "pyk8s cluster providers -o json")
@pass_app
def providers(app: App, output: str) -> None:
    """What each provider offers on the server: available or why not, its CLI's version and
    the Kubernetes versions `cluster create --version` may ask for."""
    app.terminal.render(app.api.get("/providers")["providers"], output, PROVIDER_COLUMNS)


@cluster.command("list")
@team_option
@click.option("--status", type=click.Choice(STATUSES), help="Only clusters in this state.")
@click.option("--provider", "-p", type=click.Choice(PROVIDERS), help="Only this provider's.")
@click.option("--mine", is_flag=True, help="Only clusters you created.")
@click.option(
    "--created-by",
    metavar="USER",
    help="Only clusters this user created: a user id, or a username with --team.",
)
@click.option(
    "--limit",
    type=click.IntRange(1),
    metavar="N",
    help="Show the newest N (default: every cluster, fetched page by page).",
)
@output_option
@examples(
    "pyk8s cluster list",
    "pyk8s cluster list --team platform -o json",
    "pyk8s cluster list --mine --status ready --limit 10",
    "pyk8s cluster list --team platform --created-by bob",
)
@pass_app
def list_(
    app: App,
    team_name: str | None,
    status: str | None,
    provider: str | None,
    mine: bool,
    created_by: str | None,
    limit: int | None,
    output: str,
) -> None:
    """List the clusters you can see, newest first: your personal ones and your teams'."""
    if mine and created_by:
        raise click.UsageError("--mine and --created-by exclude each other")
    found_team = resolve.team(app.api, team_name) if team_name else None
    team_id = str(found_team["id"]) if found_team else None
    if mine:
        created_by = str(app.api.get("/auth/me")["id"])
    elif created_by and not resolve.is_uuid(created_by):
        if found_team is None:
            raise click.UsageError("--created-by takes a user id, or a username with --team")
        created_by = str(resolve.member_id(resolve.member(app.api, found_team, created_by)))
    clusters = resolve.clusters(
        app.api, team_id, limit, status=status, provider=provider, created_by=created_by
    )
    creators = creator_names(app, team_id) if output == "table" and clusters else None
    show(app, clusters, output, creators)


@cluster.command("get")
@click.argument("name", metavar="NAME|ID", shell_complete=complete_cluster)
@team_option
@output_option
@examples("pyk8s cluster get demo", "pyk8s cluster get demo --team platform -o yaml")
@pass_app
def get(app: App, name: str, team_name: str | None, output: str) -> None:
    """Show one cluster."""
    show(app, resolve.cluster(app.api, name, team_name), output)


@cluster.command("delete")
@click.argument("name", metavar="NAME|ID", shell_complete=complete_cluster)
@team_option
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option(
    "--wait/--no-wait", default=False, show_default=True, help="Wait until the cluster is deleted."
)
@timeout_option
@examples("pyk8s cluster delete demo", "pyk8s cluster delete demo --team platform --yes --wait")
@pass_app
def delete(app: App, name: str, team_name: str | None, yes: bool, wait: bool, timeout: int) -> None:
    """Delete a cluster (its creator, or an admin of its team)."""
    found = resolve.cluster(app.api, name, team_name)
    if not yes:
        click.confirm(f"Delete cluster {found['name']}?", abort=True)
    app.api.delete(f"/clusters/{found['id']}")
    if wait:
        follow(app, found, "deleted", timeout)
        app.terminal.success(f"cluster {found['name']} deleted")
    else:
        app.terminal.success(f"cluster {found['name']} is being deleted")


@cluster.command("extend")
@click.argument("name", metavar="NAME|ID", shell_complete=complete_cluster)
@team_option
@click.option("--hours", type=click.IntRange(1), required=True, help="Hours to add.")
@output_option
@examples("pyk8s cluster extend demo --hours 4")
@pass_app
def extend(app: App, name: str, team_name: str | None, hours: int, output: str) -> None:
    """Push back a cluster's expiry (up to the server's maximum time-to-live)."""
    found = resolve.cluster(app.api, name, team_name)
    updated = app.api.post(f"/clusters/{found['id']}/extend", {"hours": hours})
    report(
        app,
        updated,
        output,
        f"cluster {found['name']} now expires at {(updated or {}).get('expires_at', '?')}",
    )


@cluster.command("kubeconfig")
@click.argument("name", metavar="NAME|ID", shell_complete=complete_cluster)
@team_option
@click.option(
    "--merge",
    is_flag=True,
    help="Add the context pyk8s-NAME to ~/.kube/config (or the first $KUBECONFIG).",
)
@click.option(
    "--switch-context/--no-switch-context",
    default=True,
    show_default=True,
    help="With --merge, make the merged context the current one.",
)
@click.option(
    "--file",
    "-f",
    "file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the kubeconfig to this file (mode 0600) instead of stdout.",
)
@click.option(
    "--admin",
    is_flag=True,
    help="The raw cluster-admin kubeconfig instead (team admins and owners; break-glass, "
    "audited); --merge names it pyk8s-NAME-admin.",
)
@examples(
    "pyk8s cluster kubeconfig demo --merge && kubectl --context pyk8s-demo get nodes",
    "pyk8s cluster kubeconfig demo > demo.yaml && KUBECONFIG=demo.yaml kubectl get pods -A",
    "pyk8s cluster kubeconfig demo --file ~/.kube/demo.yaml",
    "pyk8s cluster kubeconfig demo --admin --file demo-admin.yaml",
)
@pass_app
def kubeconfig_(
    app: App,
    name: str,
    team_name: str | None,
    merge: bool,
    switch_context: bool,
    file: Path | None,
    admin: bool,
) -> None:
    """Download a cluster's kubeconfig, for anyone who can see the cluster.

    kubectl then reaches the cluster through the gateway, as your team role allows. The
    kubeconfig holds no secret: kubectl runs `pyk8s kube-credential` (so pyk8s must be on
    PATH) for a short-lived token from your login.
    """
    if merge and file:
        raise CliError("--merge writes into your kubeconfig; leave out --file", exit_code=2)
    found = resolve.cluster(app.api, name, team_name)
    if admin:
        text = kubeconfig_text(app.api.get(f"/clusters/{found['id']}/kubeconfig/admin"))
        app.terminal.warning(ADMIN_WARNING)
    else:
        text = kubeconfig_text(app.api.get(f"/clusters/{found['id']}/kubeconfig"))
        text = kubeconfig.plugin_signed_in_to(text, app.server)
        for problem in kubeconfig.kubectl_problems(text):
            app.terminal.warning(problem)
    if merge:
        target = kubeconfig.default_path()
        context_name = f"pyk8s-{found['name']}-admin" if admin else None
        context = kubeconfig.merge_into(target, text, context_name, switch_context)
        app.terminal.success(f"merged context {context} into {target}")
    elif file:
        write_private(file, text)
        app.terminal.success(f"wrote {file}")
    else:
        app.terminal.out.file.write(text if text.endswith("\n") else text + "\n")


ADMIN_WARNING = (
    "this is the cluster's break-glass cluster-admin credential: it bypasses the team roles "
    "and stays valid for the cluster's whole life. Keep it private; this download is "
    "recorded in the audit log."
)


@cluster.command("shell")
@click.argument("name", metavar="NAME|ID", shell_complete=complete_cluster)
@team_option
@examples("pyk8s cluster shell demo   # then: kubectl get nodes; exit to leave")
@pass_app
def shell(app: App, name: str, team_name: str | None) -> None:
    """Open an interactive shell with kubectl on the cluster, through the gateway."""
    from ..shell import run_shell

    found = resolve.cluster(app.api, name, team_name)
    if not sys.stdin.isatty():
        raise CliError("cluster shell needs an interactive terminal", exit_code=2)
    code = run_shell(app, str(found["id"]))
    sys.exit(code)


def kubeconfig_text(answer: Any) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, dict) and isinstance(answer.get("kubeconfig"), str):
        return answer["kubeconfig"]
    raise CliError("the server answered with no kubeconfig")


def report(app: App, value: dict[str, Any], output: str, message: str) -> None:
    if output == "table":
        app.terminal.success(message)
    else:
        app.terminal.data(value, output)


def follow(app: App, found: dict[str, Any], wanted: str, timeout: int) -> dict[str, Any]:
    """Show live progress until the cluster is `wanted`; a failure exits with EXIT_FAILED."""
    name, cluster_id = found["name"], str(found["id"])
    failed = {"failed"} if wanted == "deleted" else {"failed", "deleting", "deleted"}
    started = time.monotonic()

    def describe(change: watch.Change) -> str:
        note = f": {change.message}" if change.message else ""
        return f"cluster {name}: {change.status}{note} ({int(time.monotonic() - started)}s)"

    with app.terminal.status(f"cluster {name}: waiting") as update:
        try:
            final = watch.follow(
                app.api,
                cluster_id,
                done=lambda c: c.status == wanted or c.status in failed,
                on_change=lambda c: update(describe(c)),
                deadline=started + timeout,
            )
        except watch.Timeout:
            raise CliError(
                f"cluster {name} is not {wanted} after {timeout}s", exit_code=EXIT_FAILED
            ) from None
    if final.status != wanted:
        reason = final.message or "no reason given"
        raise CliError(f"cluster {name} {final.status}: {reason}", exit_code=EXIT_FAILED)
    is_cluster = isinstance(final.payload, dict) and "status" in final.payload
    return final.payload if is_cluster else found


def elapsed(cluster_: dict[str, Any]) -> str:
    try:
        created = datetime.fromisoformat(str(cluster_["created_at"]))
        ready = datetime.fromisoformat(str(cluster_["ready_at"]))
    except (KeyError, TypeError, ValueError):
        return "done"
    return f"in {int((ready - created).total_seconds())}s"
