"""P4: event latency. A state change committed in a service's database to an outside
subscriber receiving its event: the `events` identity with its own durable pull consumer on
PYK8S_EVENTS, as docs/events.md shows one, against `make up`'s runner.

The changes are teams created through the API, one at a time and then with 16 in flight; the
teams service writes `team.created` to its outbox in the creating transaction and its relay
publishes it after the commit. Latency is the arrival's wall clock minus the event's own
`time`, stamped when the event was made, before the commit, so it counts the commit too.

Baseline in the same run: a plain NATS publish to a plain subscriber on a NATS server of its
own on this machine (the same clock on both ends), one message at a time.

    uv run python bench/event_latency.py [changes]
"""

import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
from platform_runner import EventSubscriber, Platform, percentile, sign_up

from pyk8s_kit.embedded import EmbeddedNats
from pyk8s_kit.natsauth import ensure_credentials
from pyk8s_kit.testing import HARNESS, HARNESS_PERMISSIONS

TARGET_P99_MS = 50
IN_FLIGHT = 16


def figures(latencies_ms: list[float]) -> tuple[float, float]:
    return statistics.median(latencies_ms), percentile(latencies_ms, 0.99)


async def baseline(count: int) -> list[float]:
    """Plain NATS: publish, a subscriber receives; one message at a time."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-p4-nats-"))
    seeds = ensure_credentials(tmp / "credentials", [HARNESS])
    server = EmbeddedNats(tmp / "nats", seeds, extra={HARNESS: HARNESS_PERMISSIONS}).start()
    try:
        publisher = await server.connect(HARNESS)
        subscriber = await server.connect(HARNESS)
        latencies: list[float] = []
        received = asyncio.Event()

        async def on_message(msg) -> None:
            latencies.append((time.time() - float(msg.data)) * 1000)
            received.set()

        await subscriber.subscribe("test.bench.event", cb=on_message)
        await subscriber.flush()
        for _ in range(count):
            received.clear()
            await publisher.publish("test.bench.event", str(time.time()).encode())
            await publisher.flush()
            await received.wait()
        await publisher.close()
        await subscriber.close()
        return latencies
    finally:
        server.stop()


async def team_events(
    platform: Platform, count: int, in_flight: int
) -> tuple[list[float], list[float]]:
    """Latency of the `team.created` events of `count` teams created `in_flight` at a time: to
    the subscriber, and to the stream storing the event (the part before delivery)."""
    with httpx.Client(base_url=f"{platform.http}/api/v1", timeout=30) as setup:
        headers = sign_up(setup, f"p4-{uuid.uuid4().hex[:8]}")
    events = await EventSubscriber(platform, "pyk8s.events.team.>", f"bench-p4-{in_flight}").start()
    gate = asyncio.Semaphore(in_flight)
    arrivals: list[asyncio.Future] = []

    async def create(api: httpx.AsyncClient) -> None:
        async with gate:
            answer = await api.post(
                "/teams", json={"name": f"p4-{uuid.uuid4().hex[:10]}"}, headers=headers
            )
            answer.raise_for_status()
            team_id = answer.json()["id"]
            arrival = events.expect(team_id, "io.pyk8s.team.created")
            if not any(e["subject"] == team_id for *_, e in events.arrivals):
                arrivals.append(arrival)
                await asyncio.wait_for(arrival, timeout=30)

    try:
        async with httpx.AsyncClient(base_url=f"{platform.http}/api/v1", timeout=30) as api:
            await asyncio.gather(*(create(api) for _ in range(count)))
        deadline = time.monotonic() + 30
        while len(events.arrivals) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
    finally:
        await events.stop()
    if len(events.arrivals) < count:
        raise SystemExit(f"{count - len(events.arrivals)} team events never arrived")
    total, stored = [], []
    for _, wall, stored_at, event in events.arrivals:
        changed = datetime.fromisoformat(event["time"]).timestamp()
        total.append((wall - changed) * 1000)
        stored.append((stored_at - changed) * 1000)
    return total, stored


def report(label: str, latencies: tuple[list[float], list[float]], floor) -> None:
    p50, p99 = figures(latencies[0])
    stored_p50, stored_p99 = figures(latencies[1])
    print(
        f"P4 {label}: n={len(latencies[0])} commit to outside subscriber p50 {p50:.1f} ms "
        f"p99 {p99:.1f} ms (to stored in the stream p50 {stored_p50:.1f} ms p99 "
        f"{stored_p99:.1f} ms) | plain NATS p50 {floor[0]:.2f} ms p99 {floor[1]:.2f} ms | "
        f"ratio p99 {p99 / floor[1]:.0f}x | target p99 <= {TARGET_P99_MS} ms: "
        f"{'met' if p99 <= TARGET_P99_MS else 'NOT met'}"
    )


async def measure(platform: Platform, count: int) -> None:
    floor = figures(await baseline(count))
    report("one at a time", await team_events(platform, count, 1), floor)
    report(f"{IN_FLIGHT} in flight", await team_events(platform, count, IN_FLIGHT), floor)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    platform = Platform(Path(tempfile.mkdtemp(prefix="bench-p4-")) / "data").start()
    try:
        asyncio.run(measure(platform, count))
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
