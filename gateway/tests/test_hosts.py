"""The pool of Docker hosts over HTTP: only platform admins (AUTH_PLATFORM_ADMINS) list,
drain and undrain hosts, refused at the gateway and again by the provisioner; a drained host
takes no new cluster."""

import pytest

from conftest import unique
from pyk8s_contracts import subjects
from pyk8s_contracts.common import ByPlatformAdmin
from pyk8s_contracts.hosts import HostList, HostListRequest, HostRequest
from pyk8s_kit.bus import ServiceError, request

ADMIN = unique("padmin")
ROUTES = [("GET", "/hosts"), ("POST", "/hosts/local/drain"), ("POST", "/hosts/local/undrain")]


@pytest.fixture
def platform_overrides():
    return {"auth": {"platform_admins": f"someone@example.org, {ADMIN}@example.com"}}


def test_hosts_are_for_platform_admins_only(api, person, make_team):
    team_owner = person()
    make_team(team_owner)  # the highest team role grants nothing here
    for method, path in ROUTES:
        signed_out = api.request(method, path)
        assert signed_out.status_code == 401, path
        refused = team_owner.api.request(method, path, headers=team_owner.headers)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "forbidden"
        assert refused.json()["detail"] == "this needs the platform admin role"


def test_behind_the_gateway_the_provisioner_checks_the_role_again(platform, person):
    ordinary, admin = person(), person(ADMIN)

    async def ask(subject, payload, caller):
        nc = await platform.nats.connect("gateway")
        try:
            token = caller.tokens["access_token"]
            return await request(nc, subject, payload, HostList, actor=token)
        finally:
            await nc.close()

    for subject, payload in (
        (subjects.PROVISIONER_HOST_LIST, HostListRequest(actor_id=ordinary.id)),
        (subjects.PROVISIONER_HOST_DRAIN, HostRequest(actor_id=ordinary.id, host_id="local")),
        (subjects.PROVISIONER_HOST_UNDRAIN, HostRequest(actor_id=ordinary.id, host_id="local")),
    ):
        assert isinstance(payload, ByPlatformAdmin)
        with pytest.raises(ServiceError) as refused:
            platform.run(ask(subject, payload, ordinary))
        assert refused.value.code == "forbidden", subject
    listed = platform.run(
        ask(subjects.PROVISIONER_HOST_LIST, HostListRequest(actor_id=admin.id), admin)
    )
    assert [host.id for host in listed.hosts] == ["local"]


def test_a_platform_admin_drains_and_undrains_the_host(person):
    admin, someone = person(ADMIN), person()
    hosts = admin.get("/hosts")
    assert hosts.status_code == 200, hosts.text
    [local] = hosts.json()["hosts"]
    assert (local["id"], local["reachable"], local["drained"], local["clusters"]) == (
        "local",
        True,
        False,
        0,
    )
    providers = {p["name"]: p for p in local["announcement"]["providers"]}
    # The kind double's default version, the only one offered here (no node image held).
    assert providers["kind"]["available"]
    assert providers["kind"]["kubernetes_versions"] == ["v1.34.0"]
    drained = admin.post("/hosts/local/drain")
    assert drained.status_code == 200 and drained.json()["drained"] is True
    refused = someone.post("/clusters", json={"name": "nowhere", "provider": "kind"})
    assert refused.status_code == 503
    assert refused.json()["code"] == "service_unavailable"
    assert refused.json()["detail"] == (
        "no Docker host can take a kind v1.34.0 cluster now: local is drained"
    )
    assert someone.get("/clusters").json()["clusters"] == []  # nothing half-written
    undrained = admin.post("/hosts/local/undrain")
    assert undrained.status_code == 200 and undrained.json()["drained"] is False
    made = someone.post("/clusters", json={"name": "somewhere", "provider": "kind", "ttl_hours": 1})
    assert made.status_code == 202, made.text
    assert made.json()["host_id"] == "local"
    assert admin.get("/hosts").json()["hosts"][0]["clusters"] == 1
    assert someone.delete(f"/clusters/{made.json()['id']}").status_code == 202


def test_unknown_and_malformed_hosts_are_refused(person):
    admin = person(ADMIN)
    unknown = admin.post("/hosts/elsewhere/drain")
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "no Docker host 'elsewhere'"
    assert admin.post("/hosts/Not_A_Host/drain").status_code == 422


def test_an_api_token_of_a_platform_admin_carries_the_role(person):
    admin = person(ADMIN)
    created = admin.post("/auth/tokens", json={"name": "ops", "expires_in_days": 1})
    assert created.status_code == 201, created.text
    headers = {"Authorization": f"Bearer {created.json()['token']}"}
    assert admin.api.get("/hosts", headers=headers).status_code == 200
