"""Team rights on clusters, generated from one table: every action x every role, with the
denials proven. Non-members get 404 for everything of the team."""

import pytest

from conftest import unique
from pyk8s_kit.testing import wait_until

ROLES = ("owner", "admin", "member", "viewer", "outsider")
# action -> expected status per role (a member acting on someone else's cluster)
MATRIX = {
    "get": {"owner": 200, "admin": 200, "member": 200, "viewer": 200, "outsider": 404},
    "list_team": {"owner": 200, "admin": 200, "member": 200, "viewer": 200, "outsider": 404},
    "create_team": {"owner": 202, "admin": 202, "member": 202, "viewer": 403, "outsider": 404},
    "kubeconfig": {"owner": 200, "admin": 200, "member": 200, "viewer": 200, "outsider": 404},
    "admin_kubeconfig": {"owner": 200, "admin": 200, "member": 403, "viewer": 403, "outsider": 404},
    "extend": {"owner": 200, "admin": 200, "member": 200, "viewer": 403, "outsider": 404},
    "delete": {"owner": 202, "admin": 202, "member": 403, "viewer": 403, "outsider": 404},
}


@pytest.fixture
def platform_overrides():
    return {"provisioner": {"team_quota": 20}}


pytestmark = pytest.mark.usefixtures("remove_runtime_clusters")


def invite(inviter, team_id, person, role):
    invited = inviter.post(
        f"/teams/{team_id}/invitations", json={"login": person.username, "role": role}
    )
    assert invited.status_code == 201, invited.text
    assert person.post(f"/invitations/{invited.json()['id']}/accept").status_code == 200


@pytest.fixture
def team(person):
    """A team with one person per role, a creator (a member) and an outsider."""
    people = {role: person() for role in ROLES}
    people["creator"] = person()
    owner = people["owner"]
    created = owner.post("/teams", json={"name": unique("team-")})
    assert created.status_code == 201, created.text
    team_id = created.json()["id"]
    for role in ("admin", "member", "viewer"):
        invite(owner, team_id, people[role], role)
    invite(owner, team_id, people["creator"], "member")
    return team_id, people


def new_cluster(creator, team_id, ready=True) -> str:
    answer = creator.post(
        "/clusters", json={"name": unique("c-"), "provider": "kind", "team_id": team_id}
    )
    assert answer.status_code == 202, answer.text
    cluster_id = answer.json()["id"]
    if ready:
        wait_until(
            lambda: creator.get(f"/clusters/{cluster_id}").json()["status"] == "ready",
            timeout=60,
            interval=0.1,
        )
    return cluster_id


def act(action: str, who, team_id: str, cluster_id: str):
    if action == "get":
        return who.get(f"/clusters/{cluster_id}")
    if action == "list_team":
        return who.get("/clusters", params={"team_id": team_id})
    if action == "create_team":
        return who.post(
            "/clusters", json={"name": unique("c-"), "provider": "kind", "team_id": team_id}
        )
    if action == "kubeconfig":
        return who.get(f"/clusters/{cluster_id}/kubeconfig")
    if action == "admin_kubeconfig":
        return who.get(f"/clusters/{cluster_id}/kubeconfig/admin")
    if action == "extend":
        return who.post(f"/clusters/{cluster_id}/extend", json={"hours": 1})
    if action == "delete":
        return who.delete(f"/clusters/{cluster_id}")
    raise AssertionError(action)


@pytest.mark.parametrize("action", sorted(MATRIX))
def test_role_matrix(team, action):
    team_id, people = team
    shared = new_cluster(people["creator"], team_id, ready="kubeconfig" in action)
    for role in ROLES:
        cluster_id = (
            new_cluster(people["creator"], team_id, ready=False) if action == "delete" else shared
        )
        answer = act(action, people[role], team_id, cluster_id)
        expected = MATRIX[action][role]
        assert answer.status_code == expected, f"{action} as {role}: {answer.text}"
        if expected >= 400:
            assert answer.headers["content-type"].startswith("application/problem+json")
            if action == "delete":
                left = people["creator"].get(f"/clusters/{cluster_id}").json()
                assert left["status"] != "deleting"


def test_the_creator_may_delete_while_member_and_loses_it_as_viewer(team):
    team_id, people = team
    owner, creator = people["owner"], people["creator"]
    first = new_cluster(creator, team_id, ready=False)
    assert creator.delete(f"/clusters/{first}").status_code == 202
    second = new_cluster(creator, team_id)
    member = next(
        m
        for m in owner.get(f"/teams/{team_id}/members").json()["members"]
        if m["user_id"] == creator.id
    )
    lowered = owner.patch(f"/teams/{team_id}/members/{member['user_id']}", json={"role": "viewer"})
    assert lowered.status_code == 200, lowered.text
    assert creator.delete(f"/clusters/{second}").status_code == 403
    assert creator.get(f"/clusters/{second}/kubeconfig/admin").status_code == 403
    assert creator.post(f"/clusters/{second}/extend", json={"hours": 1}).status_code == 403
    # A viewer still reaches the cluster through the proxy, as a viewer.
    assert creator.get(f"/clusters/{second}/kubeconfig").status_code == 200
    removed = owner.delete(f"/teams/{team_id}/members/{creator.id}")
    assert removed.status_code in (200, 204), removed.text
    assert creator.get(f"/clusters/{second}").status_code == 404
    assert creator.get("/clusters").json()["clusters"] == []


def test_another_teams_cluster_ids_are_404_everywhere(team, person):
    team_id, people = team
    cluster_id = new_cluster(people["creator"], team_id)
    stranger = person()
    own_team = stranger.post("/teams", json={"name": unique("team-")}).json()["id"]
    for answer in (
        stranger.get(f"/clusters/{cluster_id}"),
        stranger.get(f"/clusters/{cluster_id}/kubeconfig"),
        stranger.get(f"/clusters/{cluster_id}/kubeconfig/admin"),
        stranger.post(f"/clusters/{cluster_id}/extend", json={"hours": 1}),
        stranger.delete(f"/clusters/{cluster_id}"),
        stranger.get("/clusters", params={"team_id": team_id}),
        stranger.post("/clusters", json={"name": "x", "provider": "kind", "team_id": team_id}),
    ):
        assert answer.status_code == 404, answer.text
        assert answer.json()["code"] == "not_found"
    assert stranger.get("/clusters").json()["clusters"] == []
    assert stranger.get("/clusters", params={"team_id": own_team}).json()["clusters"] == []
    assert people["creator"].get(f"/clusters/{cluster_id}").json()["status"] == "ready"


def test_personal_clusters_are_the_owners_alone(person):
    ada, bob = person(), person()
    mine = ada.post("/clusters", json={"name": "mine", "provider": "k3d"}).json()["id"]
    for answer in (
        bob.get(f"/clusters/{mine}"),
        bob.delete(f"/clusters/{mine}"),
        bob.get(f"/clusters/{mine}/kubeconfig"),
        bob.get(f"/clusters/{mine}/kubeconfig/admin"),
        bob.post(f"/clusters/{mine}/extend", json={"hours": 1}),
    ):
        assert answer.status_code == 404, answer.text
    assert bob.get("/clusters").json()["clusters"] == []
    assert [c["id"] for c in ada.get("/clusters").json()["clusters"]] == [mine]


def test_the_team_list_shows_every_visible_cluster(team):
    team_id, people = team
    team_cluster = new_cluster(people["creator"], team_id, ready=False)
    personal = people["viewer"].post("/clusters", json={"name": "solo", "provider": "kind"})
    listed = {c["id"] for c in people["viewer"].get("/clusters").json()["clusters"]}
    assert listed == {team_cluster, personal.json()["id"]}
    only_team = people["viewer"].get("/clusters", params={"team_id": team_id}).json()["clusters"]
    assert [c["id"] for c in only_team] == [team_cluster]
