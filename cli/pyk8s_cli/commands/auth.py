"""signup, login, logout, whoami, and kube-credential (kubectl's exec plugin)."""

import json

import click

from .. import credential
from ..app import App, examples, output_option, pass_app
from ..config import Session
from ..errors import CliError
from ..terminal import Column

USER_COLUMNS = [
    Column("Username", "username", "bold"),
    Column("Email", "email"),
    Column("Name", "display_name"),
    Column("ID", "id"),
    Column("Since", "created_at"),
]

server_option = click.option(
    "--server",
    metavar="URL",
    envvar="PYK8S_SERVER",
    show_envvar=True,
    help="Gateway URL; remembered for the next commands.",
)
password_option = click.option(
    "--password",
    envvar="PYK8S_PASSWORD",
    show_envvar=True,
    help="Password (prompted for, hidden, when not given).",
)


@click.command()
@server_option
@click.option("--username", "-u", help="Username: 2-39 lowercase letters, digits and '-'.")
@click.option("--email", help="Email address.")
@password_option
@click.option("--display-name", help="Name shown to your teams (default: the username).")
@click.option(
    "--invitation-token",
    metavar="TOKEN",
    help="Token of an invitation sent to your email: join that team at once.",
)
@examples(
    "pyk8s signup --server http://localhost:8080",
    "pyk8s signup -u alice --email alice@example.com",
    "pyk8s signup -u carol --email carol@example.com --invitation-token 9Qx...",
)
@pass_app
def signup(
    app: App,
    server: str | None,
    username: str | None,
    email: str | None,
    password: str | None,
    display_name: str | None,
    invitation_token: str | None,
) -> None:
    """Create an account, then sign in with it."""
    if server:
        app.use_server(server)
    username = username or click.prompt("Username")
    email = email or click.prompt("Email")
    password = password or click.prompt("Password", hide_input=True, confirmation_prompt=True)
    body = {"username": username, "email": email, "password": password}
    if display_name:
        body["display_name"] = display_name
    if invitation_token:
        body["invitation_token"] = invitation_token
    user = app.api.post("/auth/signup", body, auth=False)
    sign_in(app, username, password)
    app.terminal.success(f"signed up and logged in as {user['username']} on {app.server}")


@click.command()
@server_option
@click.option("--username", "-u", "login_name", metavar="LOGIN", help="Username or email.")
@password_option
@click.option(
    "--token",
    "api_token",
    metavar="TOKEN",
    help="Sign in with an API token (from the web app) instead of a password.",
)
@examples(
    "pyk8s login --server https://pyk8s.example.com",
    "pyk8s login -u alice",
    "pyk8s login --token pyk8s_pat_...   # for CI",
)
@pass_app
def login(
    app: App,
    server: str | None,
    login_name: str | None,
    password: str | None,
    api_token: str | None,
) -> None:
    """Sign in and store the credentials (mode 0600) in the user config directory."""
    if server:
        app.use_server(server)
    server_url = app.server
    if api_token:
        user = app.api.get("/auth/me", headers={"Authorization": f"Bearer {api_token}"}, auth=False)
        app.config.set_session(server_url, Session(api_token, None, user["username"]))
        app.terminal.success(f"logged in as {user['username']} on {server_url} with an API token")
        return
    login_name = login_name or click.prompt("Username or email")
    password = password or click.prompt("Password", hide_input=True)
    username = sign_in(app, login_name, password)
    app.terminal.success(f"logged in as {username} on {server_url}")


def sign_in(app: App, login_name: str, password: str) -> str:
    pair = app.api.post("/auth/login", {"login": login_name, "password": password}, auth=False)
    user = app.api.get(
        "/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}, auth=False
    )
    app.config.set_session(
        app.server, Session(pair["access_token"], pair["refresh_token"], user["username"])
    )
    return user["username"]


@click.command()
@examples("pyk8s logout")
@pass_app
def logout(app: App) -> None:
    """Revoke the stored login on the server and forget it locally."""
    session = app.config.session_for(app.server)
    if session is None:
        app.terminal.info(f"not logged in on {app.server}")
        return
    if session.refresh_token:
        try:
            app.api.post("/auth/logout", {"refresh_token": session.refresh_token})
        except CliError as error:
            app.terminal.warning(f"the server did not confirm the logout: {error.message}")
    app.config.forget(app.server)
    app.terminal.success(f"logged out of {app.server}")


@click.command()
@output_option
@examples("pyk8s whoami", "pyk8s whoami -o json")
@pass_app
def whoami(app: App, output: str) -> None:
    """Show the signed-in user."""
    user = app.api.get("/auth/me")
    app.terminal.render(user, output, USER_COLUMNS)


@click.command("kube-credential")
@click.option(
    "--cluster",
    "cluster_id",
    required=True,
    metavar="ID",
    help="The cluster kubectl is calling (tokens are per server; this names it in errors).",
)
@examples("pyk8s --server https://pyk8s.example.com kube-credential --cluster 6f1c...")
@pass_app
def kube_credential(app: App, cluster_id: str) -> None:
    """Print a short-lived token for kubectl, as a client-go ExecCredential (JSON).

    kubectl runs this itself: the kubeconfig of `pyk8s cluster kubeconfig` names it as its
    exec plugin, so the kubeconfig holds no secret. The token comes from your login (renewed
    when it nears its expiry) or, with an API token, is traded for one of minutes and cached.
    Never prompts; an error is one line on stderr, which kubectl shows.
    """
    api_version = credential.requested_api_version()
    api = app.api
    try:
        found = credential.short_lived(api)
    except CliError as error:
        error.message = f"no token for cluster {cluster_id} on {api.server}: {error.message}"
        raise
    answer = credential.exec_credential(found, api_version)
    app.terminal.out.file.write(json.dumps(answer) + "\n")
