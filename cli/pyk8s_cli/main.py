"""The `pyk8s` command: self-hosted, short-lived Kubernetes clusters from a terminal."""

import click

from .app import App
from .commands.auth import kube_credential, login, logout, signup, whoami
from .commands.clusters import cluster
from .commands.events import events
from .commands.hosts import host
from .commands.teams import team
from .errors import EXIT_CODES, CliError


class RootGroup(click.Group):
    """Turns any unexpected exception into one error line and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Abort() from None
        except OSError as error:
            raise CliError(
                f"{error.strerror or error}" + (f": {error.filename}" if error.filename else "")
            ) from None
        except Exception as error:
            raise CliError(f"unexpected error: {type(error).__name__}: {error}") from None


EPILOG = "\b\nExit codes:\n" + "\n".join(f"  {code}  {text}" for code, text in EXIT_CODES.items())


@click.group(cls=RootGroup, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--server",
    envvar="PYK8S_SERVER",
    show_envvar=True,
    metavar="URL",
    help="Gateway URL (default: the server of the last login).",
)
@click.option(
    "--token",
    envvar="PYK8S_TOKEN",
    show_envvar=True,
    metavar="TOKEN",
    help="API token or access token to use instead of the stored login.",
)
@click.version_option(package_name="pyk8s-cli", prog_name="pyk8s")
@click.pass_context
def cli(ctx: click.Context, server: str | None, token: str | None) -> None:
    """Self-hosted, short-lived Kubernetes clusters for small teams.

    \b
    Examples:
      pyk8s login --server https://pyk8s.example.com
      pyk8s team create platform
      pyk8s cluster create demo --team platform --provider k3d
      pyk8s cluster kubeconfig demo --merge
    """
    app = App(server, token)
    ctx.obj = app
    ctx.call_on_close(app.close)


cli.add_command(signup)
cli.add_command(login)
cli.add_command(logout)
cli.add_command(whoami)
cli.add_command(team)
cli.add_command(cluster)
cli.add_command(events)
cli.add_command(host)
cli.add_command(kube_credential)


def main() -> None:
    cli(prog_name="pyk8s")
