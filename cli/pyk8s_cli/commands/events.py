"""events tail: cluster lifecycle events as they happen."""

import json
import time

import click
import httpx
import yaml

from .. import resolve, watch
from ..app import App, examples, pass_app
from ..completion import complete_team
from ..errors import CliError
from ..terminal import display

RECONNECT_SECONDS = 1.0


@click.group()
@examples("pyk8s events tail --team platform")
def events() -> None:
    """Cluster lifecycle events."""


@events.command("tail")
@click.option(
    "--team",
    "-t",
    "team_name",
    metavar="TEAM",
    shell_complete=complete_team,
    help="Only this team's clusters.",
)
@click.option(
    "--output",
    "-o",
    type=click.Choice(("text", "json", "yaml")),
    default="text",
    show_default=True,
    envvar="PYK8S_OUTPUT",
    show_envvar=True,
    help="One line per event, or one JSON object per line, or YAML documents.",
)
@click.option("--count", "-n", type=click.IntRange(1), help="Stop after this many events.")
@examples("pyk8s events tail", "pyk8s events tail --team platform -o json | jq .type")
@pass_app
def tail(app: App, team_name: str | None, output: str, count: int | None) -> None:
    """Print cluster lifecycle events as they happen, and the team events that concern you
    (invited, invitation revoked, role changed, removed) (Ctrl-C to stop). Reconnects by itself
    after a network failure and resumes after the last event received (Last-Event-ID), so
    events missed in between are printed too."""
    team_id = resolve.team_id(app.api, team_name)
    params = {"team_id": team_id} if team_id else None
    last_id, seen, opened = None, 0, False
    while True:
        try:
            for change, event_id in watch.stream_changes(app.api, params, last_id):
                if change is None:
                    if not opened:
                        app.terminal.info(
                            f"watching cluster events on {app.server} (Ctrl-C to stop)"
                        )
                        opened = True
                    continue
                last_id = event_id or last_id
                if team_id and not of_team(change, team_id):
                    continue
                emit(app, change, output)
                seen += 1
                if count and seen >= count:
                    return
        except httpx.TransportError as error:
            app.terminal.warning(
                f"event stream interrupted ({error or type(error).__name__}); reconnecting"
            )
            time.sleep(RECONNECT_SECONDS)
        except CliError as error:
            if getattr(error, "status", None) in (404, 405):
                raise CliError("this server has no event stream") from None
            raise


def of_team(change: watch.Change, team_id: str) -> bool:
    payload = change.payload if isinstance(change.payload, dict) else {}
    data = payload.get("data") if isinstance(payload.get("data"), dict) else payload
    return str(data.get("team_id")) == team_id


def emit(app: App, change: watch.Change, output: str) -> None:
    if output == "json":
        app.terminal.out.file.write(json.dumps(change.payload) + "\n")
    elif output == "yaml":
        app.terminal.out.file.write("---\n" + yaml.safe_dump(change.payload, sort_keys=False))
    else:
        app.terminal.print(line(change))
    app.terminal.out.file.flush()


def line(change: watch.Change) -> str:
    payload = change.payload if isinstance(change.payload, dict) else {}
    data = payload.get("data") if isinstance(payload.get("data"), dict) else payload
    when = display(payload.get("time")) if payload.get("time") else time.strftime("%H:%M:%S")
    kind = (change.type or "").removeprefix("io.pyk8s.")
    parts = [
        when,
        kind or "-",
        str(data.get("name") or data.get("team_name") or change.cluster_id),
        str(change.status or "-"),
    ]
    if change.message:
        parts.append(change.message)
    return "  ".join(parts)
