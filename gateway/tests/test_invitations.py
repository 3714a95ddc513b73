"""Invitations: single use, expiring, revocable, only for their invitee; secrets for emails
without an account are stored hashed and redeemed at sign-up."""

import hashlib
from datetime import datetime

import pytest

from pyk8s_contracts import subjects
from pyk8s_contracts.auth import SignupRequest, User
from pyk8s_kit.bus import request
from pyk8s_kit.testing import wait_until
from pyk8s_teams.main import start as start_teams
from pyk8s_teams.settings import TeamsSettings


@pytest.fixture
def platform_overrides():
    return {"auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1}}


@pytest.fixture
def teams_sql(platform, embedded_pg):
    """Runs SQL in the teams service's own database (to move an expiry into the past)."""
    database = platform.database_urls["teams"].rsplit("/", 1)[1]
    return lambda sql: embedded_pg.psql(sql, database=database)


def invite(inviter, team_id: str, login: str, role: str = "member"):
    answer = inviter.post(f"/teams/{team_id}/invitations", json={"login": login, "role": role})
    assert answer.status_code == 201, answer.text
    return answer.json()


def expire(teams_sql, invitation_id: str) -> None:
    teams_sql(
        f"UPDATE invitations SET expires_at = now() - interval '1 second' "
        f"WHERE id = '{invitation_id}'"
    )


def test_invitation_expires_after_seven_days(person, make_team):
    alice, bob = person(), person()
    team_id = make_team(alice)
    made = invite(alice, team_id, bob.username)
    lifetime = datetime.fromisoformat(made["expires_at"]) - datetime.fromisoformat(
        made["created_at"]
    )
    assert abs(lifetime.total_seconds() - 7 * 24 * 3600) < 5


def test_expired_invitation_is_refused(person, make_team, teams_sql):
    alice, bob = person(), person()
    team_id = make_team(alice)
    made = invite(alice, team_id, bob.username)
    expire(teams_sql, made["id"])
    assert bob.get("/invitations").json()["invitations"] == []
    answer = bob.post(f"/invitations/{made['id']}/accept")
    assert answer.status_code == 410
    assert answer.json()["code"] == "invitation_invalid"
    assert bob.get(f"/teams/{team_id}").status_code == 404
    # An expired invitation no longer blocks a new one.
    again = invite(alice, team_id, bob.username)
    assert bob.post(f"/invitations/{again['id']}/accept").status_code == 200


def test_revoked_invitation_is_refused(person, make_team):
    alice, bob = person(), person()
    team_id = make_team(alice)
    made = invite(alice, team_id, bob.username)
    assert alice.delete(f"/teams/{team_id}/invitations/{made['id']}").status_code == 204
    assert alice.get(f"/teams/{team_id}/invitations").json()["invitations"] == []
    assert bob.get("/invitations").json()["invitations"] == []
    answer = bob.post(f"/invitations/{made['id']}/accept")
    assert answer.status_code == 410
    assert "revoked" in answer.json()["detail"]
    assert alice.delete(f"/teams/{team_id}/invitations/{made['id']}").status_code == 410
    assert bob.get(f"/teams/{team_id}").status_code == 404


def test_invitation_is_single_use(person, make_team):
    alice, bob = person(), person()
    team_id = make_team(alice)
    made = invite(alice, team_id, bob.username, role="viewer")
    assert bob.post(f"/invitations/{made['id']}/accept").status_code == 200
    again = bob.post(f"/invitations/{made['id']}/accept")
    assert again.status_code == 410
    assert bob.post(f"/invitations/{made['id']}/decline").status_code == 410
    # Removed later, the old invitation does not let them back in.
    assert alice.delete(f"/teams/{team_id}/members/{bob.id}").status_code == 204
    assert bob.post(f"/invitations/{made['id']}/accept").status_code == 410
    assert bob.get(f"/teams/{team_id}").status_code == 404


def test_declined_invitation_cannot_be_accepted(person, make_team):
    alice, bob = person(), person()
    team_id = make_team(alice)
    made = invite(alice, team_id, bob.username)
    assert bob.post(f"/invitations/{made['id']}/decline").status_code == 204
    assert bob.post(f"/invitations/{made['id']}/accept").status_code == 410
    assert bob.get(f"/teams/{team_id}").status_code == 404


def test_only_the_invitee_can_accept_or_decline(person, make_team):
    alice, bob, mallory = person(), person(), person()
    team_id = make_team(alice)
    made = invite(alice, team_id, bob.username, role="admin")
    for who in (mallory, alice):
        assert who.post(f"/invitations/{made['id']}/accept").status_code == 404
        assert who.post(f"/invitations/{made['id']}/decline").status_code == 404
    assert mallory.get("/invitations").json()["invitations"] == []
    assert mallory.get(f"/teams/{team_id}").status_code == 404
    assert bob.post(f"/invitations/{made['id']}/accept").json()["role"] == "admin"


def test_invitation_by_email_of_an_existing_account(person, make_team):
    alice, bob = person(), person()
    team_id = make_team(alice)
    made = invite(alice, team_id, bob.email.upper())
    assert made["invitee_id"] == bob.id
    assert made["token"] is None
    assert bob.post(f"/invitations/{made['id']}/accept").status_code == 200


def signup(api, username: str, email: str, token: str | None):
    body = {"username": username, "email": email, "password": "correct horse battery"}
    if token is not None:
        body["invitation_token"] = token
    return api.post("/auth/signup", json=body)


def login(api, username: str):
    answer = api.post("/auth/login", json={"login": username, "password": "correct horse battery"})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_signup_with_an_invitation_token_joins_the_team(api, person, make_team, teams_sql):
    alice = person()
    team_id = make_team(alice)
    made = invite(alice, team_id, "New.Person@Example.com", role="viewer")
    token = made["token"]
    assert made["invitee_id"] is None and made["email"] == "new.person@example.com"
    # At least 128 random bits, and only a hash is stored.
    assert len(token.removeprefix("pyk8s_inv_")) >= 22
    stored = teams_sql(f"SELECT token_hash FROM invitations WHERE id = '{made['id']}'").strip()
    assert stored == hashlib.sha256(token.encode()).hexdigest()
    assert token not in teams_sql(
        "SELECT string_agg(coalesce(token_hash, ''), ',') FROM invitations"
    )

    created = signup(api, "newperson", "new.person@example.com", token)
    assert created.status_code == 201, created.text
    headers = login(api, "newperson")
    team = joined(api, team_id, headers)
    assert team["role"] == "viewer"

    reused = signup(api, "otherperson", "new.person@example.com", token)
    assert reused.status_code == 410
    pending = alice.get(f"/teams/{team_id}/invitations").json()["invitations"]
    assert pending == []


def test_signup_with_a_bad_token_creates_no_account(api, person, make_team, teams_sql):
    alice = person()
    team_id = make_team(alice)
    made = invite(alice, team_id, "invited@example.com")
    token = made["token"]

    wrong_email = signup(api, "intruder", "intruder@example.com", token)
    assert wrong_email.status_code == 410
    assert wrong_email.json()["code"] == "invitation_invalid"
    guessed = signup(api, "guesser", "invited@example.com", "pyk8s_inv_" + "A" * 43)
    assert guessed.status_code == 410
    # Neither attempt created an account: both names are still free.
    assert signup(api, "intruder", "intruder@example.com", None).status_code == 201
    assert signup(api, "guesser", "guesser@example.com", None).status_code == 201

    revoked = invite(alice, team_id, "revoked@example.com")
    assert alice.delete(f"/teams/{team_id}/invitations/{revoked['id']}").status_code == 204
    assert signup(api, "revokedperson", "revoked@example.com", revoked["token"]).status_code == 410

    expired = invite(alice, team_id, "late@example.com")
    expire(teams_sql, expired["id"])
    assert signup(api, "lateperson", "late@example.com", expired["token"]).status_code == 410

    assert signup(api, "invited", "invited@example.com", token).status_code == 201
    assert joined(api, team_id, login(api, "invited"))


def test_an_invited_signup_joins_its_team_even_if_the_teams_service_was_down(
    api, platform, person, make_team
):
    """The account and its pending redemption are written together by the auth service; the
    teams service redeems it when it is back, with nothing lost in between."""
    alice = person()
    team_id = make_team(alice)
    token = invite(alice, team_id, "late.joiner@example.com", role="member")["token"]
    teams = platform.runtimes.pop("teams")
    platform.run(teams.stop())
    # The gateway checked the token; the teams service died before the account joined.
    account = SignupRequest(
        username="latejoiner",
        email="late.joiner@example.com",
        password="correct horse battery",
        invitation_token=token,
    )

    async def sign_up():
        nc = await platform.nats.connect("gateway")
        try:
            return await request(nc, subjects.AUTH_SIGNUP, account, User)
        finally:
            await nc.close()

    user = platform.run(sign_up())
    settings = TeamsSettings(
        environment="test",
        **platform.nats_options("teams"),
        database_url=platform.database_urls["teams"],
    )
    platform.runtimes["teams"] = platform.run(start_teams(settings))
    headers = login(api, "latejoiner")
    assert joined(api, team_id, headers)["role"] == "member"
    members = alice.get(f"/teams/{team_id}/members").json()["members"]
    assert [m["role"] for m in members if m["user_id"] == str(user.id)] == ["member"]


def joined(api, team_id: str, headers: dict) -> dict:
    """The team as its new member sees it, once the teams service has redeemed the sign-up."""

    def team():
        answer = api.get(f"/teams/{team_id}", headers=headers)
        return answer.json() if answer.status_code == 200 else None

    return wait_until(team, timeout=15, interval=0.05)


@pytest.mark.parametrize("email", ["someone@lab.local", "x@corp.test"])
def test_invitations_and_signups_on_internal_domains(api, person, make_team, email):
    alice = person()
    team_id = make_team(alice)
    made = invite(alice, team_id, email, role="member")
    assert made["email"] == email and made["token"]
    username = f"{email.split('@')[0]}-lab"
    created = signup(api, username, email, made["token"])
    assert created.status_code == 201, created.text
    assert created.json()["email"] == email
    assert joined(api, team_id, login(api, username))["role"] == "member"


# Sign-up's own check is in the auth service's tests: no domain resolves here, so the people
# these tests sign up would be refused too.
DELIVERABLE_ONLY = {"teams": {"email_check_deliverability": True}}


@pytest.mark.parametrize("platform_overrides", [DELIVERABLE_ONLY], ids=["deliverability"])
def test_deliverability_checks_refuse_internal_domains_when_set(person, make_team):
    alice = person()
    team_id = make_team(alice)
    answer = alice.post(
        f"/teams/{team_id}/invitations", json={"login": "someone@lab.local", "role": "member"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == "login: The domain name lab.local does not exist."
