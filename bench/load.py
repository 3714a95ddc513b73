"""The load test: locust users (bench/locustfile.py) running the real mix against `make up`'s
runner on loopback, headless, the kind test double as the cluster CLI. Prints each call's
p50/p99 and failures; exits non-zero on any failed request or dropped connection.

    uv run python bench/load.py [users] [seconds] [users started per second]

Default `30 20 10`, short enough for `make bench`; the full test is `200 60 10` (see
docs/performance.md, "Load test")."""

import csv
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from platform_runner import ROOT, Platform

DOUBLES = ROOT / "services" / "provisioner" / "tests" / "doubles"
KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster"


def run_locust(platform: Platform, users: int, seconds: int, rate: int, env: dict) -> Path:
    stats = platform.data.parent / "locust"
    log = (platform.data.parent / "locust.log").open("w")
    subprocess.run(
        [
            sys.executable, "-m", "locust",
            "-f", str(ROOT / "bench" / "locustfile.py"),
            "--headless", "--only-summary",
            "--users", str(users), "--spawn-rate", str(rate), "--run-time", f"{seconds}s",
            "--stop-timeout", "120",
            "--host", platform.http,
            "--csv", str(stats),
        ],
        env={**os.environ, **env},
        stdout=log,
        stderr=log,
        check=False,
    )  # fmt: skip
    return stats


def report(stats: Path) -> int:
    """Each call's figures; the number of failures."""
    failures = 0
    print(f"{'call':<44} {'requests':>8} {'failed':>6} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7}")
    with open(f"{stats}_stats.csv") as rows:
        for row in csv.DictReader(rows):
            name = f"{row['Type']} {row['Name']}".strip()
            print(
                f"{name:<44} {row['Request Count']:>8} {row['Failure Count']:>6} "
                f"{row['50%']:>7} {row['99%']:>7} {float(row['Max Response Time']):>7.0f}"
            )
            if row["Name"] != "Aggregated":
                failures += int(row["Failure Count"])
    with open(f"{stats}_failures.csv") as rows:
        for row in csv.DictReader(rows):
            print(f"  failed {row['Occurrences']}x {row['Method']} {row['Name']}: {row['Error']}")
    return failures


def leftover_nodes(prefix: str) -> list[str]:
    """The containers of this run's clusters the platform has not deleted (yet)."""
    shown = f'{{{{.ID}}}} {{{{.Label "{KIND_CLUSTER_LABEL}"}}}}'
    listed = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={KIND_CLUSTER_LABEL}", "--format", shown],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = [line.split(" ", 1) for line in listed.splitlines()]
    return [row[0] for row in rows if len(row) == 2 and row[1].startswith(f"{prefix}-")]


def clean_up(prefix: str) -> None:
    """Waits for the platform to delete what the users deleted last, then removes what is
    left (a run cut short)."""
    deadline = time.monotonic() + 60
    while leftover_nodes(prefix) and time.monotonic() < deadline:
        time.sleep(1)
    if left := leftover_nodes(prefix):
        print(f"removing {len(left)} node containers the platform did not delete")
        subprocess.run(["docker", "rm", "-f", *left], capture_output=True, check=False)


def main() -> None:
    users, seconds, rate = (
        int(a) for a in (sys.argv[1:] + ["30", "20", "10"][len(sys.argv) - 1 :])
    )
    prefix = f"load{uuid.uuid4().hex[:4]}"
    platform = Platform(
        Path(tempfile.mkdtemp(prefix="bench-load-")) / "data",
        {"PROVISIONER_KIND_BIN": str(DOUBLES / "kind_double")},
    ).start()
    try:
        stats = run_locust(platform, users, seconds, rate, {"LOAD_PREFIX": prefix})
        clean_up(prefix)
    finally:
        platform.stop()
    print(f"Load test: {users} users (started {rate}/s) for {seconds} s, loopback, kind double")
    failures = report(stats)
    print(f"failures and dropped connections: {failures}; logs: {platform.data.parent}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
