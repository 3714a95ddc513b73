"""Cluster lifecycle events: CloudEvents on JetStream for outside subscribers, and the
gateway's Server-Sent Events stream filtered by what the caller may see."""

import base64
import hashlib
import json
import threading
from datetime import UTC, datetime
from functools import partial
from uuid import UUID, uuid4

import httpx
import pytest

from conftest import unique
from pyk8s_contracts import subjects
from pyk8s_contracts.teams import Role
from pyk8s_gateway import stream_tickets
from pyk8s_gateway.routers import events as events_router
from pyk8s_kit.testing import wait_until

pytestmark = pytest.mark.usefixtures("remove_runtime_clusters")


class JetStreamSubscriber:
    """Another program subscribed to pyk8s.events.cluster.> on the EVENTS stream."""

    def __init__(self, platform) -> None:
        self.platform = platform
        self.messages: list[tuple[dict, dict]] = []

    async def _start(self) -> None:
        self.nc = await self.platform.nats.connect("events")
        js = self.nc.jetstream()

        async def received(msg) -> None:
            self.messages.append((json.loads(msg.data), dict(msg.headers or {})))
            await msg.ack()

        await js.subscribe(
            subjects.CLUSTER_EVENTS_ALL,
            stream=subjects.EVENTS_STREAM,
            cb=received,
            ordered_consumer=True,
        )

    def start(self) -> "JetStreamSubscriber":
        self.platform.run(self._start())
        return self

    def stop(self) -> None:
        self.platform.run(self.nc.close())

    def types_for(self, cluster_id: str) -> list[str]:
        return [event["type"] for event, _ in self.messages if event["subject"] == cluster_id]


class EventStream:
    """Reads the gateway's SSE stream in a thread, collecting each frame."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        params: dict | None = None,
        ticket: str | None = None,
        last_event_id: str | None = None,
    ) -> None:
        self.frames: list[dict] = []
        self.comments: list[str] = []
        self.status: int | None = None
        self.problem: dict | None = None
        self.stopped = False
        self.client = httpx.Client(base_url=base_url, timeout=httpx.Timeout(10, read=60))
        params = dict(params or {})
        headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
        if ticket:
            params["ticket"] = ticket
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._request = (params, headers)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        wait_until(
            lambda: self.status is not None and (self.status != 200 or self.comments), timeout=15
        )

    def _read(self) -> None:
        params, headers = self._request
        try:
            with self.client.stream(
                "GET", "/events/clusters", params=params, headers=headers
            ) as response:
                self.content_type = response.headers.get("content-type", "")
                if response.status_code != 200:
                    self.problem = json.loads(response.read())
                self.status = response.status_code
                frame: dict = {}
                for line in response.iter_lines():
                    if self.stopped:
                        return
                    if line.startswith(":"):
                        self.comments.append(line)
                    elif line.startswith("id: "):
                        frame["id"] = line[4:]
                    elif line.startswith("data: "):
                        frame["data"] = json.loads(line[6:])
                    elif line == "" and frame:
                        self.frames.append(frame)
                        frame = {}
        except (httpx.HTTPError, RuntimeError):
            pass

    def events_for(self, cluster_id: str) -> list[str]:
        return [
            f["data"]["type"].rsplit(".", 1)[-1]
            for f in self.frames
            if f["data"]["subject"] == cluster_id
        ]

    def close(self) -> None:
        # The reader leaves at the next frame (keep-alives come often in these tests), which
        # closes the connection so the gateway ends the stream.
        self.stopped = True
        self._thread.join(10)
        self.client.close()


@pytest.fixture
def streams(platform, monkeypatch):
    monkeypatch.setattr(events_router, "KEEPALIVE_SECONDS", 0.2)
    monkeypatch.setattr(events_router, "REVERIFY_SECONDS", 0.2)
    opened: list[EventStream] = []

    def open_stream(token, params=None, ticket=None, last_event_id=None) -> EventStream:
        stream = EventStream(f"{platform.url}/api/v1", token, params, ticket, last_event_id)
        opened.append(stream)
        return stream

    yield open_stream
    for stream in opened:
        stream.close()


def token_of(person) -> str:
    return person.tokens["access_token"]


def wait_status(person, cluster_id: str, status: str) -> None:
    wait_until(
        lambda: person.get(f"/clusters/{cluster_id}").json()["status"] == status,
        timeout=60,
        interval=0.1,
    )


def test_a_subscriber_gets_created_ready_and_deleted_once_each(platform, person):
    subscriber = JetStreamSubscriber(platform).start()
    try:
        ada = person()
        team = ada.post("/teams", json={"name": unique("team-")}).json()["id"]
        cluster = ada.post(
            "/clusters", json={"name": "evt", "provider": "k3d", "team_id": team}
        ).json()
        wait_status(ada, cluster["id"], "ready")
        ada.delete(f"/clusters/{cluster['id']}")
        wait_until(
            lambda: "io.pyk8s.cluster.deleted" in subscriber.types_for(cluster["id"]), timeout=60
        )
        assert subscriber.types_for(cluster["id"]) == [
            "io.pyk8s.cluster.created",
            "io.pyk8s.cluster.provisioning",
            "io.pyk8s.cluster.ready",
            "io.pyk8s.cluster.deleting",
            "io.pyk8s.cluster.deleted",
        ]
        ids = [event["id"] for event, _ in subscriber.messages]
        assert len(ids) == len(set(ids))
        for event, headers in subscriber.messages:
            assert headers["Nats-Msg-Id"] == event["id"]
            assert event["specversion"] == "1.0" and event["source"] == "/pyk8s/provisioner"
            assert event["time"] and event["datacontenttype"] == "application/json"
            data = event["data"]
            assert data["cluster_id"] == cluster["id"] == event["subject"]
            assert (data["name"], data["team_id"], data["owner"], data["provider"]) == (
                "evt",
                team,
                ada.id,
                "k3d",
            )
            assert data["status"] == event["type"].rsplit(".", 1)[-1].replace("created", "pending")
    finally:
        subscriber.stop()


def test_the_stream_shows_the_callers_cluster_live(person, streams):
    ada = person()
    stream = streams(token_of(ada))
    assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
    cluster = ada.post("/clusters", json={"name": "live", "provider": "kind"}).json()
    wait_until(lambda: "ready" in stream.events_for(cluster["id"]), timeout=60)
    assert stream.events_for(cluster["id"]) == ["created", "provisioning", "ready"]
    frame = stream.frames[-1]
    assert frame["data"]["data"]["status"] == "ready"
    ids = [int(f["id"]) for f in stream.frames]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_a_reconnecting_stream_gets_what_it_missed(person, streams):
    ada = person()
    first = streams(token_of(ada))
    cluster = ada.post("/clusters", json={"name": "away", "provider": "kind"}).json()
    wait_until(lambda: "ready" in first.events_for(cluster["id"]), timeout=60)
    last_seen = first.frames[-1]["id"]
    first.close()
    # While nobody listens, the cluster is deleted.
    assert ada.delete(f"/clusters/{cluster['id']}").status_code == 202
    wait_status(ada, cluster["id"], "deleted")
    again = streams(token_of(ada), last_event_id=last_seen)
    wait_until(lambda: "deleted" in again.events_for(cluster["id"]), timeout=30)
    assert again.events_for(cluster["id"]) == ["deleting", "deleted"]
    fresh = streams(token_of(ada))
    assert fresh.events_for(cluster["id"]) == []


def ticket_for(api: httpx.Client, token: str) -> dict:
    answer = api.post("/events/tickets", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 201, answer.text
    return answer.json()


def publish_personal_event(platform, owner_id: str) -> str:
    """A lifecycle event of a personal cluster of `owner_id`, straight onto the stream."""
    cluster_id = str(uuid4())
    event = {
        "specversion": "1.0",
        "id": str(uuid4()),
        "source": "/pyk8s/provisioner",
        "type": "io.pyk8s.cluster.created",
        "subject": cluster_id,
        "data": {"cluster_id": cluster_id, "team_id": None, "owner": owner_id},
    }

    async def publish() -> None:
        nc = await platform.nats.connect("provisioner")
        try:
            await nc.jetstream().publish(
                subjects.event_subject("cluster", "created"), json.dumps(event).encode()
            )
        finally:
            await nc.close()

    platform.run(publish())
    return cluster_id


def assert_refused(stream: EventStream, status: int, code: str) -> None:
    assert stream.status == status
    assert stream.content_type.startswith("application/problem+json")
    assert stream.problem["code"] == code


def test_eventsource_opens_the_stream_with_a_ticket(platform, api, person, streams):
    ada = person()
    ticket = ticket_for(api, token_of(ada))
    assert len(ticket["ticket"]) == 43  # 256 bits, base64url
    stream = streams(None, ticket=ticket["ticket"])
    assert stream.status == 200
    cluster_id = publish_personal_event(platform, ada.id)
    wait_until(lambda: stream.events_for(cluster_id) == ["created"], timeout=10)


def test_a_ticket_is_stored_hashed_with_the_token_sealed(platform, api, person):
    ada = person()
    ticket = ticket_for(api, token_of(ada))["ticket"]
    secret = base64.urlsafe_b64decode(ticket + "=")

    async def stored() -> bytes:
        nc = await platform.nats.connect("gateway")
        try:
            kv = await nc.jetstream().key_value(stream_tickets.BUCKET)
            return (await kv.get(hashlib.sha256(secret).hexdigest())).value
        finally:
            await nc.close()

    value = platform.run(stored())
    assert ticket.encode() not in value
    assert token_of(ada).encode() not in value
    assert token_of(ada).split(".")[1].encode() not in value


def test_a_ticket_needs_a_bearer_token(api):
    answer = api.post("/events/tickets")
    assert answer.status_code == 401 and answer.json()["code"] == "unauthorized"
    answer = api.post("/events/tickets", headers={"Authorization": "Bearer not-a-token"})
    assert answer.status_code == 401 and answer.json()["code"] == "invalid_token"


def test_a_ticket_opens_one_stream_only(api, person, streams):
    ada = person()
    ticket = ticket_for(api, token_of(ada))["ticket"]
    assert streams(None, ticket=ticket).status == 200
    assert_refused(streams(None, ticket=ticket), 401, "invalid_token")


def test_an_expired_ticket_is_refused(api, person, streams, monkeypatch):
    monkeypatch.setattr(stream_tickets, "TICKET_SECONDS", 0.0)
    ada = person()
    ticket = ticket_for(api, token_of(ada))
    assert datetime.fromisoformat(ticket["expires_at"]) <= datetime.now(UTC)
    assert_refused(streams(None, ticket=ticket["ticket"]), 401, "invalid_token")


def test_other_ticket_material_is_refused(api, person, streams):
    ada = person()
    ticket = ticket_for(api, token_of(ada))["ticket"]
    secret = base64.urlsafe_b64decode(ticket + "=")
    stored_key = hashlib.sha256(secret).hexdigest()
    flipped = ("B" if ticket[0] == "A" else "A") + ticket[1:]
    for material in (stored_key, flipped, ticket + "!", token_of(ada), "", "x" * 43):
        assert_refused(streams(None, {"ticket": material}), 401, "invalid_token")
    # None of the attempts spent the real ticket.
    assert streams(None, ticket=ticket).status == 200


def test_a_ticket_for_a_revoked_token_is_refused(api, person, streams):
    ada = person()
    created = ada.post("/auth/tokens", json={"name": "ci"}).json()
    ticket = ticket_for(api, created["token"])["ticket"]
    assert ada.delete(f"/auth/tokens/{created['id']}").status_code == 204
    assert_refused(streams(None, ticket=ticket), 401, "invalid_token")


def test_a_ticket_stream_ends_when_its_token_is_revoked(api, person, streams):
    ada = person()
    created = ada.post("/auth/tokens", json={"name": "ci"}).json()
    stream = streams(None, ticket=ticket_for(api, created["token"])["ticket"])
    assert stream.status == 200
    assert ada.delete(f"/auth/tokens/{created['id']}").status_code == 204
    wait_until(lambda: not stream._thread.is_alive(), timeout=10)


def test_the_token_is_not_accepted_in_the_query(api, person, streams):
    ada = person()
    assert_refused(streams(None, {"access_token": token_of(ada)}), 401, "unauthorized")
    assert api.get("/clusters", params={"access_token": token_of(ada)}).status_code == 401


def test_the_stream_ends_when_its_token_is_revoked(person, streams):
    ada = person()
    created = ada.post("/auth/tokens", json={"name": "ci"})
    assert created.status_code == 201, created.text
    stream = streams(created.json()["token"])
    assert stream.status == 200
    assert ada.delete(f"/auth/tokens/{created.json()['id']}").status_code == 204
    wait_until(lambda: not stream._thread.is_alive(), timeout=10)


def test_the_stream_needs_a_valid_token(streams):
    assert_refused(streams(None), 401, "unauthorized")
    assert_refused(streams("not-a-token"), 401, "invalid_token")


OUT_OF_RANGE = ["18446744073709551616", "9" * 30, "-1", "abc", "1e3", "0x10", "1.5", "\xb2"]


def test_a_last_event_id_outside_the_sequence_range_is_400(platform, api, person):
    ada = person()
    ticket = ticket_for(api, token_of(ada))["ticket"]
    with httpx.Client(base_url=f"{platform.url}/api/v1") as client:
        for last_event_id in OUT_OF_RANGE:
            answer = client.get(
                "/events/clusters",
                params={"ticket": ticket},
                headers={"Last-Event-ID": last_event_id.encode("latin-1")},
            )
            assert answer.status_code == 400, last_event_id
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["code"] == "invalid_last_event_id"
            answer = client.get(
                "/events/clusters", params={"ticket": ticket, "last_event_id": last_event_id}
            )
            assert answer.status_code == 400, last_event_id
        # The refusals kept the connection open and did not spend the ticket.
        connections = client._transport._pool.connections
        assert len(connections) == 1 and connections[0].is_idle()
        with client.stream("GET", "/events/clusters", params={"ticket": ticket}) as stream:
            assert stream.status_code == 200


def test_a_last_event_id_beyond_the_stream_gets_new_events(platform, person, streams):
    ada = person()
    stream = streams(token_of(ada), last_event_id="18446744073709551615")
    assert stream.status == 200
    cluster_id = publish_personal_event(platform, ada.id)
    wait_until(lambda: stream.events_for(cluster_id) == ["created"], timeout=10)


def test_a_reconnect_may_name_its_last_event_in_the_query(platform, api, person, streams):
    ada = person()
    first = streams(token_of(ada))
    seen = publish_personal_event(platform, ada.id)
    wait_until(lambda: first.events_for(seen), timeout=10)
    last_seen = first.frames[-1]["id"]
    first.close()
    missed = publish_personal_event(platform, ada.id)
    ticket = ticket_for(api, token_of(ada))["ticket"]
    again = streams(None, {"last_event_id": last_seen}, ticket=ticket)
    wait_until(lambda: again.events_for(missed) == ["created"], timeout=10)
    assert again.events_for(seen) == []


def test_the_stream_hides_what_the_caller_may_not_see(person, streams):
    ada, bob, vic = person(), person(), person()
    team = ada.post("/teams", json={"name": unique("team-")}).json()["id"]
    invited = ada.post(f"/teams/{team}/invitations", json={"login": vic.username, "role": "viewer"})
    assert vic.post(f"/invitations/{invited.json()['id']}/accept").status_code == 200
    bob_stream, vic_stream = streams(token_of(bob)), streams(token_of(vic))
    team_only = streams(token_of(vic), {"team_id": team})

    personal = ada.post("/clusters", json={"name": "mine", "provider": "kind"}).json()
    shared = ada.post(
        "/clusters", json={"name": "ours", "provider": "kind", "team_id": team}
    ).json()
    wait_status(ada, personal["id"], "ready")
    wait_status(ada, shared["id"], "ready")
    # Events are published in order: once each reader has its own marker cluster's
    # events, it has been offered every earlier event too.
    bob_marker = bob.post("/clusters", json={"name": "marker", "provider": "kind"}).json()
    vic_marker = vic.post("/clusters", json={"name": "marker", "provider": "kind"}).json()
    wait_until(lambda: "ready" in bob_stream.events_for(bob_marker["id"]), timeout=60)
    wait_until(lambda: "ready" in vic_stream.events_for(vic_marker["id"]), timeout=60)
    wait_until(lambda: "ready" in team_only.events_for(shared["id"]), timeout=60)

    assert bob_stream.events_for(personal["id"]) == bob_stream.events_for(shared["id"]) == []
    assert vic_stream.events_for(personal["id"]) == []
    assert vic_stream.events_for(shared["id"]) == ["created", "provisioning", "ready"]
    assert team_only.events_for(vic_marker["id"]) == []


def test_a_team_stream_is_404_for_outsiders(person, streams):
    ada, bob = person(), person()
    team = ada.post("/teams", json={"name": unique("team-")}).json()["id"]
    assert streams(token_of(bob), {"team_id": team}).status == 404
    assert streams(token_of(ada), {"team_id": team}).status == 200


async def test_team_roles_are_remembered_for_at_most_a_second(monkeypatch):
    answers = {"role": Role.VIEWER}
    asked: list[float] = []
    now = [1000.0]

    async def team_role(bus, team_id, user_id):
        asked.append(now[0])
        return answers["role"]

    monkeypatch.setattr(events_router, "team_role", team_role)
    monkeypatch.setattr(events_router.time, "monotonic", lambda: now[0])
    visibility = events_router.Visibility(bus=None, user_id=uuid4())
    event = {"type": "io.pyk8s.cluster.ready", "data": {"team_id": str(uuid4()), "owner": "x"}}
    assert await visibility.can_see(event)
    answers["role"] = None  # removed from the team
    now[0] += 0.5
    assert await visibility.can_see(event)  # still within the second
    now[0] += 0.6
    assert not await visibility.can_see(event)
    assert len(asked) == 2


async def test_personal_clusters_are_visible_to_their_owner_only():
    me = uuid4()
    visibility = events_router.Visibility(bus=None, user_id=me)
    mine = {"type": "io.pyk8s.cluster.ready", "data": {"team_id": None, "owner": str(me)}}
    assert await visibility.can_see(mine)
    other = {"type": "io.pyk8s.cluster.ready", "data": {"team_id": None, "owner": str(UUID(int=1))}}
    assert not await visibility.can_see(other)


async def test_personal_team_events_are_for_their_person_and_other_team_events_for_nobody():
    me = uuid4()
    visibility = events_router.Visibility(bus=None, user_id=me)
    team = str(uuid4())
    for verb in ("team.invitation.created", "team.invitation.revoked", "team.member.removed"):
        event = {"type": f"io.pyk8s.{verb}", "data": {"team_id": team, "user_id": str(me)}}
        assert await visibility.can_see(event)
        event["data"]["user_id"] = str(uuid4())
        assert not await visibility.can_see(event)
    added = {"type": "io.pyk8s.team.member.added", "data": {"team_id": team, "user_id": str(me)}}
    assert not await visibility.can_see(added)


def arrived(stream: EventStream, cluster_id: str) -> bool:
    return stream.events_for(cluster_id) == ["created"]


def personal_events(stream: EventStream) -> list[tuple[str, str]]:
    return [
        (f["data"]["type"].removeprefix("io.pyk8s.team."), f["data"]["data"]["user_id"])
        for f in stream.frames
        if f["data"]["type"].startswith("io.pyk8s.team.")
    ]


def test_invitations_roles_and_removals_reach_the_person_concerned_only(platform, person, streams):
    ada, bob, carl = person(), person(), person()
    team = ada.post("/teams", json={"name": unique("team-")}).json()["id"]
    invited = ada.post(f"/teams/{team}/invitations", json={"login": carl.username})
    assert carl.post(f"/invitations/{invited.json()['id']}/accept").status_code == 200
    ada_stream, bob_stream, carl_stream = (streams(token_of(p)) for p in (ada, bob, carl))

    invitation = ada.post(
        f"/teams/{team}/invitations", json={"login": bob.username, "role": "viewer"}
    ).json()
    wait_until(lambda: personal_events(bob_stream), timeout=30)
    frame = next(f for f in bob_stream.frames if f["data"]["type"].startswith("io.pyk8s.team."))
    assert frame["data"]["data"] | {"by": ada.id} == frame["data"]["data"]
    assert (frame["data"]["data"]["invitation_id"], frame["data"]["data"]["role"]) == (
        invitation["id"],
        "viewer",
    )
    [mine] = bob.get("/invitations").json()["invitations"]
    assert mine["invited_by_email"] == ada.email
    assert ada.delete(f"/teams/{team}/invitations/{invitation['id']}").status_code == 204
    assert ada.patch(f"/teams/{team}/members/{carl.id}", json={"role": "admin"}).status_code == 200
    assert ada.delete(f"/teams/{team}/members/{carl.id}").status_code == 204

    # Events reach each stream in order: once its marker arrived, all before it were offered.
    for person_, stream in ((ada, ada_stream), (bob, bob_stream), (carl, carl_stream)):
        marker = publish_personal_event(platform, person_.id)
        wait_until(partial(arrived, stream, marker), timeout=30)
    assert personal_events(bob_stream) == [
        ("invitation.created", bob.id),
        ("invitation.revoked", bob.id),
    ]
    assert personal_events(carl_stream) == [
        ("member.role_changed", carl.id),
        ("member.removed", carl.id),
    ]
    assert personal_events(ada_stream) == []
