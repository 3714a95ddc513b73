"""Teams end to end through the gateway: the two-person flow, bad input, last-owner
protection, deletion against the provisioner's cluster count, and membership events."""

import asyncio
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import nats
import pytest
from nats.js.api import DeliverPolicy

from conftest import unique
from pyk8s_contracts import subjects
from pyk8s_kit.testing import wait_until_async


@pytest.fixture
def platform_overrides():
    return {"auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1}}


def test_two_people_team_invitation_by_username(person, make_team):
    alice, bob = person(), person()
    team_id = make_team(alice, "platform-team")

    invited = alice.post(
        f"/teams/{team_id}/invitations", json={"login": bob.username, "role": "member"}
    )
    assert invited.status_code == 201, invited.text
    assert invited.json()["token"] is None  # an existing account needs no secret
    assert invited.json()["invitee_username"] == bob.username

    mine = bob.get("/invitations").json()["invitations"]
    assert [(i["team_name"], i["role"], i["status"]) for i in mine] == [
        ("platform-team", "member", "pending")
    ]
    accepted = bob.post(f"/invitations/{mine[0]['id']}/accept")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["role"] == "member"

    assert bob.get("/invitations").json()["invitations"] == []
    assert [t["name"] for t in bob.get("/teams").json()["teams"]] == ["platform-team"]
    members = {
        m["username"]: m["role"] for m in alice.get(f"/teams/{team_id}/members").json()["members"]
    }
    assert members == {alice.username: "owner", bob.username: "member"}


def test_team_list_shows_the_callers_role(person, make_team, join_team):
    alice, bob = person(), person()
    mine = make_team(alice, "alpha")
    theirs = make_team(bob, "beta")
    join_team(bob, theirs, alice, "viewer")
    teams = {t["id"]: t["role"] for t in alice.get("/teams").json()["teams"]}
    assert teams == {mine: "owner", theirs: "viewer"}


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "a" * 64},
        {"name": "Not_A_Label"},
        {"name": "-leading"},
        {"name": "ok", "display_name": "x" * 101},
        {"name": "ok", "unknown": 1},
        {},
    ],
)
def test_bad_team_bodies_are_422(person, body):
    answer = person().post("/teams", json=body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "validation_error"


def test_duplicate_team_name_is_409(person, make_team):
    alice, bob = person(), person()
    make_team(alice, "taken")
    answer = bob.post("/teams", json={"name": "taken"})
    assert answer.status_code == 409
    assert answer.json()["code"] == "conflict"
    other = make_team(alice, "other")
    renamed = alice.patch(f"/teams/{other}", json={"name": "taken"})
    assert renamed.status_code == 409


def test_rename_and_display_name(person, make_team):
    alice = person()
    team_id = make_team(alice, "before")
    answer = alice.patch(f"/teams/{team_id}", json={"name": "after", "display_name": "After"})
    assert answer.status_code == 200
    assert (answer.json()["name"], answer.json()["display_name"]) == ("after", "After")
    assert alice.get(f"/teams/{team_id}").json()["name"] == "after"


def test_bad_member_and_invitation_input(person, make_team, join_team):
    alice, bob = person(), person()
    team_id = make_team(alice)
    join_team(alice, team_id, bob, "member")

    unknown_role = alice.patch(f"/teams/{team_id}/members/{bob.id}", json={"role": "king"})
    assert unknown_role.status_code == 422
    bad_invite_role = alice.post(
        f"/teams/{team_id}/invitations", json={"login": "someone@example.com", "role": "king"}
    )
    assert bad_invite_role.status_code == 422
    empty_login = alice.post(f"/teams/{team_id}/invitations", json={"login": "", "role": "member"})
    assert empty_login.status_code == 422
    long_login = alice.post(
        f"/teams/{team_id}/invitations", json={"login": "a" * 255, "role": "member"}
    )
    assert long_login.status_code == 422
    bad_email = alice.post(
        f"/teams/{team_id}/invitations", json={"login": "not@an@email", "role": "member"}
    )
    assert bad_email.status_code == 422, bad_email.text
    nobody = alice.post(
        f"/teams/{team_id}/invitations", json={"login": "nobody-here", "role": "member"}
    )
    assert nobody.status_code == 404
    assert nobody.json()["field"] == "login"

    existing = alice.post(
        f"/teams/{team_id}/invitations", json={"login": bob.username, "role": "viewer"}
    )
    assert existing.status_code == 409
    assert "already a member" in existing.json()["detail"]
    by_email = alice.post(
        f"/teams/{team_id}/invitations", json={"login": bob.email, "role": "viewer"}
    )
    assert by_email.status_code == 409

    carol = person()
    first = alice.post(
        f"/teams/{team_id}/invitations", json={"login": carol.username, "role": "viewer"}
    )
    assert first.status_code == 201
    again = alice.post(
        f"/teams/{team_id}/invitations", json={"login": carol.username, "role": "viewer"}
    )
    assert again.status_code == 409

    not_a_uuid = alice.get("/teams/not-a-uuid")
    assert not_a_uuid.status_code == 422
    unknown_member = alice.patch(
        f"/teams/{team_id}/members/{uuid.uuid4()}", json={"role": "viewer"}
    )
    assert unknown_member.status_code == 404


def test_last_owner_is_protected(person, make_team, join_team):
    alice, bob = person(), person()
    team_id = make_team(alice)
    join_team(alice, team_id, bob, "admin")

    demote_self = alice.patch(f"/teams/{team_id}/members/{alice.id}", json={"role": "admin"})
    assert demote_self.status_code == 409
    assert demote_self.json()["code"] == "last_owner"
    leave = alice.delete(f"/teams/{team_id}/members/{alice.id}")
    assert leave.status_code == 409
    assert leave.json()["code"] == "last_owner"
    # An admin may not touch an owner at all.
    assert (
        bob.patch(f"/teams/{team_id}/members/{alice.id}", json={"role": "viewer"}).status_code
        == 403
    )
    assert bob.delete(f"/teams/{team_id}/members/{alice.id}").status_code == 403
    assert (
        bob.patch(f"/teams/{team_id}/members/{bob.id}", json={"role": "owner"}).status_code == 403
    )

    # With a second owner, the first may step down, and then leave.
    assert (
        alice.patch(f"/teams/{team_id}/members/{bob.id}", json={"role": "owner"}).status_code == 200
    )
    assert (
        alice.patch(f"/teams/{team_id}/members/{alice.id}", json={"role": "member"}).status_code
        == 200
    )
    assert bob.delete(f"/teams/{team_id}/members/{bob.id}").status_code == 409
    assert alice.delete(f"/teams/{team_id}/members/{alice.id}").status_code == 204
    roles = {
        m["user_id"]: m["role"] for m in bob.get(f"/teams/{team_id}/members").json()["members"]
    }
    assert roles == {bob.id: "owner"}


def test_admin_manages_roles_up_to_admin(person, make_team, join_team):
    owner, admin, viewer = person(), person(), person()
    team_id = make_team(owner)
    join_team(owner, team_id, admin, "admin")
    join_team(owner, team_id, viewer, "viewer")
    promoted = admin.patch(f"/teams/{team_id}/members/{viewer.id}", json={"role": "admin"})
    assert promoted.status_code == 200
    assert promoted.json()["role"] == "admin"
    assert promoted.json()["username"] == viewer.username
    owner_invite = admin.post(
        f"/teams/{team_id}/invitations", json={"login": "boss@example.com", "role": "owner"}
    )
    assert owner_invite.status_code == 403
    assert admin.delete(f"/teams/{team_id}/members/{viewer.id}").status_code == 204
    assert viewer.get(f"/teams/{team_id}").status_code == 404


def test_team_with_clusters_cannot_be_deleted(person, make_team, provisioner_double):
    alice = person()
    team_id = make_team(alice)
    provisioner_double.counts[team_id] = 2
    refused = alice.delete(f"/teams/{team_id}")
    assert refused.status_code == 409
    assert refused.json()["code"] == "team_not_empty"
    assert refused.json()["clusters"] == 2
    assert alice.get(f"/teams/{team_id}").status_code == 200

    provisioner_double.counts[team_id] = 0
    assert alice.delete(f"/teams/{team_id}").status_code == 204
    assert provisioner_double.asked == [team_id, team_id]
    assert alice.get(f"/teams/{team_id}").status_code == 404
    assert alice.get("/teams").json()["teams"] == []


def test_the_real_provisioner_lets_an_empty_team_go(person, make_team):
    alice = person()
    team_id = make_team(alice)
    assert alice.get(f"/clusters?team_id={team_id}").json()["clusters"] == []
    assert alice.delete(f"/teams/{team_id}").status_code == 204
    assert alice.get(f"/teams/{team_id}").status_code == 404


def test_team_deletion_refused_when_no_provisioner_answers(without_provisioner, person, make_team):
    alice = person()
    team_id = make_team(alice)
    refused = alice.delete(f"/teams/{team_id}")
    assert refused.status_code == 503
    assert refused.json()["code"] == "service_unavailable"
    assert alice.get(f"/teams/{team_id}").status_code == 200


async def read_team_events(platform, count: int) -> list[dict]:
    nc = await platform.nats.connect("events")
    try:
        js = nc.jetstream()
        sub = await js.subscribe(
            f"{subjects.EVENTS_PREFIX}.team.>",
            stream=subjects.EVENTS_STREAM,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        events: list[dict] = []

        async def collected() -> bool:
            try:
                msg = await sub.next_msg(timeout=0.2)
            except nats.errors.TimeoutError:
                return False
            events.append({**json.loads(msg.data), "nats_subject": msg.subject})
            return len(events) >= count

        await wait_until_async(collected, timeout=10)
        return events
    finally:
        await nc.close()


def test_membership_changes_are_published_as_cloudevents(
    platform, person, make_team, join_team, provisioner_double
):
    alice, bob = person(), person()
    team_id = make_team(alice)
    join_team(alice, team_id, bob, "viewer")
    assert (
        alice.patch(f"/teams/{team_id}/members/{bob.id}", json={"role": "admin"}).status_code == 200
    )
    assert alice.delete(f"/teams/{team_id}/members/{bob.id}").status_code == 204
    assert alice.delete(f"/teams/{team_id}").status_code == 204

    events = asyncio.run(read_team_events(platform, 6))
    assert [e["nats_subject"] for e in events] == [
        "pyk8s.events.team.created",
        "pyk8s.events.team.invitation.created",
        "pyk8s.events.team.member.added",
        "pyk8s.events.team.member.role_changed",
        "pyk8s.events.team.member.removed",
        "pyk8s.events.team.deleted",
    ]
    assert [e["type"] for e in events] == [
        "io.pyk8s.team.created",
        "io.pyk8s.team.invitation.created",
        "io.pyk8s.team.member.added",
        "io.pyk8s.team.member.role_changed",
        "io.pyk8s.team.member.removed",
        "io.pyk8s.team.deleted",
    ]
    assert all(
        e["source"] == "/services/teams" and e["subject"] == team_id and e["specversion"] == "1.0"
        for e in events
    )
    assert events[0]["data"]["owner_id"] == alice.id
    invited = events[1]["data"]
    assert (invited["user_id"], invited["role"], invited["by"]) == (bob.id, "viewer", alice.id)
    assert (events[2]["data"]["user_id"], events[2]["data"]["role"]) == (bob.id, "viewer")
    assert events[3]["data"] == {
        "team_id": team_id,
        "user_id": bob.id,
        "old_role": "viewer",
        "role": "admin",
        "by": alice.id,
    }
    assert events[4]["data"]["user_id"] == bob.id
    assert len({e["id"] for e in events}) == 6


# How a change to a team is made while the team is being deleted, and what it may answer.
CHANGES = {
    "rename": ("PATCH", "", lambda i: {"name": unique(f"r{i}-")}, 200),
    "display name": ("PATCH", "", lambda i: {"display_name": f"crew {i}"}, 200),
    "invite": ("POST", "/invitations", lambda i: {"login": f"x{i}@example.com"}, 201),
}
RACE_ROUNDS = 15


def race(platform, headers: dict, *calls: tuple[str, str, dict | None]) -> list[httpx.Response]:
    """Sends the calls at the same moment, each on its own connection."""
    start = threading.Barrier(len(calls))

    def send(call: tuple[str, str, dict | None]) -> httpx.Response:
        method, path, body = call
        with httpx.Client(base_url=f"{platform.url}/api/v1", headers=headers) as client:
            start.wait(timeout=10)
            return client.request(method, path, json=body, timeout=30)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, calls))


@pytest.mark.parametrize("change", list(CHANGES))
def test_deleting_a_team_while_changing_it_is_never_a_500(platform, person, make_team, change):
    owner = person()
    method, suffix, body, done = CHANGES[change]
    for i in range(RACE_ROUNDS):
        team_id = make_team(owner)
        deleted, changed = race(
            platform,
            owner.headers,
            ("DELETE", f"/teams/{team_id}", None),
            (method, f"/teams/{team_id}{suffix}", body(i)),
        )
        assert deleted.status_code == 204, deleted.text
        assert changed.status_code in (done, 404), changed.text
    assert owner.get("/teams").json()["teams"] == []
