"""Host commands against the real platform: platform admins list, drain and undrain Docker
hosts; everyone else is refused with the gateway's message and a non-zero exit."""

import pytest

from cli.tests.support import Users, fails
from pyk8s_cli.errors import EXIT_AUTH, EXIT_ERROR, EXIT_NOT_FOUND


@pytest.fixture
def platform_overrides():
    return {"auth": {"platform_admins": "root@example.com"}}


@pytest.fixture
def users(platform, tmp_path) -> Users:
    return Users(platform.url, tmp_path)


def test_a_platform_admin_lists_drains_and_undrains(users):
    root = users.signed_up("root")
    table = root.ok("host", "list").stdout
    assert "local" in table and "reachable" in table and "kind" in table
    [local] = root.json("host", "list")
    assert (local["id"], local["drained"], local["clusters"]) == ("local", False, 0)
    assert "drained host local" in root.ok("host", "drain", "local").stderr
    assert "reachable, drained" in root.ok("host", "list").stdout
    undrained = root.json("host", "undrain", "local")
    assert undrained["drained"] is False
    assert "host local takes clusters again" in root.ok("host", "undrain", "local").stderr


def test_refusals_and_bad_hosts(users):
    root, ada = users.signed_up("root"), users.signed_up("ada")
    for args in (("host", "list"), ("host", "drain", "local"), ("host", "undrain", "local")):
        fails(ada.run(*args), EXIT_NOT_FOUND, "this needs the platform admin role")
    fails(root.run("host", "drain", "nope"), EXIT_NOT_FOUND, "no Docker host 'nope'")
    fails(root.run("host", "drain", "Not_A_Host"), EXIT_ERROR)
    fails(users.new("nobody").run("host", "list"), EXIT_AUTH)
