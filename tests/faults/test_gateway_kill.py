"""A gateway process killed with SIGKILL under a live event stream, while clusters keep
being created through another gateway replica: once it is back, the client reconnects with
Last-Event-ID and gets every event it missed, exactly once and in order."""

import asyncio
import time

import pytest

from gateway.tests.test_events import EventStream
from pyk8s_contracts import subjects
from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import stream_events, wait_until

from .conftest import component_env, wait_ready

pytestmark = pytest.mark.usefixtures("remove_runtime_clusters")


def create_ready_cluster(person, name: str) -> str:
    """Creates a cluster through the platform's own gateway; returns its id once ready."""
    created = person.post("/clusters", json={"name": name, "provider": "kind", "workers": 0})
    assert created.status_code == 202, created.text
    cluster_id = created.json()["id"]
    wait_until(
        lambda: person.get(f"/clusters/{cluster_id}").json()["status"] == "ready",
        timeout=60,
        interval=0.1,
    )
    return cluster_id


def ready_seen(stream: EventStream, cluster_id: str) -> bool:
    return "ready" in stream.events_for(cluster_id)


def test_killed_gateway_stream_resumes_with_every_missed_event_once(platform, person, components):
    alice = person()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    gateway = components("gateway", component_env("gateway", platform.nats, port=str(port)))
    wait_ready(gateway.start(), url)
    token = alice.tokens["access_token"]

    before = EventStream(f"{url}/api/v1", token)
    first = create_ready_cluster(alice, "before-kill")
    wait_until(lambda: ready_seen(before, first), timeout=30)

    gateway.kill()
    # Life goes on without this replica: two clusters come and become ready meanwhile.
    missed = [create_ready_cluster(alice, f"missed-{n}") for n in range(2)]
    spawned = time.monotonic()
    restarted = wait_ready(gateway.start(), url)
    last_seen = before.frames[-1]["id"]
    after = EventStream(f"{url}/api/v1", token, last_event_id=last_seen)
    wait_until(lambda: all(ready_seen(after, cluster) for cluster in missed), timeout=30)
    caught_up = time.monotonic() - restarted
    # And the live stream goes on (a personal quota of three: delete one rather than add).
    assert alice.delete(f"/clusters/{first}").status_code == 202
    wait_until(lambda: "deleted" in after.events_for(first), timeout=60)
    after.close()
    before.close()

    received = before.frames + after.frames
    sequences = [int(frame["id"]) for frame in received]
    assert sequences == sorted(set(sequences)), "frames out of order or repeated"
    # Exactly what an outside subscriber of the stream saw, in its order: nothing lost.
    expected = asyncio.run(stream_events(platform.nats, subjects.CLUSTER_EVENTS_ALL))
    assert [frame["data"]["id"] for frame in received] == [event["id"] for event in expected]
    assert len(after.events_for(missed[0])) == 3  # created, provisioning, ready
    print(
        f"gateway ready {restarted - spawned:.2f}s after its restart; "
        f"the reconnected stream had every missed event {caught_up:.2f}s after it was ready"
    )
