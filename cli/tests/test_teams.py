"""Team commands against the real platform: names resolved to ids, roles enforced by the
gateway, and each denial with its exit code."""

import json

import pytest
import yaml

from cli.tests.support import PASSWORD, Users, fails
from pyk8s_cli.errors import EXIT_ERROR, EXIT_NOT_FOUND


@pytest.fixture
def users(platform, tmp_path) -> Users:
    return Users(platform.url, tmp_path)


def roles(user, team):
    return {m["username"]: m["role"] for m in user.json("team", "members", team)}


def test_invite_accept_and_roles(users):
    ada, bob = users.signed_up("ada"), users.signed_up("bob")
    created = ada.ok("team", "create", "platform", "--display-name", "Platform team")
    assert "created team platform" in created.stderr
    [team] = ada.json("team", "list")
    assert (team["name"], team["role"], team["display_name"]) == (
        "platform",
        "owner",
        "Platform team",
    )
    assert "platform" in ada.ok("team", "list").stdout

    invited = json.loads(ada.ok("team", "invite", "platform", "bob", "-o", "json").stdout)
    assert invited["invitee_username"] == "bob" and invited["role"] == "member"
    [pending] = bob.json("team", "invitations")
    assert pending["id"] == invited["id"] and pending["team_name"] == "platform"
    assert [i["id"] for i in ada.json("team", "invitations", "platform")] == [invited["id"]]

    assert "joined team platform as member" in bob.ok("team", "accept", pending["id"]).stderr
    assert bob.json("team", "invitations") == []
    assert [(t["name"], t["role"]) for t in bob.json("team", "list")] == [("platform", "member")]
    assert roles(ada, "platform") == {"ada": "owner", "bob": "member"}
    as_yaml = yaml.safe_load(ada.ok("team", "members", "platform", "-o", "yaml").stdout)
    assert {m["username"] for m in as_yaml} == {"ada", "bob"}

    ada.ok("team", "role", "platform", "bob", "viewer")
    assert roles(bob, "platform")["bob"] == "viewer"
    # A viewer may look but not invite: the gateway's 403 is exit code 4.
    fails(bob.run("team", "invite", "platform", "ada", "--role", "viewer"), EXIT_NOT_FOUND)
    fails(bob.run("team", "delete", "platform", "--yes"), EXIT_NOT_FOUND)

    ada.ok("team", "remove", "platform", "bob")
    assert bob.json("team", "list") == []
    fails(bob.run("team", "members", "platform"), EXIT_NOT_FOUND, "no team named 'platform'")


def test_delete_team(users):
    ada = users.signed_up("ada")
    ada.ok("team", "create", "platform")
    aborted = ada.run("team", "delete", "platform", input="n\n")
    assert aborted.exit_code == 1 and ada.json("team", "list") != []
    ada.ok("team", "delete", "platform", input="y\n")
    assert ada.json("team", "list") == []


def test_unknown_team_and_outsiders_get_not_found(users):
    ada, eve = users.signed_up("ada"), users.signed_up("eve")
    ada.ok("team", "create", "platform")
    fails(ada.run("team", "members", "nope"), EXIT_NOT_FOUND, "no team named 'nope'")
    fails(eve.run("team", "members", "platform"), EXIT_NOT_FOUND)
    fails(eve.run("team", "invite", "platform", "eve"), EXIT_NOT_FOUND)
    [team] = ada.json("team", "list")
    # Even by id, an outsider learns nothing: the gateway answers 404.
    fails(eve.run("team", "get", team["id"]), EXIT_NOT_FOUND)


def test_decline_and_revoke(users):
    ada, bob, cat = users.signed_up("ada"), users.signed_up("bob"), users.signed_up("cat")
    ada.ok("team", "create", "platform")
    ada.ok("team", "invite", "platform", "bob", "--role", "admin")
    ada.ok("team", "invite", "platform", "cat@example.com")
    [to_bob] = bob.json("team", "invitations")
    bob.ok("team", "decline", to_bob["id"])
    assert bob.json("team", "invitations") == [] and bob.json("team", "list") == []
    fails(bob.run("team", "accept", to_bob["id"]), EXIT_NOT_FOUND)

    [to_cat] = cat.json("team", "invitations")
    ada.ok("team", "revoke", "platform", to_cat["id"])
    assert cat.json("team", "invitations") == []
    fails(cat.run("team", "accept", to_cat["id"]), EXIT_NOT_FOUND)


def test_invitation_to_an_email_without_account_joins_at_signup(users):
    ada = users.signed_up("ada")
    ada.ok("team", "create", "platform")
    result = ada.ok("team", "invite", "platform", "dora@example.com", "--role", "viewer")
    token = result.stdout.strip()
    assert token and "invitation token" in result.stderr
    dora = users.new("dora")
    dora.ok(
        "signup",
        "-u",
        "dora",
        "--email",
        "dora@example.com",
        "--password",
        PASSWORD,
        "--invitation-token",
        token,
    )
    assert [(t["name"], t["role"]) for t in dora.json("team", "list")] == [("platform", "viewer")]


def test_duplicate_team_name_and_bad_name_are_clear_errors(users):
    ada, bob = users.signed_up("ada"), users.signed_up("bob")
    ada.ok("team", "create", "platform")
    fails(bob.run("team", "create", "platform"), EXIT_ERROR)
    fails(ada.run("team", "create", "Not_A_Label"), EXIT_ERROR, "name")


def test_only_an_owner_grants_owner_and_a_member_may_leave(users):
    ada, bob, cat = users.signed_up("ada"), users.signed_up("bob"), users.signed_up("cat")
    ada.ok("team", "create", "platform")
    for person, role in ((bob, "admin"), (cat, "member")):
        ada.ok("team", "invite", "platform", person.username, "--role", role)
        [invitation] = person.json("team", "invitations")
        person.ok("team", "accept", invitation["id"])
    fails(bob.run("team", "role", "platform", "cat", "owner"), EXIT_NOT_FOUND)
    ada.ok("team", "role", "platform", "cat", "owner")
    assert roles(ada, "platform")["cat"] == "owner"
    bob.ok("team", "remove", "platform", "bob")
    assert bob.json("team", "list") == []
    fails(ada.run("team", "role", "platform", "bob", "admin"), EXIT_NOT_FOUND, "not a member")


def test_output_format_from_the_environment(users):
    ada = users.signed_up("ada")
    ada.ok("team", "create", "platform")
    result = ada.ok("team", "list", env={"PYK8S_OUTPUT": "json"})
    assert [t["name"] for t in json.loads(result.stdout)] == ["platform"]
