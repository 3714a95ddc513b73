"""Invitations: single use, expiring, revocable, only for their invitee; secrets for emails
without an account are stored hashed and redeemed at sign-up."""

import hashlib
from datetime import datetime

import pytest


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
    team = api.get(f"/teams/{team_id}", headers=headers)
    assert team.status_code == 200
    assert team.json()["role"] == "viewer"

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
    assert api.get(f"/teams/{team_id}", headers=login(api, "invited")).status_code == 200
