"""The kubeconfigs the gateway hands out, with the gateway serving HTTPS as kubectl needs (it
sends no credentials to an http:// server): the exec-plugin one for viewers and above, which
trusts the gateway's CA and reaches the cluster through the proxy, and the audited admin one
for admins and owners."""

import base64
import json
import ssl
import uuid

import httpx
import pytest
import yaml
from sqlalchemy import select

from pyk8s_kit.testing import wait_until
from pyk8s_provisioner.models import AdminKubeconfigRead


@pytest.fixture
def platform_overrides(kube_api):
    # The API server double's certificate is for 127.0.0.1 and its CA is at hand: the gateway
    # serves with the same ones.
    folder = kube_api.folder
    return {
        "auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1},
        "gateway": {
            "tls_cert_file": str(folder / "server.pem"),
            "tls_key_file": str(folder / "server-key.pem"),
            "public_ca_file": str(folder / "ca.pem"),
        },
    }


@pytest.fixture
def api(platform, kube_api):
    verify = ssl.create_default_context(cafile=str(kube_api.folder / "ca.pem"))
    with httpx.Client(base_url=f"{platform.url}/api/v1", timeout=30, verify=verify) as client:
        yield client


@pytest.fixture
def team(person, make_team, join_team):
    people = {role: person() for role in ("owner", "admin", "member", "viewer", "outsider")}
    team_id = make_team(people["owner"])
    for role in ("admin", "member", "viewer"):
        join_team(people["owner"], team_id, people[role], role)
    return team_id, people


def test_a_viewer_gets_a_kubeconfig_that_reaches_the_cluster_through_the_gateway(
    platform, team, kube_api, add_cluster
):
    team_id, people = team
    viewer = people["viewer"]
    cluster = add_cluster(people["owner"].id, team_id)
    answer = viewer.get(f"/clusters/{cluster}/kubeconfig")
    assert answer.status_code == 200, answer.text
    config = yaml.safe_load(answer.json()["kubeconfig"])
    entry = config["clusters"][0]["cluster"]
    assert platform.url.startswith("https://")
    assert entry["server"] == f"{platform.url}/k8s/clusters/{cluster}"
    ca = base64.b64decode(entry["certificate-authority-data"]).decode()
    assert ca == kube_api.pki.ca
    credential = config["users"][0]["user"]["exec"]
    assert credential["args"] == ["--server", platform.url, "kube-credential", "--cluster", cluster]
    # No credential of the cluster's in it.
    for secret in (kube_api.pki.client_key, kube_api.pki.client_certificate):
        assert secret not in answer.text
        assert base64.b64encode(secret.encode()).decode() not in answer.text

    # What kubectl does with it: trust that CA, send the plugin's token, reach the cluster.
    verify = ssl.create_default_context(cadata=ca)
    token = {"Authorization": f"Bearer {viewer.tokens['access_token']}"}
    with httpx.Client(verify=verify, headers=token, timeout=10) as kubectl:
        pods = kubectl.get(f"{entry['server']}/api/v1/namespaces/default/pods")
    assert pods.status_code == 200 and pods.json() == kube_api.pod_list
    assert kube_api.seen[-1].all("impersonate-group") == ["pyk8s:viewer"]


def test_kubeconfig_refusals_are_problems(team, add_cluster):
    team_id, people = team
    ready = add_cluster(people["owner"].id, team_id)
    pending = add_cluster(people["owner"].id, team_id, status="provisioning")
    cases = [
        (people["outsider"], f"/clusters/{ready}/kubeconfig", 404, "not_found"),
        (people["viewer"], f"/clusters/{uuid.uuid4()}/kubeconfig", 404, "not_found"),
        (people["viewer"], f"/clusters/{pending}/kubeconfig", 409, "conflict"),
        (people["viewer"], f"/clusters/{ready}/kubeconfig/admin", 403, "forbidden"),
        (people["member"], f"/clusters/{ready}/kubeconfig/admin", 403, "forbidden"),
        (people["outsider"], f"/clusters/{ready}/kubeconfig/admin", 404, "not_found"),
        (people["admin"], f"/clusters/{pending}/kubeconfig/admin", 409, "conflict"),
        (people["admin"], "/clusters/not-an-id/kubeconfig/admin", 422, "validation_error"),
    ]
    for who, path, status, code in cases:
        answer = who.get(path)
        assert answer.status_code == status, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == code


def test_each_admin_kubeconfig_download_is_recorded_and_announced(
    platform, team, kube_api, add_cluster, nats_server
):
    team_id, people = team
    owner, admin = people["owner"], people["admin"]
    cluster = add_cluster(owner.id, team_id)

    async def audit_consumer():
        events = await nats_server.connect("events")
        consumer = await events.jetstream().pull_subscribe(
            "pyk8s.events.cluster.admin_kubeconfig_read",
            durable=f"audit-{uuid.uuid4().hex[:8]}",
            stream="PYK8S_EVENTS",
        )
        return events, consumer

    events, consumer = platform.run(audit_consumer())
    for who in (admin, owner):
        answer = who.get(f"/clusters/{cluster}/kubeconfig/admin")
        assert answer.status_code == 200, answer.text
        assert answer.json()["kubeconfig"] == kube_api.admin_kubeconfig()

    async def reads():
        async with platform.runtimes["provisioner"].db.session() as session:
            query = select(AdminKubeconfigRead).order_by(AdminKubeconfigRead.read_at)
            rows = await session.scalars(query)
            return [(str(r.cluster_id), str(r.actor_id)) for r in rows]

    assert platform.run(reads()) == [(cluster, admin.id), (cluster, owner.id)]
    announced = []

    def both_announced() -> bool:
        announced.extend(platform.run(consumer.fetch(2, timeout=10)))
        return len(announced) == 2

    wait_until(both_announced, timeout=30)
    data = [json.loads(message.data)["data"] for message in announced]
    assert [(d["cluster_id"], d["actor_id"]) for d in data] == [
        (cluster, admin.id),
        (cluster, owner.id),
    ]
    platform.run(events.close())
