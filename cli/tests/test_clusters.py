"""The whole team workflow from the CLI alone, against the real platform (provisioner on
the kind/k3d test doubles, which start real Docker containers): A signs up, creates a team,
invites B; B accepts and creates a cluster for the team with --wait; A lists it and deletes
it. Plus kubeconfig, failures and denials with their exit codes."""

import json
import stat
from collections.abc import Iterator

import pytest
import yaml

from cli.tests.support import Pty, Users, fails
from pyk8s_cli.errors import EXIT_ERROR, EXIT_FAILED, EXIT_NOT_FOUND, EXIT_USAGE


@pytest.fixture
def users(platform, tmp_path) -> Iterator[Users]:
    made = Users(platform.url, tmp_path)
    yield made
    made.delete_clusters()


def team_with(users: Users, *, bob_role: str = "member"):
    ada, bob = users.signed_up("ada"), users.signed_up("bob")
    ada.ok("team", "create", "platform")
    ada.ok("team", "invite", "platform", "bob", "--role", bob_role)
    [invitation] = bob.json("team", "invitations")
    bob.ok("team", "accept", invitation["id"])
    return ada, bob


def test_team_workflow_create_wait_list_delete(users):
    ada, bob = team_with(users)

    created = bob.ok(
        "cluster",
        "create",
        "demo",
        "--team",
        "platform",
        "--provider",
        "k3d",
        "--workers",
        "1",
        "--ttl",
        "2",
        "--wait",
        "--timeout",
        "240",
    )
    assert "cluster demo is ready" in created.stderr
    # Progress came from the live stream (or polling): each status on its own line off a TTY.
    assert "cluster demo: ready" in created.stderr

    [listed] = ada.json("cluster", "list")
    assert (listed["name"], listed["status"], listed["provider"], listed["workers"]) == (
        "demo",
        "ready",
        "k3d",
        1,
    )
    [team] = ada.json("team", "list")
    assert listed["team_id"] == team["id"]
    assert ada.json("cluster", "list", "--team", "platform") == [listed]
    table = ada.ok("cluster", "list").stdout
    assert "demo" in table and "platform" in table and "ready" in table
    assert (
        yaml.safe_load(ada.ok("cluster", "get", "demo", "-o", "yaml").stdout)["id"] == listed["id"]
    )

    extended = json.loads(bob.ok("cluster", "extend", "demo", "--hours", "1", "-o", "json").stdout)
    assert extended["expires_at"] > listed["expires_at"]

    deleted = ada.ok("cluster", "delete", "demo", "--yes", "--wait", "--timeout", "240")
    assert "cluster demo deleted" in deleted.stderr
    assert [c for c in ada.json("cluster", "list") if c["status"] != "deleted"] == []
    fails(ada.run("cluster", "get", "demo"), EXIT_NOT_FOUND, "no cluster named 'demo'")


def test_kubeconfig_stdout_file_and_merge(users):
    ada, bob = team_with(users, bob_role="viewer")
    ada.ok("cluster", "create", "demo", "--team", "platform", "--wait", "--timeout", "240")

    printed = yaml.safe_load(ada.ok("cluster", "kubeconfig", "demo").stdout)
    assert printed["kind"] == "Config" and printed["clusters"]

    target = ada.home / "demo.yaml"
    ada.ok("cluster", "kubeconfig", "demo", "--file", str(target))
    assert yaml.safe_load(target.read_text()) == printed
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    kube = ada.home / ".kube" / "config"
    kube.parent.mkdir()
    kube.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "work",
                "clusters": [{"name": "work", "cluster": {"server": "x"}}],
                "users": [{"name": "work", "user": {"token": "t"}}],
                "contexts": [{"name": "work", "context": {"cluster": "work", "user": "work"}}],
            }
        )
    )
    for _ in range(2):
        ada.ok("cluster", "kubeconfig", "demo", "--merge")
    merged = yaml.safe_load(kube.read_text())
    # Under the name the server gives its context (pyk8s-demo).
    assert [c["name"] for c in merged["contexts"]] == ["work", printed["current-context"]]
    assert merged["current-context"] == printed["current-context"]
    assert merged["clusters"][1]["cluster"] == printed["clusters"][0]["cluster"]

    # A viewer sees the cluster and gets its kubeconfig (kubectl acts as a viewer through the
    # gateway), but may not delete it.
    assert bob.json("cluster", "get", "demo")["name"] == "demo"
    assert yaml.safe_load(bob.ok("cluster", "kubeconfig", "demo").stdout) == printed
    fails(bob.run("cluster", "kubeconfig", "demo", "--admin"), EXIT_NOT_FOUND)
    fails(bob.run("cluster", "delete", "demo", "--yes"), EXIT_NOT_FOUND)


# An offered version whose node image cannot be pulled (no registry here).
UNPULLABLE = {"provisioner": {"kind_versions": ("v1.0.99",)}}


@pytest.mark.parametrize("platform_overrides", [UNPULLABLE], ids=["unpullable"])
def test_failed_cluster_exits_5_with_the_reason(users):
    ada = users.signed_up("ada")
    result = ada.run(
        "cluster",
        "create",
        "old",
        "--provider",
        "kind",
        "--version",
        "v1.0.99",
        "--wait",
        "--timeout",
        "240",
    )
    line = fails(result, EXIT_FAILED, "cluster old failed")
    assert "pull image" in line
    [cluster] = ada.json("cluster", "list")
    assert cluster["status"] == "failed" and "pull image" in cluster["status_message"]


def test_no_wait_returns_at_once_with_json(users):
    ada = users.signed_up("ada")
    created = json.loads(ada.ok("cluster", "create", "quick", "--no-wait", "-o", "json").stdout)
    assert created["name"] == "quick" and created["status"] in ("pending", "provisioning")
    assert created["team_id"] is None
    ada.ok("cluster", "delete", created["id"], "--yes", "--wait", "--timeout", "240")


def test_unknown_team_outsider_and_bad_input(users):
    ada, eve = users.signed_up("ada"), users.signed_up("eve")
    ada.ok("team", "create", "platform")
    fails(
        ada.run("cluster", "create", "demo", "--team", "nope", "--no-wait"),
        EXIT_NOT_FOUND,
        "no team named 'nope'",
    )
    fails(eve.run("cluster", "create", "demo", "--team", "platform", "--no-wait"), EXIT_NOT_FOUND)
    fails(ada.run("cluster", "get", "missing"), EXIT_NOT_FOUND)
    fails(ada.run("cluster", "create", "Bad_Name", "--no-wait"), 1, "name")
    assert ada.run("cluster", "create", "x", "--provider", "minikube").exit_code == EXIT_USAGE
    created = ada.json("cluster", "create", "mine", "--no-wait")
    # Someone else's cluster, even by id: not found.
    fails(eve.run("cluster", "get", created["id"]), EXIT_NOT_FOUND)
    fails(eve.run("cluster", "delete", created["id"], "--yes"), EXIT_NOT_FOUND)
    ada.ok("cluster", "delete", "mine", "--yes", "--wait", "--timeout", "240")


def complete(user, words: str) -> list[str]:
    env = {
        "_PYK8S_COMPLETE": "bash_complete",
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
    }
    result = user.ok(env=env)
    return [item.split(",", 1)[1] for item in result.stdout.split()]


def test_shell_completion_of_team_and_cluster_names(users):
    ada = users.signed_up("ada")
    ada.ok("team", "create", "platform")
    ada.ok("team", "create", "data")
    ada.ok("cluster", "create", "demo", "--team", "platform", "--no-wait")
    assert complete(ada, "pyk8s team members pl") == ["platform"]
    assert sorted(complete(ada, "pyk8s team members ")) == ["data", "platform"]
    assert complete(ada, "pyk8s cluster get --team platform d") == ["demo"]
    assert complete(ada, "pyk8s cluster get --team data d") == []
    # Without a login, completion offers nothing and prints no error into the shell.
    assert complete(users.new("nobody"), "pyk8s team members ") == []


def test_create_on_a_terminal_waits_by_default_with_live_status(users):
    ada = users.signed_up("ada")
    terminal = Pty(ada, "cluster", "create", "demo", rows=30, cols=100)
    try:
        terminal.expect("cluster demo is ready", timeout=120)
        assert terminal.proc.wait(30) == 0
    finally:
        terminal.close()
    assert ada.json("cluster", "get", "demo")["status"] == "ready"


def test_same_name_in_two_teams_needs_the_team(users):
    ada = users.signed_up("ada")
    ada.ok("team", "create", "blue")
    ada.ok("team", "create", "green")
    ada.ok("cluster", "create", "demo", "--team", "blue", "--no-wait")
    ada.ok("cluster", "create", "demo", "--team", "green", "--no-wait")
    fails(ada.run("cluster", "get", "demo"), EXIT_USAGE, "--team")
    blue = ada.json("cluster", "get", "demo", "--team", "blue")
    [team] = [t for t in ada.json("team", "list") if t["name"] == "blue"]
    assert blue["team_id"] == team["id"]


def test_extend_beyond_the_maximum_is_refused(users):
    ada = users.signed_up("ada")
    ada.ok("cluster", "create", "demo", "--no-wait")
    fails(ada.run("cluster", "extend", "demo", "--hours", "8000"), EXIT_ERROR, "at most 72 hours")


def test_cluster_providers_lists_what_each_offers(users):
    ada = users.signed_up("ada")
    offers = {offer["provider"]: offer for offer in ada.json("cluster", "providers")}
    assert set(offers) == {"kind", "k3d", "kwok"}
    assert (offers["kind"]["cli_version"], offers["kind"]["default_version"]) == (
        "v0.30.0",
        "v1.34.0",
    )
    table = ada.ok("cluster", "providers").stdout
    assert "k3d" in table and "v5.8.3" in table and "v1.31.5" in table


def test_a_version_not_offered_fails_before_anything_is_queued(users):
    ada = users.signed_up("ada")
    result = ada.run("cluster", "create", "odd", "--provider", "k3d", "--version", "v1.99.0")
    fails(
        result,
        EXIT_ERROR,
        "Kubernetes v1.99.0 is not offered by k3d on the server; available: v1.31.5",
    )
    assert ada.json("cluster", "list") == []


NO_KIND = {"provisioner": {"kind_bin": "/nonexistent/kind"}}


@pytest.mark.parametrize("platform_overrides", [NO_KIND], ids=["no-kind"])
def test_a_provider_missing_on_the_server_fails_with_the_reason(users):
    ada = users.signed_up("ada")
    line = fails(ada.run("cluster", "create", "demo"), EXIT_ERROR, "kind is not available")
    assert "/nonexistent/kind: command not found" in line
    assert "available: k3d" in line
    assert ada.json("cluster", "list") == []
