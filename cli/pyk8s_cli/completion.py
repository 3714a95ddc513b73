"""Shell completion of team and cluster names, asked of the server with the stored login.
Completion must never print errors into the user's shell, so any failure completes nothing."""

from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import CompletionItem

from . import resolve
from .app import App


def _app(ctx: click.Context) -> App:
    root = ctx.find_root().params
    return App(root.get("server"), root.get("token"))


def _complete(names: Callable[[App, click.Context], list[str]]):
    def complete(
        ctx: click.Context, param: click.Parameter, incomplete: str
    ) -> list[CompletionItem]:
        app = None
        try:
            app = _app(ctx)
            return [CompletionItem(n) for n in names(app, ctx) if n.startswith(incomplete)]
        except Exception:
            return []
        finally:
            if app is not None:
                app.close()

    return complete


def _team_names(app: App, ctx: click.Context) -> list[str]:
    return [t["name"] for t in resolve.teams(app.api)]


def _cluster_names(app: App, ctx: click.Context) -> list[str]:
    team: Any = ctx.params.get("team_name")
    return [
        c["name"]
        for c in resolve.clusters(app.api, resolve.team_id(app.api, team))
        if c.get("status") != "deleted"
    ]


complete_team = _complete(_team_names)
complete_cluster = _complete(_cluster_names)
