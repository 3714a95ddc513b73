"""Request/reply through the typed nats.micro layer (pyk8s_kit.bus) on a real NATS server:
requests per second and latency percentiles, sequential and with 32 in flight."""

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import nats

from pyk8s_contracts.common import Contract
from pyk8s_kit.bus import Router, request, serve
from pyk8s_kit.embedded import EmbeddedNats

SEQUENTIAL = 5_000
CONCURRENT = 20_000
IN_FLIGHT = 32


class Echo(Contract):
    text: str
    n: int


async def main() -> None:
    server = EmbeddedNats(Path(tempfile.mkdtemp()) / "nats").start()
    try:
        service_nc = await nats.connect(server.url)
        client = await nats.connect(server.url)
        router = Router()

        @router.endpoint("bench.echo", Echo)
        async def echo(req: Echo) -> Echo:
            return req

        await serve(service_nc, "bench", "0.1.0", [router])
        payload = Echo(text="hello", n=1)
        latencies = []
        for _ in range(SEQUENTIAL):
            start = time.perf_counter()
            await request(client, "bench.echo", payload, Echo)
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
                await request(client, "bench.echo", payload, Echo)

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
