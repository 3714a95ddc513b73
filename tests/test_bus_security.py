"""The internal bus as an attacker on the same network sees it, against the running platform:
NATS admits only the platform's identities, each limited to its component's subjects, and
the services act only for the user a verified access token names."""

import json
import re
import uuid
from pathlib import Path

import nats
import pytest
from nats.errors import Error as NatsError

from pyk8s_contracts import subjects
from pyk8s_contracts.common import ByUser
from pyk8s_contracts.events import CloudEvent, event_type
from pyk8s_contracts.identities import ALL_IDENTITIES, PERMISSIONS, inbox_prefix
from pyk8s_kit import natsauth
from pyk8s_kit.bus import ACTOR_HEADER
from pyk8s_kit.testing import wait_until_async

ROOT = Path(__file__).resolve().parents[1]

# What the `events` identity (outside programs) must not do: each line a request it might send.
EVENTS_MAY_NOT_PUBLISH = [
    subjects.AUTH_USERS_LOOKUP,
    subjects.AUTH_TOKENS_CREATE,
    subjects.AUTH_LOGIN,
    subjects.AUTH_JWKS,
    subjects.PROVISIONER_CLUSTER_KUBECONFIG,
    subjects.PROVISIONER_CLUSTER_LIST,
    subjects.PROVISIONER_CLUSTER_ACCESS,
    subjects.TERMINAL_TICKET_CREATE,
    "terminal.session.00000000-0000-0000-0000-000000000000.in",
    subjects.TEAMS_INVITATIONS_CREATE,
    subjects.TEAMS_MEMBERS_LIST,
    subjects.TEAMS_MEMBERSHIP,
    "pyk8s.events.cluster.created",
    "pyk8s.work.provisioner.create",
    "pyk8s.work.provisioner.local.create",
    f"$KV.{subjects.HOSTS_BUCKET}.local",
    subjects.SIGNUP_INVITED,
    "$JS.API.STREAM.NAMES",
    "$JS.API.STREAM.LIST",
    "$JS.API.INFO",
    f"$JS.API.STREAM.DELETE.{subjects.EVENTS_STREAM}",
    f"$JS.API.STREAM.PURGE.{subjects.EVENTS_STREAM}",
    f"$JS.API.STREAM.UPDATE.{subjects.EVENTS_STREAM}",
    f"$JS.API.STREAM.INFO.{subjects.WORK_STREAM}",
    f"$JS.API.CONSUMER.CREATE.{subjects.WORK_STREAM}",
    f"$JS.API.CONSUMER.MSG.NEXT.{subjects.WORK_STREAM}.provisioner",
    f"$JS.API.CONSUMER.CREATE.{subjects.SIGNUPS_STREAM}",
    f"$JS.API.CONSUMER.DELETE.{subjects.EVENTS_STREAM}.gateway",
    "$SRV.PING",
]
EVENTS_MAY_NOT_SUBSCRIBE = [
    ">",
    "auth.>",
    subjects.AUTH_JWKS,
    "_INBOX.>",
    f"{inbox_prefix('gateway')}.>",
    subjects.EVENTS_ALL,
    "terminal.session.*.out",
    f"{subjects.SIGNUPS_PREFIX}.>",
]
# A component reaching into another's business.
COMPONENTS_MAY_NOT_PUBLISH = [
    ("terminal", subjects.TEAMS_INVITATIONS_CREATE),
    ("terminal", subjects.PROVISIONER_CLUSTER_KUBECONFIG),
    ("teams", subjects.PROVISIONER_CLUSTER_KUBECONFIG),
    ("teams", subjects.TERMINAL_TICKET_CREATE),
    ("provisioner", subjects.AUTH_TOKENS_CREATE),
    ("provisioner", "pyk8s.events.team.deleted"),
    ("auth", subjects.TEAMS_MEMBERSHIP),
    ("gateway", subjects.AUTH_USERS_LOOKUP),
    ("gateway", subjects.PROVISIONER_CLUSTER_NODE),
    ("gateway", "pyk8s.events.cluster.ready"),
    ("gateway", f"$JS.API.STREAM.DELETE.{subjects.EVENTS_STREAM}"),
    ("teams", f"$JS.API.CONSUMER.CREATE.{subjects.WORK_STREAM}"),
    ("terminal", f"$JS.API.STREAM.PURGE.{subjects.WORK_STREAM}"),
    ("auth", f"$JS.API.STREAM.UPDATE.{subjects.WORK_STREAM}"),
    # Nobody but the provisioner announces a Docker host or reads the announcements.
    ("gateway", f"$KV.{subjects.HOSTS_BUCKET}.local"),
    ("terminal", f"$KV.{subjects.HOSTS_BUCKET}.local"),
    ("teams", f"$JS.API.STREAM.INFO.KV_{subjects.HOSTS_BUCKET}"),
    # The provisioner may remove one consumer only: the single-host layout's.
    ("provisioner", f"$JS.API.CONSUMER.DELETE.{subjects.WORK_STREAM}.provisioner-local"),
    ("provisioner", f"$JS.API.CONSUMER.DELETE.{subjects.EVENTS_STREAM}.gateway"),
]


class Probe:
    """A client of the platform's NATS that records what the server refused it."""

    def __init__(self, server) -> None:
        self.server = server
        self.errors: list[str] = []
        self.nc = None

    async def _on_error(self, error: Exception) -> None:
        self.errors.append(str(error).lower())

    async def connect(self, identity: str, seed_file=None) -> "Probe":
        self.nc = await natsauth.connect(
            self.server.url,
            identity,
            seed_file or self.server.seeds[identity],
            error_cb=self._on_error,
            allow_reconnect=False,
        )
        return self

    async def refused(self, kind: str, subject: str) -> bool:
        """Whether the server answered `kind` ("publish" or "subscription") to `subject` with a
        permissions violation."""
        wanted = f'permissions violation for {kind} to "{subject.lower()}"'
        try:
            await wait_until_async(lambda: any(wanted in e for e in self.errors), timeout=3)
        except AssertionError:
            return False
        return True

    async def publish_refused(self, subject: str) -> bool:
        await self.nc.publish(subject, b"{}")
        await self.nc.flush()
        return await self.refused("publish", subject)

    async def subscribe_refused(self, subject: str) -> bool:
        sub = await self.nc.subscribe(subject)
        await self.nc.flush()
        refused = await self.refused("subscription", subject)
        await sub.unsubscribe()
        return refused

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()


async def test_a_connection_without_valid_credentials_is_refused(platform, tmp_path):
    errors: list[str] = []

    async def on_error(error: Exception) -> None:
        errors.append(str(error).lower())

    with pytest.raises(NatsError):
        await nats.connect(
            platform.nats_url, allow_reconnect=False, max_reconnect_attempts=0, error_cb=on_error
        )
    stranger = natsauth.ensure_credentials(tmp_path / "stranger", ["gateway"])["gateway"]
    with pytest.raises(NatsError):
        await natsauth.connect(
            platform.nats_url,
            "gateway",
            stranger,
            allow_reconnect=False,
            max_reconnect_attempts=0,
            error_cb=on_error,
        )
    assert len(errors) >= 2 and all("authorization violation" in e for e in errors), errors


async def test_the_events_identity_can_do_nothing_but_read_events(platform):
    probe = await Probe(platform.nats).connect("events")
    try:
        allowed = [s for s in EVENTS_MAY_NOT_PUBLISH if not await probe.publish_refused(s)]
        assert allowed == [], f"events may publish to {allowed}"
        allowed = [s for s in EVENTS_MAY_NOT_SUBSCRIBE if not await probe.subscribe_refused(s)]
        assert allowed == [], f"events may subscribe to {allowed}"
    finally:
        await probe.close()


async def test_the_events_identity_reads_events_with_its_own_durable_consumer(platform):
    provisioner = await platform.nats.connect("provisioner")
    event = CloudEvent(
        source="/tests", type=event_type("cluster", "created"), data={"cluster_id": "c1"}
    )
    await provisioner.jetstream().publish(
        subjects.event_subject("cluster", "created"), event.model_dump_json().encode()
    )
    await provisioner.close()
    reader = await platform.nats.connect("events")
    try:
        js = reader.jetstream()
        consumer = await js.pull_subscribe(
            subjects.CLUSTER_EVENTS_ALL, durable="outside-program", stream=subjects.EVENTS_STREAM
        )
        messages = await consumer.fetch(10, timeout=5)
        ids = [json.loads(m.data)["id"] for m in messages]
        for msg in messages:
            await msg.ack()
        assert event.id in ids
    finally:
        await reader.close()


async def test_a_component_cannot_publish_on_another_components_subjects(platform):
    allowed = []
    for identity, subject in COMPONENTS_MAY_NOT_PUBLISH:
        probe = await Probe(platform.nats).connect(identity)
        try:
            if not await probe.publish_refused(subject):
                allowed.append((identity, subject))
        finally:
            await probe.close()
    assert allowed == []


@pytest.mark.parametrize("identity", [i for i in ALL_IDENTITIES if i != "auth"])
async def test_nobody_but_the_auth_service_can_answer_for_its_keys(platform, identity):
    probe = await Probe(platform.nats).connect(identity)
    try:
        assert await probe.subscribe_refused(subjects.AUTH_JWKS)
        if identity != "gateway":  # nor read the replies the gateway gets
            assert await probe.subscribe_refused(f"{inbox_prefix('gateway')}.>")
    finally:
        await probe.close()


async def test_naming_a_user_without_their_token_acts_for_nobody(platform, person, foreign_keys):
    """Past the subject permissions, the services check who a request is for: the gateway's
    own identity cannot act for a user without that user's access token."""
    victim = person()
    gateway = await platform.nats.connect("gateway")
    forged = foreign_keys.assertion(uuid.UUID(victim.id))
    try:
        for actor in (None, forged, victim.tokens["access_token"] + "x"):
            payload = ByUser(actor_id=victim.id).model_dump_json().encode()
            headers = {ACTOR_HEADER: actor} if actor else None
            for subject in (subjects.AUTH_TOKENS_LIST, subjects.TEAMS_LIST):
                msg = await gateway.request(subject, payload, timeout=5, headers=headers)
                assert msg.headers["Nats-Service-Error-Code"] == "unauthorized", (subject, actor)
        good = {ACTOR_HEADER: victim.tokens["access_token"]}
        msg = await gateway.request(subjects.AUTH_TOKENS_LIST, payload, timeout=5, headers=good)
        assert not (msg.headers or {}).get("Nats-Service-Error-Code")
    finally:
        await gateway.close()


def _table_rows() -> list[str]:
    rows = []
    for identity, permissions in PERMISSIONS.items():
        publish = ", ".join(f"`{s}`" for s in permissions.publish) or "none"
        subscribe = ", ".join(
            f"`{s}`" for s in [*permissions.subscribe, f"{inbox_prefix(identity)}.>"]
        )
        jetstream = ", ".join(f"`{s}`" for s in permissions.jetstream) or "none"
        answers = "yes" if permissions.serves else "no"
        rows.append(f"| `{identity}` | {publish} | {subscribe} | {answers} | {jetstream} |")
    return rows


def test_the_architecture_doc_shows_the_permission_table_in_force():
    doc = (ROOT / "docs" / "architecture.md").read_text()
    missing = [row for row in _table_rows() if row not in doc]
    assert missing == [], "docs/architecture.md differs from pyk8s_contracts.identities:\n" + (
        "\n".join(missing)
    )


def test_every_request_subject_has_exactly_one_serving_identity():
    served = [
        name
        for name, value in vars(subjects).items()
        if re.fullmatch(r"(AUTH|TEAMS|PROVISIONER|TERMINAL)_[A-Z_]+", name)
        and isinstance(value, str)
        and not value.startswith("auth.broadcast")
        and "*" not in value
    ]
    for name in served:
        value = getattr(subjects, name)
        servers = [
            identity
            for identity, p in PERMISSIONS.items()
            if p.serves and any(_matches(pattern, value) for pattern in p.subscribe)
        ]
        assert len(servers) == 1, (name, servers)


def _matches(pattern: str, subject: str) -> bool:
    pattern_tokens, tokens = pattern.split("."), subject.split(".")
    for index, token in enumerate(pattern_tokens):
        if token == ">":
            return len(tokens) > index
        if index >= len(tokens) or (token != "*" and token != tokens[index]):
            return False
    return len(tokens) == len(pattern_tokens)
