"""Clusters over HTTP against the real services; the provisioner drives the kind/k3d test
doubles, which run real Docker containers."""

import subprocess
from datetime import datetime, timedelta

import pytest
import yaml
from sqlalchemy import select, update

from conftest import KWOK_SETTINGS, NODE_LABELS, require_kwok, unique
from pyk8s_contracts import subjects
from pyk8s_contracts.clusters import ClusterNode, ClusterNodeRequest
from pyk8s_contracts.common import utcnow
from pyk8s_kit.bus import request
from pyk8s_kit.testing import wait_until
from pyk8s_provisioner.drivers.kwok import installed_versions
from pyk8s_provisioner.models import Cluster


def docker_names(provider: str, runtime_name: str) -> list[str]:
    selector = f"label={NODE_LABELS[provider]}={runtime_name}"
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", selector, "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(out.stdout.split())


def runtime_clusters(platform) -> list[Cluster]:
    async def load():
        async with platform.runtimes["provisioner"].db.session() as session:
            return list((await session.scalars(select(Cluster))).all())

    return platform.run(load())


def runtime_name(platform, cluster_id: str) -> str:
    return next(c.runtime_name for c in runtime_clusters(platform) if str(c.id) == cluster_id)


pytestmark = pytest.mark.usefixtures("remove_runtime_clusters")


def make_team(owner) -> str:
    created = owner.post("/teams", json={"name": unique("team-")})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def join(inviter, team_id: str, person, role: str) -> None:
    invited = inviter.post(
        f"/teams/{team_id}/invitations", json={"login": person.username, "role": role}
    )
    assert invited.status_code == 201, invited.text
    accepted = person.post(f"/invitations/{invited.json()['id']}/accept")
    assert accepted.status_code == 200, accepted.text


def create(person, name: str | None = None, **body):
    return person.post("/clusters", json={"name": name or unique("c-"), "provider": "kind", **body})


def wait_status(person, cluster_id: str, status: str, timeout: float = 60) -> dict:
    def current():
        answer = person.get(f"/clusters/{cluster_id}")
        assert answer.status_code == 200, answer.text
        return answer.json() if answer.json()["status"] == status else None

    return wait_until(current, timeout=timeout, interval=0.1)


def assert_problem(answer, status: int, code: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code, answer.json()
    return answer.json()


@pytest.mark.parametrize("provider", ["kind", "k3d"])
def test_personal_cluster_lifecycle(platform, person, provider):
    ada = person()
    answer = create(ada, "demo", provider=provider, workers=1)
    assert answer.status_code == 202, answer.text
    cluster = answer.json()
    assert cluster["status"] == "pending" and cluster["team_id"] is None
    assert cluster["owner_id"] == ada.id and cluster["workers"] == 1
    assert answer.headers["location"].endswith(f"/clusters/{cluster['id']}")

    ready = wait_status(ada, cluster["id"], "ready")
    assert ready["api_server"].startswith("https://127.0.0.1:") and ready["ready_at"]
    runtime = runtime_name(platform, cluster["id"])
    assert len(runtime) <= 32 and runtime.startswith("demo-")
    # One server and one worker; k3d adds its load balancer.
    assert len(docker_names(provider, runtime)) == {"kind": 2, "k3d": 3}[provider]

    kubeconfig = ada.get(f"/clusters/{cluster['id']}/kubeconfig")
    assert kubeconfig.status_code == 200
    proxied = f"server: {platform.url}/k8s/clusters/{cluster['id']}\n"
    assert proxied in kubeconfig.json()["kubeconfig"]
    admin = ada.get(f"/clusters/{cluster['id']}/kubeconfig/admin")
    assert ready["api_server"] in admin.json()["kubeconfig"]
    listed = ada.get("/clusters").json()["clusters"]
    assert [c["id"] for c in listed] == [cluster["id"]]

    deleting = ada.delete(f"/clusters/{cluster['id']}")
    assert deleting.status_code == 202 and deleting.json()["status"] == "deleting"
    wait_status(ada, cluster["id"], "deleted")
    assert docker_names(provider, runtime) == []
    again = ada.delete(f"/clusters/{cluster['id']}")
    assert again.status_code == 202 and again.json()["status"] == "deleted"
    assert ada.get("/clusters").json()["clusters"] == []
    assert_problem(ada.get(f"/clusters/{cluster['id']}/kubeconfig"), 409, "conflict")


def test_kubeconfig_is_encrypted_at_rest(platform, person):
    ada = person()
    cluster = create(ada).json()
    wait_status(ada, cluster["id"], "ready")
    stored = next(c for c in runtime_clusters(platform) if str(c.id) == cluster["id"])
    plain = ada.get(f"/clusters/{cluster['id']}/kubeconfig/admin").json()["kubeconfig"]
    assert stored.kubeconfig_encrypted and "apiVersion" not in stored.kubeconfig_encrypted
    assert plain not in stored.kubeconfig_encrypted


def test_node_container_for_the_terminal(platform, person):
    ada = person()
    kind = create(ada, provider="kind").json()
    k3d = create(ada, provider="k3d").json()
    for cluster, pattern in ((kind, "{}-control-plane"), (k3d, "k3d-{}-server-0")):
        wait_status(ada, cluster["id"], "ready")
        nc = platform.runtimes["terminal"].nc  # the one peer that asks for nodes
        node = platform.run(
            request(
                nc,
                subjects.PROVISIONER_CLUSTER_NODE,
                ClusterNodeRequest(cluster_id=cluster["id"]),
                ClusterNode,
            )
        )
        runtime = runtime_name(platform, cluster["id"])
        assert node.container == pattern.format(runtime)
        assert node.status == "ready"
        assert node.container in docker_names(cluster["provider"], runtime)


def test_same_name_in_two_teams_never_collides(platform, person):
    ada, bob = person(), person()
    team_a, team_b = make_team(ada), make_team(bob)
    first = create(ada, "shared", team_id=team_a, provider="k3d")
    second = create(bob, "shared", team_id=team_b, provider="k3d")
    assert first.status_code == second.status_code == 202
    wait_status(ada, first.json()["id"], "ready")
    wait_status(bob, second.json()["id"], "ready")
    one = runtime_name(platform, first.json()["id"])
    two = runtime_name(platform, second.json()["id"])
    assert one != two
    assert sorted(docker_names("k3d", one)) == [f"k3d-{one}-server-0", f"k3d-{one}-serverlb"]
    assert sorted(docker_names("k3d", two)) == [f"k3d-{two}-server-0", f"k3d-{two}-serverlb"]


def test_a_name_is_unique_within_its_scope(person):
    ada = person()
    assert create(ada, "dup").status_code == 202
    assert assert_problem(create(ada, "dup"), 409, "conflict")["field"] == "name"
    team = make_team(ada)
    assert create(ada, "dup", team_id=team).status_code == 202


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Bad_Name"},
        {"name": "-lead"},
        {"name": "trail-"},
        {"name": ""},
        {"name": "x" * 41},
        {"name": "a.b"},
        {"provider": "minikube"},
        {"provider": None},
        {"workers": 6},
        {"workers": -1},
        {"ttl_hours": 0},
        {"kubernetes_version": "1.31"},
        {"kubernetes_version": "latest; rm -rf /"},
        {"unexpected": 1},
    ],
)
def test_bad_input_is_a_422_problem(person, body):
    ada = person()
    payload = {"name": "ok", "provider": "kind", **body}
    assert_problem(ada.post("/clusters", json=payload), 422, "validation_error")


def test_ttl_above_the_maximum_is_refused(person):
    ada = person()
    body = assert_problem(create(ada, ttl_hours=73), 422, "validation_error")
    assert "72" in body["detail"]


def test_a_kwok_version_that_is_not_installed_is_refused_with_those_that_are(person):
    require_kwok()
    ada = person()
    installed = list(installed_versions(KWOK_SETTINGS["kwok_versions_dir"]))
    answer = create(ada, provider="kwok", kubernetes_version="v1.9.0")
    body = assert_problem(answer, 422, "validation_error")
    assert body["detail"] == (
        f"Kubernetes v1.9.0 is not offered by kwok here; available: {', '.join(installed)}"
    )
    assert body["available"] == installed
    assert ada.get("/clusters").json()["clusters"] == []


def test_signed_out_is_401(api):
    assert_problem(api.get("/clusters"), 401, "unauthorized")
    assert_problem(
        api.post("/clusters", json={"name": "x", "provider": "kind"}), 401, "unauthorized"
    )


def test_unknown_cluster_is_404_and_a_bad_id_is_422(person):
    ada = person()
    assert_problem(ada.get("/clusters/00000000-0000-0000-0000-000000000000"), 404, "not_found")
    assert_problem(ada.get("/clusters/not-a-uuid"), 422, "validation_error")


# An offered version whose node image cannot be pulled (no registry here).
UNPULLABLE = {"provisioner": {"kind_versions": ("v1.99.0",)}}


@pytest.mark.parametrize("platform_overrides", [UNPULLABLE], ids=["unpullable"])
def test_a_failed_create_carries_the_cli_message(person):
    ada = person()
    cluster = create(ada, kubernetes_version="v1.99.0").json()
    failed = wait_status(ada, cluster["id"], "failed")
    assert 'failed to pull image "kindest/node:v1.99.0"' in failed["status_message"]
    assert_problem(ada.get(f"/clusters/{cluster['id']}/kubeconfig"), 409, "conflict")
    assert ada.delete(f"/clusters/{cluster['id']}").status_code == 202
    wait_status(ada, cluster["id"], "deleted")


LIMITS = {"provisioner": {"personal_quota": 1, "team_quota": 2, "sweep_interval_seconds": 0.2}}
with_limits = pytest.mark.parametrize("platform_overrides", [LIMITS], ids=["limits"])


@with_limits
def test_personal_quota(person):
    ada = person()
    first = create(ada).json()
    assert_problem(create(ada), 409, "quota_exceeded")
    ada.delete(f"/clusters/{first['id']}")
    wait_status(ada, first["id"], "deleted")
    assert create(ada).status_code == 202


@with_limits
def test_team_quota_counts_every_member(person):
    ada, bob = person(), person()
    team = make_team(ada)
    join(ada, team, bob, "member")
    assert create(ada, team_id=team).status_code == 202
    assert create(bob, team_id=team).status_code == 202
    body = assert_problem(create(bob, team_id=team), 409, "quota_exceeded")
    assert body["quota"] == 2
    assert create(bob).status_code == 202  # personal clusters have their own quota


def test_extend_up_to_the_maximum(person):
    ada = person()
    cluster = create(ada, ttl_hours=2).json()
    extended = ada.post(f"/clusters/{cluster['id']}/extend", json={"hours": 10})
    assert extended.status_code == 200
    before, after = cluster["expires_at"], extended.json()["expires_at"]
    assert datetime.fromisoformat(after) - datetime.fromisoformat(before) == timedelta(hours=10)
    assert_problem(
        ada.post(f"/clusters/{cluster['id']}/extend", json={"hours": 70}), 422, "validation_error"
    )
    assert_problem(
        ada.post(f"/clusters/{cluster['id']}/extend", json={"hours": 0}), 422, "validation_error"
    )


@with_limits
def test_expired_clusters_are_deleted_by_the_sweeper(platform, person):
    ada = person()
    cluster = create(ada).json()
    wait_status(ada, cluster["id"], "ready")
    runtime = runtime_name(platform, cluster["id"])

    async def expire_now():
        async with platform.runtimes["provisioner"].db.session() as session:
            await session.execute(
                update(Cluster)
                .where(Cluster.id == cluster["id"])
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )

    platform.run(expire_now())
    gone = wait_status(ada, cluster["id"], "deleted", timeout=30)
    assert gone["status_message"] == "expired"
    assert docker_names("kind", runtime) == []
    assert_problem(
        ada.post(f"/clusters/{cluster['id']}/extend", json={"hours": 1}), 409, "conflict"
    )


def test_a_ready_cluster_has_its_endpoint_and_a_delete_names_who_deleted(person):
    ada, bob = person(), person()
    team = make_team(ada)
    join(ada, team, bob, "admin")
    cluster = create(ada, team_id=team).json()
    ready = wait_status(ada, cluster["id"], "ready")
    server = yaml.safe_load(ada.get(f"/clusters/{cluster['id']}/kubeconfig").json()["kubeconfig"])
    endpoint = server["clusters"][0]["cluster"]["server"]
    assert ready["endpoint"] == endpoint and endpoint.endswith(f"/k8s/clusters/{cluster['id']}")
    [listed] = ada.get("/clusters").json()["clusters"]
    assert listed["endpoint"] == endpoint
    assert ready["kubernetes_version"] == "v1.34.0"  # the default kind's binary names

    deleting = bob.delete(f"/clusters/{cluster['id']}").json()
    assert (deleting["deleted_by"], deleting["deleted_by_email"]) == (bob.id, bob.email)
    assert deleting["endpoint"] is None
    gone = wait_status(ada, cluster["id"], "deleted")
    assert (gone["deleted_by"], gone["deleted_by_email"]) == (bob.id, bob.email)
    assert gone["api_server"] is None and gone["endpoint"] is None
    # A second delete changes nothing, the first deleter included.
    assert ada.delete(f"/clusters/{cluster['id']}").json()["deleted_by"] == bob.id
