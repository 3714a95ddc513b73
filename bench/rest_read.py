"""P1: authenticated REST reads at 100 concurrent clients, through the platform (gateway, NATS,
service, PostgreSQL) against the floor (bench/baseline_app.py: one FastAPI + asyncpg process
doing the same reads on the same databases), in alternating rounds in one run.

For `GET /clusters/{id}` (a personal cluster) and `GET /teams/{id}` prints throughput, p50, p99
and the server CPU per request (the processes on each side's path, PostgreSQL included,
from /proc), each beside the baseline's and as a ratio, with the targets: throughput at least 0.70
of the baseline's, CPU per request at most 1.5x, p99 at most 2x.

    uv run python bench/rest_read.py [seconds_per_round] [rounds] [clients]
"""

import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from platform_runner import Platform, delete, percentile, sign_up, wait_settled

from pyk8s_kit.embedded import free_port


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0
    cpu: float = 0.0

    def add(self, other: "Round") -> None:
        self.latencies += other.latencies
        self.errors += other.errors
        self.seconds += other.seconds
        self.cpu += other.cpu

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu / len(self.latencies) * 1e3

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99)


def serve_baseline(port: int, auth: str, provisioner: str, teams: str) -> None:
    import uvicorn
    from baseline_app import create_app

    app = create_app(auth, provisioner, teams)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def load(url: str, headers: dict, seconds: float, clients: int, out) -> None:
    """The load generator, in a process of its own: `clients` loops asking `url`."""

    async def run() -> Round:
        result = Round()
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(timeout=30, limits=limits, headers=headers) as http:
            stop = time.perf_counter() + seconds

            async def client() -> None:
                while time.perf_counter() < stop:
                    started = time.perf_counter()
                    try:
                        answer = await http.get(url)
                        ok = answer.status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    if ok:
                        result.latencies.append(time.perf_counter() - started)
                    else:
                        result.errors += 1

            began = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(clients)))
            result.seconds = time.perf_counter() - began
        return result

    out.send(asyncio.run(run()))


def cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def measure(url: str, headers: dict, processes, seconds: float, clients: int) -> Round:
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    generator = context.Process(target=load, args=(url, headers, seconds, clients, send))
    before = cpu_seconds(processes)
    generator.start()
    result = receive.recv()
    generator.join()
    result.cpu = cpu_seconds(processes) - before
    return result


def report(label: str, platform: Round, baseline: Round) -> None:
    def line(name: str, r: Round) -> str:
        return (
            f"  {name:<9} {r.rate:7.0f} req/s  p50 {statistics.median(r.latencies) * 1e3:6.1f} ms"
            f"  p99 {r.p99 * 1e3:6.1f} ms  CPU {r.cpu_ms:5.2f} ms/request  errors {r.errors}"
        )

    print(label)
    print(line("platform", platform))
    print(line("baseline", baseline))
    print(
        f"  ratios    throughput {platform.rate / baseline.rate:4.2f} (target >= 0.70)"
        f"  CPU/request {platform.cpu_ms / baseline.cpu_ms:4.2f} (<= 1.5)"
        f"  p99 {platform.p99 / baseline.p99:4.2f} (<= 2)"
    )


# The processes on a read's path; the rest of the platform (the auth and terminal services,
# the HTTPS gateway, supervisord) idles through the runs and is left out of the count.
ON_THE_PATH = {"gateway", "provisioner", "teams", "nats"}


def processes_of(platform: Platform, baseline: multiprocessing.Process):
    everything = psutil.Process(platform.runner.pid).children(recursive=True)
    postgres = [p for p in everything if p.name().startswith("postgres")]
    ours = [p for p in everything if program(p) in ON_THE_PATH]
    return [*ours, *postgres], [psutil.Process(baseline.pid), *postgres]


def program(process: psutil.Process) -> str | None:
    try:
        return process.environ().get("SUPERVISOR_PROCESS_NAME")
    except psutil.Error:
        return None


def seed(api: httpx.Client) -> tuple[dict, str, str]:
    headers = sign_up(api)
    team = api.post("/teams", json={"name": "bench"}, headers=headers).json()["id"]
    cluster = api.post("/clusters", json={"name": "bench", "provider": "kwok"}, headers=headers)
    cluster.raise_for_status()
    cluster_id = cluster.json()["id"]
    wait_settled(api, headers, cluster_id)
    return headers, team, cluster_id


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 8
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    clients = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    work = Path(tempfile.mkdtemp(prefix="pyk8s-bench-"))
    platform = Platform(work / "data").start()
    baseline = None
    try:
        with httpx.Client(base_url=f"{platform.http}/api/v1", timeout=30) as api:
            headers, team, cluster_id = seed(api)
            port = free_port()
            urls = (platform.database_url(s) for s in ("auth", "provisioner", "teams"))
            baseline = multiprocessing.get_context("spawn").Process(
                target=serve_baseline, args=(port, *urls), daemon=True
            )
            baseline.start()
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while not ready_baseline(base, headers, cluster_id):
                if time.monotonic() > deadline:
                    raise SystemExit("the baseline did not start")
                time.sleep(0.2)
            ours, theirs = processes_of(platform, baseline)
            print(f"{clients} clients, {rounds} rounds of {seconds:.0f} s each, alternating")
            for label, path in (
                ("GET /api/v1/clusters/{id}", f"/api/v1/clusters/{cluster_id}"),
                ("GET /api/v1/teams/{id}", f"/api/v1/teams/{team}"),
            ):
                totals = (Round(), Round())
                for _ in range(rounds):
                    for (url, processes), total in zip(
                        ((platform.http + path, ours), (base + path, theirs)), totals, strict=True
                    ):
                        total.add(measure(url, headers, processes, seconds, clients))
                report(label, *totals)
            delete(api, headers, cluster_id)
    finally:
        if baseline is not None:
            baseline.terminate()
        platform.stop()


def ready_baseline(base: str, headers: dict, cluster_id: str) -> bool:
    try:
        return httpx.get(f"{base}/api/v1/clusters/{cluster_id}", headers=headers).status_code == 200
    except httpx.HTTPError:
        return False


if __name__ == "__main__":
    main()
