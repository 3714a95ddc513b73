"""Kubernetes access behind the gateway: the provisioner on its own (real database and NATS),
asked straight on its subjects as the gateway asks, with a test double for the teams
service's role lookup. Each right is proven by its denials as well as its grant."""

import base64
import json
import uuid
from datetime import timedelta

import pytest
import yaml
from sqlalchemy import select

from pyk8s_contracts import clusters as c
from pyk8s_contracts import subjects
from pyk8s_contracts.common import utcnow
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.teams import MembershipReply, MembershipRequest, Role
from pyk8s_kit.bus import ServiceError, request
from pyk8s_kit.testing import ensure_all_streams
from pyk8s_provisioner import kubeconfigs
from pyk8s_provisioner.crypto import KubeconfigBox
from pyk8s_provisioner.main import MIGRATIONS, start
from pyk8s_provisioner.models import AdminKubeconfigRead, Cluster
from pyk8s_provisioner.settings import ProvisionerSettings

TEAM = uuid.uuid4()
GATEWAY_URL = "https://lab.example.com"


def pem(label: str, body: str) -> str:
    encoded = base64.b64encode(body.encode()).decode()
    return f"-----BEGIN {label}-----\n{encoded}\n-----END {label}-----\n"


CA, CERT, KEY = pem("CERTIFICATE", "ca"), pem("CERTIFICATE", "admin"), pem("PRIVATE KEY", "key")


def admin_kubeconfig(server: str = "https://127.0.0.1:6443") -> str:
    def data(text: str) -> str:
        return base64.b64encode(text.encode()).decode()

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "kind-x",
                    "cluster": {"server": server, "certificate-authority-data": data(CA)},
                }
            ],
            "users": [
                {
                    "name": "kind-x",
                    "user": {"client-certificate-data": data(CERT), "client-key-data": data(KEY)},
                }
            ],
            "contexts": [{"name": "kind-x", "context": {"cluster": "kind-x", "user": "kind-x"}}],
            "current-context": "kind-x",
        }
    )


class TeamsDouble:
    """Answers `teams.membership` from `roles`, as the teams service would."""

    def __init__(self) -> None:
        self.roles: dict[uuid.UUID, Role] = {}

    async def start(self, nc) -> None:
        async def membership(msg) -> None:
            asked = MembershipRequest.model_validate_json(msg.data)
            role = self.roles.get(asked.user_id) if asked.team_id == TEAM else None
            await msg.respond(MembershipReply(role=role).model_dump_json().encode())

        await nc.subscribe(subjects.TEAMS_MEMBERSHIP, cb=membership)
        await nc.flush()


class Setup:
    def __init__(self, runtime, gateway_nc, keys, teams: TeamsDouble) -> None:
        self.runtime = runtime
        self.nc = gateway_nc
        self.keys = keys
        self.teams = teams
        self.box = KubeconfigBox(runtime.settings.kubeconfig_key)

    def person(self, role: Role | None) -> uuid.UUID:
        user_id = uuid.uuid4()
        if role is not None:
            self.teams.roles[user_id] = role
        return user_id

    async def cluster(self, status: str = "ready", team_id=TEAM, owner=None) -> Cluster:
        cluster_id = uuid.uuid4()
        cluster = Cluster(
            id=cluster_id,
            name=f"c-{cluster_id.hex[:8]}",
            team_id=team_id,
            owner_id=owner or uuid.uuid4(),
            provider="kind",
            workers=0,
            status=status,
            runtime_name=f"r-{cluster_id.hex[:12]}",
            kubeconfig_encrypted=self.box.seal(admin_kubeconfig()) if status == "ready" else None,
            created_at=utcnow(),
            expires_at=utcnow() + timedelta(hours=1),
        )
        async with self.runtime.db.session() as session:
            session.add(cluster)
        return cluster

    async def ask(self, subject: str, payload, reply):
        """As the gateway asks: on behalf of the payload's actor, with their access token."""
        return await request(
            self.nc, subject, payload, reply, actor=self.keys.assertion(payload.actor_id)
        )

    async def refused(self, subject: str, payload, reply) -> ErrorCode:
        with pytest.raises(ServiceError) as error:
            await self.ask(subject, payload, reply)
        return error.value.code


@pytest.fixture
async def setup(make_database, nats_server, auth_keys, tmp_path):
    await ensure_all_streams(nats_server)
    runtime = await start(
        ProvisionerSettings(
            environment="test",
            nats_url=nats_server.url,
            nats_credentials=str(nats_server.seeds["provisioner"]),
            database_url=make_database("provisioner", MIGRATIONS),
            work_dir=tmp_path / "work",
        )
    )
    teams_nc = await nats_server.connect("teams")
    teams = TeamsDouble()
    await teams.start(teams_nc)
    gateway_nc = await nats_server.connect("gateway")
    yield Setup(runtime, gateway_nc, auth_keys, teams)
    for connection in (gateway_nc, teams_nc):
        await connection.close()
    await runtime.stop()


def proxy_request(user_id, cluster) -> c.ClusterProxyRequest:
    return c.ClusterProxyRequest(actor_id=user_id, cluster_id=cluster.id)


@pytest.mark.parametrize("role", list(Role))
async def test_proxy_impersonates_the_callers_current_role(setup, role):
    cluster = await setup.cluster()
    caller = setup.person(role)
    target = await setup.ask(
        subjects.PROVISIONER_CLUSTER_PROXY, proxy_request(caller, cluster), c.ClusterProxy
    )
    assert target.user == f"pyk8s:user:{caller}"
    assert target.groups == [f"pyk8s:{role.value}"]
    assert target.server == "https://127.0.0.1:6443"
    assert (target.certificate_authority, target.client_certificate, target.client_key) == (
        CA,
        CERT,
        KEY,
    )


async def test_proxy_follows_a_role_change_on_the_next_request(setup):
    cluster = await setup.cluster()
    caller = setup.person(Role.ADMIN)
    ask = proxy_request(caller, cluster)
    first = await setup.ask(subjects.PROVISIONER_CLUSTER_PROXY, ask, c.ClusterProxy)
    assert first.groups == ["pyk8s:admin"]
    setup.teams.roles[caller] = Role.VIEWER
    second = await setup.ask(subjects.PROVISIONER_CLUSTER_PROXY, ask, c.ClusterProxy)
    assert second.groups == ["pyk8s:viewer"]
    del setup.teams.roles[caller]
    assert await setup.refused(subjects.PROVISIONER_CLUSTER_PROXY, ask, c.ClusterProxy) == (
        ErrorCode.NOT_FOUND
    )


async def test_proxy_refusals(setup):
    ready = await setup.cluster()
    provisioning = await setup.cluster(status="provisioning")
    member = setup.person(Role.MEMBER)
    outsider = setup.person(None)
    subject = subjects.PROVISIONER_CLUSTER_PROXY
    unknown = c.ClusterProxyRequest(actor_id=member, cluster_id=uuid.uuid4())
    assert await setup.refused(subject, proxy_request(outsider, ready), c.ClusterProxy) == (
        ErrorCode.NOT_FOUND
    )
    assert await setup.refused(subject, unknown, c.ClusterProxy) == ErrorCode.NOT_FOUND
    assert await setup.refused(subject, proxy_request(member, provisioning), c.ClusterProxy) == (
        ErrorCode.CONFLICT
    )
    # An outsider learns nothing from a cluster's state either.
    assert await setup.refused(subject, proxy_request(outsider, provisioning), c.ClusterProxy) == (
        ErrorCode.NOT_FOUND
    )


async def test_a_personal_cluster_is_proxied_for_its_owner_alone_as_owner(setup):
    owner = setup.person(None)
    cluster = await setup.cluster(team_id=None, owner=owner)
    subject = subjects.PROVISIONER_CLUSTER_PROXY
    target = await setup.ask(subject, proxy_request(owner, cluster), c.ClusterProxy)
    assert target.groups == ["pyk8s:owner"]
    # Not even an owner of some team sees someone else's personal cluster.
    stranger = setup.person(Role.OWNER)
    assert await setup.refused(subject, proxy_request(stranger, cluster), c.ClusterProxy) == (
        ErrorCode.NOT_FOUND
    )


def kubeconfig_request(user_id, cluster, server=GATEWAY_URL) -> c.KubeconfigRequest:
    return c.KubeconfigRequest(actor_id=user_id, cluster_id=cluster.id, server=server)


async def test_a_viewer_gets_the_exec_kubeconfig_without_secrets(setup):
    cluster = await setup.cluster()
    viewer = setup.person(Role.VIEWER)
    got = await setup.ask(
        subjects.PROVISIONER_CLUSTER_KUBECONFIG,
        kubeconfig_request(viewer, cluster, GATEWAY_URL + "/"),
        c.Kubeconfig,
    )
    config = yaml.safe_load(got.kubeconfig)
    name = f"pyk8s-{cluster.name}"
    assert config["current-context"] == name
    assert config["contexts"] == [{"name": name, "context": {"cluster": name, "user": name}}]
    assert config["clusters"] == [
        {"name": name, "cluster": {"server": f"{GATEWAY_URL}/k8s/clusters/{cluster.id}"}}
    ]
    credential = config["users"][0]["user"]["exec"]
    assert credential["apiVersion"] == "client.authentication.k8s.io/v1"
    assert credential["command"] == "pyk8s"
    assert credential["args"] == [
        "--server",
        GATEWAY_URL,
        "kube-credential",
        "--cluster",
        str(cluster.id),
    ]
    assert credential["interactiveMode"] == "Never"
    assert "pyk8s" in credential["installHint"]
    for secret in (CA, CERT, KEY):
        assert base64.b64encode(secret.encode()).decode() not in got.kubeconfig
        assert secret not in got.kubeconfig


async def test_the_exec_kubeconfig_refusals(setup):
    ready = await setup.cluster()
    pending = await setup.cluster(status="pending")
    viewer, outsider = setup.person(Role.VIEWER), setup.person(None)
    subject = subjects.PROVISIONER_CLUSTER_KUBECONFIG
    assert await setup.refused(subject, kubeconfig_request(outsider, ready), c.Kubeconfig) == (
        ErrorCode.NOT_FOUND
    )
    assert await setup.refused(subject, kubeconfig_request(viewer, pending), c.Kubeconfig) == (
        ErrorCode.CONFLICT
    )
    for server in ("ftp://lab.example.com", "https://lab.example.com/?x=1", "lab.example.com"):
        with pytest.raises(ValueError):
            kubeconfig_request(viewer, ready, server)


async def test_admin_kubeconfig_needs_admin_and_each_download_is_audited(setup, nats_server):
    cluster = await setup.cluster()
    admin = setup.person(Role.ADMIN)
    subject = subjects.PROVISIONER_CLUSTER_ADMIN_KUBECONFIG
    for role, expected in (
        (Role.MEMBER, ErrorCode.FORBIDDEN),
        (Role.VIEWER, ErrorCode.FORBIDDEN),
        (None, ErrorCode.NOT_FOUND),
    ):
        who = setup.person(role)
        payload = c.ClusterRequest(actor_id=who, cluster_id=cluster.id)
        assert await setup.refused(subject, payload, c.Kubeconfig) == expected, role

    events = await nats_server.connect("events")
    js = events.jetstream()
    consumer = await js.pull_subscribe(
        subjects.event_subject("cluster", c.ADMIN_KUBECONFIG_READ),
        durable=f"audit-{uuid.uuid4().hex[:8]}",
        stream="PYK8S_EVENTS",
    )
    got = await setup.ask(
        subject, c.ClusterRequest(actor_id=admin, cluster_id=cluster.id), c.Kubeconfig
    )
    assert got.kubeconfig == admin_kubeconfig()

    async with setup.runtime.db.session() as session:
        reads = (await session.scalars(select(AdminKubeconfigRead))).all()
    assert [(r.cluster_id, r.actor_id) for r in reads] == [(cluster.id, admin)]
    [message] = await consumer.fetch(1, timeout=10)
    event = json.loads(message.data)
    assert event["type"] == "io.pyk8s.cluster.admin_kubeconfig_read"
    assert event["subject"] == str(cluster.id)
    assert event["data"]["actor_id"] == str(admin)
    assert event["data"]["cluster_id"] == str(cluster.id)
    await events.close()


async def test_nothing_is_audited_when_the_admin_kubeconfig_is_refused(setup):
    pending = await setup.cluster(status="provisioning")
    owner = setup.person(Role.OWNER)
    payload = c.ClusterRequest(actor_id=owner, cluster_id=pending.id)
    subject = subjects.PROVISIONER_CLUSTER_ADMIN_KUBECONFIG
    assert await setup.refused(subject, payload, c.Kubeconfig) == ErrorCode.CONFLICT
    async with setup.runtime.db.session() as session:
        assert (await session.scalars(select(AdminKubeconfigRead))).all() == []


def test_the_admin_credential_is_read_from_embedded_data_only():
    credential = kubeconfigs.admin_credential(admin_kubeconfig("https://127.0.0.1:6443/"))
    assert credential == kubeconfigs.AdminCredential("https://127.0.0.1:6443", CA, CERT, KEY)
    with_paths = admin_kubeconfig().replace("client-key-data", "client-key")
    for broken in ("", "- a list", "apiVersion: v1", with_paths):
        with pytest.raises(kubeconfigs.KubeconfigError):
            kubeconfigs.admin_credential(broken)
