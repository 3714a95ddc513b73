"""Request/reply through the typed nats.micro layer (pyk8s_kit.bus) on a real NATS server
with authentication on: requests per second and latency percentiles, sequential and with 32 in
flight. Service and client connect as the test-only harness identity (subjects `test.>`)."""

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from pyk8s_contracts.common import Contract
from pyk8s_kit.bus import Router, request, serve
from pyk8s_kit.embedded import EmbeddedNats
from pyk8s_kit.natsauth import ensure_credentials
from pyk8s_kit.testing import HARNESS, HARNESS_PERMISSIONS

SEQUENTIAL = 5_000
CONCURRENT = 20_000
IN_FLIGHT = 32
SUBJECT = "test.bench.echo"


class Echo(Contract):
    text: str
    n: int


async def no_actor(token: str) -> None:
    """Echo is not a request on behalf of a person, so no assertion is ever checked."""
    return None


async def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    seeds = ensure_credentials(tmp / "nats-credentials", [HARNESS])
    server = EmbeddedNats(tmp / "nats", seeds, extra={HARNESS: HARNESS_PERMISSIONS}).start()
    try:
        service_nc = await server.connect(HARNESS)
        client = await server.connect(HARNESS)
        router = Router()

        @router.endpoint(SUBJECT, Echo)
        async def echo(req: Echo) -> Echo:
            return req

        # The harness may only serve nats.micro discovery under the name "test".
        await serve(service_nc, "test", "0.1.0", [router], no_actor)
        # The subscriptions are sent, not yet known to the server: a request from the other
        # connection could find no responder. A flush returns once the server has them.
        await service_nc.flush()
        payload = Echo(text="hello", n=1)
        latencies = []
        for _ in range(SEQUENTIAL):
            start = time.perf_counter()
            await request(client, SUBJECT, payload, Echo)
            latencies.append(time.perf_counter() - start)
        latencies.sort()
        print(
            f"sequential: {SEQUENTIAL / sum(latencies):,.0f} req/s, "
            f"p50 {statistics.median(latencies) * 1e6:.0f} us, "
            f"p99 {latencies[int(len(latencies) * 0.99)] * 1e6:.0f} us"
        )

        semaphore = asyncio.Semaphore(IN_FLIGHT)

        async def one() -> None:
            async with semaphore:
                await request(client, SUBJECT, payload, Echo)

        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(CONCURRENT)))
        elapsed = time.perf_counter() - start
        print(f"{IN_FLIGHT} in flight: {CONCURRENT / elapsed:,.0f} req/s")
        await client.close()
        await service_nc.close()
    finally:
        server.stop()


if __name__ == "__main__":
    asyncio.run(main())
