"""team create/list/members/invite/invitations/accept/decline/revoke/role/remove/delete."""

import click

from .. import resolve
from ..app import App, examples, output_option, pass_app
from ..completion import complete_team
from ..terminal import Column

ROLES = ("owner", "admin", "member", "viewer")

TEAM_COLUMNS = [
    Column("Name", "name", "bold"),
    Column("Display name", "display_name"),
    Column("Your role", "role"),
    Column("ID", "id"),
    Column("Created", "created_at"),
]
MEMBER_COLUMNS = [
    Column("Username", "username", "bold"),
    Column("Role", "role"),
    Column("Name", "display_name"),
    Column("User ID", resolve.member_id),
    Column("Joined", lambda m: m.get("joined_at") or m.get("created_at")),
]
INVITATION_COLUMNS = [
    Column("ID", "id"),
    Column("Team", "team_name", "bold"),
    Column("Invitee", lambda i: i.get("invitee_username") or i.get("email")),
    Column("Role", "role"),
    Column("Status", "status"),
    Column("Expires", "expires_at"),
]


@click.group()
@examples(
    "pyk8s team create platform",
    "pyk8s team invite platform bob --role admin",
    "pyk8s team members platform",
)
def team() -> None:
    """Teams, their members and invitations. Teams are named by name."""


@team.command("create")
@click.argument("name")
@click.option("--display-name", help="A longer, human name for the team.")
@output_option
@examples("pyk8s team create platform", "pyk8s team create ml --display-name 'ML research'")
@pass_app
def create(app: App, name: str, display_name: str | None, output: str) -> None:
    """Create a team; you become its owner. NAME is a DNS label (lowercase, digits, '-')."""
    body = {"name": name, **({"display_name": display_name} if display_name else {})}
    created = app.api.post("/teams", body)
    if output == "table":
        app.terminal.success(f"created team {created['name']}")
    else:
        app.terminal.data(created, output)


@team.command("list")
@output_option
@examples("pyk8s team list", "pyk8s team list -o json")
@pass_app
def list_(app: App, output: str) -> None:
    """List your teams with your role in each."""
    app.terminal.render(resolve.teams(app.api), output, TEAM_COLUMNS)


@team.command("get")
@click.argument("team_name", metavar="TEAM", shell_complete=complete_team)
@output_option
@examples("pyk8s team get platform")
@pass_app
def get(app: App, team_name: str, output: str) -> None:
    """Show one team."""
    found = resolve.team(app.api, team_name)
    app.terminal.render(app.api.get(f"/teams/{found['id']}"), output, TEAM_COLUMNS)


@team.command("members")
@click.argument("team_name", metavar="TEAM", shell_complete=complete_team)
@output_option
@examples("pyk8s team members platform", "pyk8s team members platform -o yaml")
@pass_app
def members(app: App, team_name: str, output: str) -> None:
    """List a team's members and their roles."""
    found = resolve.team(app.api, team_name)
    app.terminal.render(resolve.members(app.api, str(found["id"])), output, MEMBER_COLUMNS)


@team.command("invite")
@click.argument("team_name", metavar="TEAM", shell_complete=complete_team)
@click.argument("login")
@click.option("--role", type=click.Choice(ROLES), default="member", show_default=True)
@output_option
@examples(
    "pyk8s team invite platform bob", "pyk8s team invite platform carol@example.com --role admin"
)
@pass_app
def invite(app: App, team_name: str, login: str, role: str, output: str) -> None:
    """Invite someone by username or email. The invitation expires after 7 days."""
    found = resolve.team(app.api, team_name)
    invitation = app.api.post(f"/teams/{found['id']}/invitations", {"login": login, "role": role})
    if output != "table":
        app.terminal.data(invitation, output)
        return
    app.terminal.success(
        f"invited {login} to {found['name']} as {role} (invitation {invitation['id']})"
    )
    if invitation.get("token"):
        app.terminal.info(
            "No account uses that email yet. Send them this invitation token "
            "(shown only now) to use at sign-up with --invitation-token:"
        )
        app.terminal.print(invitation["token"])


@team.command("invitations")
@click.argument("team_name", metavar="[TEAM]", required=False, shell_complete=complete_team)
@output_option
@examples(
    "pyk8s team invitations            # invitations waiting for you",
    "pyk8s team invitations platform   # a team's pending invitations (admin)",
)
@pass_app
def invitations(app: App, team_name: str | None, output: str) -> None:
    """List invitations: your pending ones, or a team's when TEAM is given."""
    path = "/invitations"
    if team_name:
        path = f"/teams/{resolve.team(app.api, team_name)['id']}/invitations"
    app.terminal.render(app.api.all_pages(path, "invitations"), output, INVITATION_COLUMNS)


@team.command("accept")
@click.argument("invitation_id", metavar="ID")
@examples("pyk8s team invitations", "pyk8s team accept 4f0c...")
@pass_app
def accept(app: App, invitation_id: str) -> None:
    """Accept an invitation: you join the team at once with the invited role."""
    answer = app.api.post(f"/invitations/{invitation_id}/accept")
    app.terminal.success(f"joined {joined_team(answer)}")


@team.command("decline")
@click.argument("invitation_id", metavar="ID")
@examples("pyk8s team decline 4f0c...")
@pass_app
def decline(app: App, invitation_id: str) -> None:
    """Decline an invitation."""
    app.api.post(f"/invitations/{invitation_id}/decline")
    app.terminal.success("invitation declined")


@team.command("revoke")
@click.argument("team_name", metavar="TEAM", shell_complete=complete_team)
@click.argument("invitation_id", metavar="ID")
@examples("pyk8s team revoke platform 4f0c...")
@pass_app
def revoke(app: App, team_name: str, invitation_id: str) -> None:
    """Revoke a team's pending invitation (admin)."""
    found = resolve.team(app.api, team_name)
    app.api.delete(f"/teams/{found['id']}/invitations/{invitation_id}")
    app.terminal.success("invitation revoked")


@team.command("role")
@click.argument("team_name", metavar="TEAM", shell_complete=complete_team)
@click.argument("user")
@click.argument("role", type=click.Choice(ROLES))
@examples("pyk8s team role platform bob admin")
@pass_app
def role(app: App, team_name: str, user: str, role: str) -> None:
    """Change a member's role (admin; owner to grant owner)."""
    found = resolve.team(app.api, team_name)
    target = resolve.member(app.api, found, user)
    app.api.patch(f"/teams/{found['id']}/members/{resolve.member_id(target)}", {"role": role})
    app.terminal.success(f"{user} is now {role} in {found['name']}")


@team.command("remove")
@click.argument("team_name", metavar="TEAM", shell_complete=complete_team)
@click.argument("user")
@examples("pyk8s team remove platform bob", "pyk8s team remove platform alice   # alice leaves")
@pass_app
def remove(app: App, team_name: str, user: str) -> None:
    """Remove a member (admin), or leave the team by naming yourself."""
    found = resolve.team(app.api, team_name)
    target = resolve.member(app.api, found, user)
    app.api.delete(f"/teams/{found['id']}/members/{resolve.member_id(target)}")
    app.terminal.success(f"removed {user} from {found['name']}")


@team.command("delete")
@click.argument("team_name", metavar="TEAM", shell_complete=complete_team)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@examples("pyk8s team delete platform", "pyk8s team delete platform --yes")
@pass_app
def delete(app: App, team_name: str, yes: bool) -> None:
    """Delete a team (owner)."""
    found = resolve.team(app.api, team_name)
    if not yes:
        click.confirm(f"Delete team {found['name']}?", abort=True)
    app.api.delete(f"/teams/{found['id']}")
    app.terminal.success(f"deleted team {found['name']}")


def joined_team(answer: object) -> str:
    if isinstance(answer, dict) and answer.get("name"):
        return f"team {answer['name']} as {answer.get('role', 'member')}"
    return "the team"
