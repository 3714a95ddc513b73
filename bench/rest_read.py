"""P1: authenticated REST reads at 100 concurrent clients, through the platform (gateway, NATS,
service, PostgreSQL) against the floor (bench/baseline_app.py: one FastAPI + asyncpg process
doing the same reads on the same databases), in alternating rounds in one run.

For `GET /clusters/{id}` (a personal cluster) and `GET /teams/{id}` prints throughput, p50, p99
and the server CPU per request (the processes on each side's path, PostgreSQL included,
from /proc), each beside the baseline's and as a ratio, with the targets: throughput at least 0.70
of the baseline's, CPU per request at most 1.5x, p99 at most 2x. The load comes from
bombardier (`make bench` builds it); p50 is the median of the rounds' and p99 the worst round's.

    uv run python bench/rest_read.py [seconds_per_round] [rounds] [clients]
"""

import json
import multiprocessing
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
from platform_runner import ROOT, Platform, delete, sign_up, wait_settled

from pyk8s_kit.embedded import free_port


@dataclass
class Round:
    """What the load generator counted in one or more rounds, and the server CPU it cost."""

    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    cpu: float = 0.0
    p50s: list[float] = field(default_factory=list)
    p99s: list[float] = field(default_factory=list)

    def add(self, other: "Round") -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.seconds += other.seconds
        self.cpu += other.cpu
        self.p50s += other.p50s
        self.p99s += other.p99s

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_ms(self) -> float:
        return self.cpu / self.requests * 1e3

    @property
    def p50(self) -> float:
        return statistics.median(self.p50s)

    @property
    def p99(self) -> float:
        """The worst round's: percentiles of separate rounds cannot be merged exactly."""
        return max(self.p99s)


def serve_baseline(port: int, auth: str, provisioner: str, teams: str) -> None:
    import uvicorn
    from baseline_app import create_app

    app = create_app(auth, provisioner, teams)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


def bombard(url: str, headers: dict, seconds: float, clients: int) -> Round:
    """One round of bombardier (a Go load generator, built by scripts/install-bench-tools.sh):
    `clients` keep-alive connections asking `url` for `seconds`. A Python generator saturated
    at 50 to 90 requests a second on this machine, below what either side serves."""
    argv = [str(BOMBARDIER), "-c", str(clients), "-d", f"{seconds}s", "-l", "-o", "json"]
    argv += ["-p", "r", "-t", "30s", *(f for k, v in headers.items() for f in ("-H", f"{k}: {v}"))]
    output = subprocess.run([*argv, url], capture_output=True, check=True).stdout
    result = json.loads(output)["result"]
    latency = result["latency"]["percentiles"]
    return Round(
        requests=result["req2xx"],
        errors=sum(result[k] for k in ("req1xx", "req3xx", "req4xx", "req5xx", "others")),
        seconds=result["timeTakenSeconds"],
        p50s=[latency["50"] / 1e6],
        p99s=[latency["99"] / 1e6],
    )


def cpu_seconds(processes: list[psutil.Process]) -> dict[int, float]:
    seconds = {}
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        seconds[process.pid] = times.user + times.system
    return seconds


def measure(url: str, headers: dict, processes, seconds: float, clients: int) -> Round:
    """One round; `processes()` lists the processes to count, asked before and after: one that
    starts during the round (a PostgreSQL backend for a connection a pool opens) counts from
    its start. One that ends during it is lost to the count, so pools must not churn."""
    before = cpu_seconds(processes())
    result = bombard(url, headers, seconds, clients)
    after = cpu_seconds(processes())
    result.cpu = sum(spent - before.get(pid, 0.0) for pid, spent in after.items())
    return result


def report(label: str, platform: Round, baseline: Round) -> None:
    def line(name: str, r: Round) -> str:
        return (
            f"  {name:<9} {r.rate:7.0f} req/s  p50 {r.p50 * 1e3:6.1f} ms"
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


BOMBARDIER = ROOT / ".tools" / "bin" / "bombardier"

# The processes on a read's path; the rest of the platform (the auth and terminal services,
# the HTTPS gateway, supervisord) idles through the runs and is left out of the count.
ON_THE_PATH = {"gateway", "provisioner", "teams", "nats"}


def processes_of(platform: Platform, baseline: multiprocessing.Process):
    """Two functions listing each side's processes at the moment they are called."""

    def postgres() -> list[psutil.Process]:
        everything = psutil.Process(platform.runner.pid).children(recursive=True)
        return [p for p in everything if is_postgres(p)]

    def ours() -> list[psutil.Process]:
        everything = psutil.Process(platform.runner.pid).children(recursive=True)
        return [*(p for p in everything if program(p) in ON_THE_PATH), *postgres()]

    def theirs() -> list[psutil.Process]:
        return [psutil.Process(baseline.pid), *postgres()]

    return ours, theirs


def is_postgres(process: psutil.Process) -> bool:
    try:
        return process.name().startswith("postgres")
    except psutil.Error:
        return False


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
