"""The role matrix of docs/rbac.md: every teams and invitations endpoint x every kind of
caller, generated from the one table below, whose minimum roles come from the table of rights
(`pyk8s_contracts.rbac`) that the web app and its test double read too. The test also checks
that the table names every such route of the gateway, so a new endpoint cannot be left out."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from pyk8s_contracts.rbac import TEAM, Right
from pyk8s_contracts.teams import Role
from pyk8s_gateway.main import create_app
from pyk8s_gateway.settings import GatewaySettings

CALLERS = ("signed_out", "outsider", "invitee", "viewer", "member", "admin", "owner")
# Owners go last: their successes (deleting the team) would change what the others see.


def signed_in(status: int) -> dict[str, int]:
    return {caller: status for caller in CALLERS} | {"signed_out": 401}


def team_scoped(right: Right, ok: int) -> dict[str, int]:
    """401 signed out, 404 for anyone outside the team, 403 where `right` does not allow the
    caller's role, else `ok`."""
    expected = {"signed_out": 401, "outsider": 404, "invitee": 404}
    for role in Role:
        expected[role.value] = ok if right.allows(role) else 403
    return expected


def invitee_only(ok: int) -> dict[str, int]:
    return signed_in(404) | {"invitee": ok}


@dataclass
class World:
    people: dict
    team: str
    invitation: str  # pending, addressed to the invitee
    victim: object
    join_team: Callable
    extra: dict = field(default_factory=dict)

    def victim_in_team(self) -> str:
        members = self.people["owner"].get(f"/teams/{self.team}/members").json()["members"]
        if not any(m["user_id"] == self.victim.id for m in members):
            self.join_team(self.people["owner"], self.team, self.victim, "viewer")
        return self.victim.id

    def fresh_invitation(self) -> str:
        made = self.people["owner"].post(
            f"/teams/{self.team}/invitations",
            json={"login": f"{uuid.uuid4().hex[:10]}@example.com", "role": "member"},
        )
        assert made.status_code == 201, made.text
        return made.json()["id"]


def fresh_email(_: World) -> dict:
    return {"login": f"{uuid.uuid4().hex[:10]}@example.com", "role": "member"}


@dataclass
class Row:
    method: str
    path: str
    expected: dict[str, int]
    body: Callable[[World], dict] | dict | None = None
    # Fills the path per cell: {team_id}, {user_id}, {invitation_id}.
    params: Callable[[World, str], dict] = lambda world, caller: {}


def team(world: World, caller: str) -> dict:
    return {"team_id": world.team}


def victim(world: World, caller: str) -> dict:
    return {"team_id": world.team, "user_id": world.victim_in_team()}


def myself(world: World, caller: str) -> dict:
    who = world.people["owner" if caller == "signed_out" else caller]
    return {"team_id": world.team, "user_id": who.id}


def team_invitation(world: World, caller: str) -> dict:
    return {"team_id": world.team, "invitation_id": world.fresh_invitation()}


def invitation(world: World, caller: str) -> dict:
    return {"invitation_id": world.invitation}


P = "/teams/{team_id}"
TABLE = [
    Row("POST", "/teams", signed_in(201), body=lambda w: {"name": f"t-{uuid.uuid4().hex[:8]}"}),
    Row("GET", "/teams", signed_in(200)),
    Row("GET", P, team_scoped(TEAM["read"], 200), params=team),
    Row(
        "PATCH", P, team_scoped(TEAM["rename"], 200), body={"display_name": "Renamed"}, params=team
    ),
    Row("DELETE", P, team_scoped(TEAM["delete"], 204), params=team),
    Row("GET", P + "/members", team_scoped(TEAM["read"], 200), params=team),
    Row(
        "PATCH",
        P + "/members/{user_id}",
        team_scoped(TEAM["change_roles"], 200),
        body={"role": "member"},
        params=victim,
    ),
    Row(
        "PATCH",
        P + "/members/{user_id}",
        team_scoped(TEAM["manage_owners"], 200),
        body={"role": "owner"},
        params=victim,
    ),
    Row(
        "DELETE", P + "/members/{user_id}", team_scoped(TEAM["remove_members"], 204), params=victim
    ),
    # Leaving: any member may remove themselves, except the last owner.
    Row(
        "DELETE",
        P + "/members/{user_id}",
        team_scoped(TEAM["leave"], 204) | {"owner": 409},
        params=myself,
    ),
    Row(
        "POST", P + "/invitations", team_scoped(TEAM["invite"], 201), body=fresh_email, params=team
    ),
    Row("GET", P + "/invitations", team_scoped(TEAM["see_invitations"], 200), params=team),
    Row(
        "DELETE",
        P + "/invitations/{invitation_id}",
        team_scoped(TEAM["revoke_invitations"], 204),
        params=team_invitation,
    ),
    Row("GET", "/invitations", signed_in(200)),
    Row("POST", "/invitations/{invitation_id}/accept", invitee_only(200), params=invitation),
    Row("POST", "/invitations/{invitation_id}/decline", invitee_only(204), params=invitation),
]


@pytest.fixture
def platform_overrides():
    # Cheap password hashing: this test signs up many people.
    return {"auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1}}


def test_table_covers_every_teams_and_invitations_route():
    paths = create_app(GatewaySettings(environment="test")).openapi()["paths"]
    routes = {
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in paths.items()
        if path.startswith(("/api/v1/teams", "/api/v1/invitations"))
        for method in operations
    }
    assert routes == {(row.method, row.path) for row in TABLE}


def new_world(people: dict, person, make_team, join_team) -> World:
    """A team where each person has the role of their name, and a pending invitation."""
    team_id = make_team(people["owner"])
    for rank in ("admin", "member", "viewer"):
        join_team(people["owner"], team_id, people[rank], rank)
    pending = people["owner"].post(
        f"/teams/{team_id}/invitations",
        json={"login": people["invitee"].username, "role": "member"},
    )
    assert pending.status_code == 201, pending.text
    return World(
        people=people,
        team=team_id,
        invitation=pending.json()["id"],
        victim=person(),
        join_team=join_team,
    )


def call(api, world: World, row: Row, caller: str):
    path = row.path.format(**row.params(world, caller))
    body = row.body(world) if callable(row.body) else row.body
    headers = {} if caller == "signed_out" else world.people[caller].headers
    return api.request(row.method, path, json=body, headers=headers)


def test_role_matrix(api, person, make_team, join_team, provisioner_double):
    """One team per row (rows change their team), the same people throughout."""
    people = {caller: person() for caller in CALLERS if caller != "signed_out"}
    wrong = []
    for row in TABLE:
        world = new_world(people, person, make_team, join_team)
        for caller in CALLERS:
            answer = call(api, world, row, caller)
            if answer.status_code != row.expected[caller]:
                wrong.append(
                    f"{row.method} {row.path} as {caller}: expected "
                    f"{row.expected[caller]}, got {answer.status_code} {answer.text}"
                )
    assert not wrong, "\n".join(wrong)
