"""Object-level authorization: ids from another team answer 404 everywhere, and a lowered
role or a removal takes effect on the very next request, with the same access token."""

import time

import pytest

from pyk8s_kit.testing import wait_until


@pytest.fixture
def platform_overrides():
    return {"auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1}}


def test_team_b_ids_are_404_for_a_member_of_team_a(person, make_team, join_team):
    alice, bob, carol = person(), person(), person()
    team_a = make_team(alice)
    team_b = make_team(bob)
    join_team(bob, team_b, carol, "member")
    b_invitation = bob.post(
        f"/teams/{team_b}/invitations", json={"login": "someone@example.com", "role": "member"}
    ).json()["id"]
    for_carol_in_b = bob.post(
        f"/teams/{team_b}/invitations", json={"login": person().username, "role": "viewer"}
    ).json()["id"]

    attempts = [
        ("GET", f"/teams/{team_b}", None),
        ("PATCH", f"/teams/{team_b}", {"display_name": "mine now"}),
        ("DELETE", f"/teams/{team_b}", None),
        ("GET", f"/teams/{team_b}/members", None),
        ("PATCH", f"/teams/{team_b}/members/{carol.id}", {"role": "viewer"}),
        ("DELETE", f"/teams/{team_b}/members/{carol.id}", None),
        ("DELETE", f"/teams/{team_b}/members/{bob.id}", None),
        ("POST", f"/teams/{team_b}/invitations", {"login": alice.username, "role": "owner"}),
        ("GET", f"/teams/{team_b}/invitations", None),
        ("DELETE", f"/teams/{team_b}/invitations/{b_invitation}", None),
        # Team A's path (where Alice is owner) with team B's members and invitations.
        ("PATCH", f"/teams/{team_a}/members/{carol.id}", {"role": "viewer"}),
        ("DELETE", f"/teams/{team_a}/members/{carol.id}", None),
        ("PATCH", f"/teams/{team_a}/members/{bob.id}", {"role": "viewer"}),
        ("DELETE", f"/teams/{team_a}/invitations/{b_invitation}", None),
        ("POST", f"/invitations/{b_invitation}/accept", None),
        ("POST", f"/invitations/{for_carol_in_b}/accept", None),
        ("POST", f"/invitations/{for_carol_in_b}/decline", None),
    ]
    answers = {
        (m, p): alice.api.request(m, p, json=b, headers=alice.headers).status_code
        for m, p, b in attempts
    }
    assert answers == {(m, p): 404 for m, p, _ in attempts}

    # Nothing in team B changed.
    members = {
        m["user_id"]: m["role"] for m in bob.get(f"/teams/{team_b}/members").json()["members"]
    }
    assert members == {bob.id: "owner", carol.id: "member"}
    pending = {i["id"] for i in bob.get(f"/teams/{team_b}/invitations").json()["invitations"]}
    assert pending == {b_invitation, for_carol_in_b}
    assert bob.get(f"/teams/{team_b}").json()["display_name"] != "mine now"


def test_role_downgrade_takes_effect_within_one_second(person, make_team, join_team):
    owner, admin = person(), person()
    team_id = make_team(owner)
    join_team(owner, team_id, admin, "admin")
    assert admin.get(f"/teams/{team_id}/invitations").status_code == 200

    lowered = owner.patch(f"/teams/{team_id}/members/{admin.id}", json={"role": "viewer"})
    assert lowered.status_code == 200
    started = time.monotonic()
    # Same access token as before: the role is not frozen inside it.
    wait_until(lambda: admin.get(f"/teams/{team_id}/invitations").status_code == 403, timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert (
        admin.post(
            f"/teams/{team_id}/invitations", json={"login": "x@example.com", "role": "viewer"}
        ).status_code
        == 403
    )
    assert admin.get(f"/teams/{team_id}").json()["role"] == "viewer"

    removed = owner.delete(f"/teams/{team_id}/members/{admin.id}")
    assert removed.status_code == 204
    wait_until(lambda: admin.get(f"/teams/{team_id}").status_code == 404, timeout=1.0)
    assert admin.get(f"/teams/{team_id}/members").status_code == 404
