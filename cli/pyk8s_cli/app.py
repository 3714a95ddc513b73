"""The `App` every command receives through `ctx.obj`: config, API client and terminal."""

import inspect
from collections.abc import Callable
from typing import Any

import click

from .client import ApiClient, normalize_server
from .config import Config
from .errors import NotSignedIn
from .terminal import OUTPUT_FORMATS, Terminal


class App:
    def __init__(
        self,
        server: str | None,
        token: str | None,
        config: Config | None = None,
        terminal: Terminal | None = None,
    ) -> None:
        self.config = config or Config.load()
        self.terminal = terminal or Terminal()
        self._server_option = normalize_server(server) if server else None
        self.token = token or None
        self._client: ApiClient | None = None

    @property
    def server(self) -> str:
        server = self._server_option or self.config.current_server
        if not server:
            raise NotSignedIn("no server: run `pyk8s login --server URL` or set PYK8S_SERVER")
        return server

    def use_server(self, server: str) -> None:
        self._server_option = normalize_server(server)
        self.close()

    @property
    def api(self) -> ApiClient:
        if self._client is None or self._client.server != self.server:
            self.close()
            self._client = ApiClient(self.server, self.config, self.token)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


pass_app = click.make_pass_decorator(App)


def output_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--output",
        "-o",
        type=click.Choice(OUTPUT_FORMATS),
        default="table",
        show_default=True,
        envvar="PYK8S_OUTPUT",
        show_envvar=True,
        help="Output format; json and yaml print the API objects unchanged.",
    )(func)


def examples(*lines: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Append an Examples section to a command's help text."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        body = "\n".join(f"  {line}" for line in lines)
        func.__doc__ = f"{inspect.cleandoc(func.__doc__ or '')}\n\n\b\nExamples:\n{body}\n"
        return func

    return decorate
