"""P6: `make up` to ready. Times scripts/up.py's runner from its start until
`/health/ready` answers 200: on a new data folder (PostgreSQL's initdb, identities, secrets),
then restarted on the same folder, warm, as a second `make up` is (the target is for warm
caches). The baseline, in the same run: PostgreSQL and NATS alone, embedded as the runner
embeds them, started on a folder of their own until each accepts connections, warm too.

    uv run python bench/startup.py [warm starts]
"""

import statistics
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import psutil
from platform_runner import Platform

from pyk8s_kit.embedded import EmbeddedNats, EmbeddedPostgres
from pyk8s_kit.natsauth import ensure_credentials

TARGET_SECONDS = 10


def timed_platform_start(platform: Platform, cpu: dict[str, float] | None = None) -> float:
    """Seconds to ready; adds the CPU seconds each program used until then to `cpu`."""
    started = time.perf_counter()
    platform.start()
    seconds = time.perf_counter() - started
    for process in psutil.Process(platform.runner.pid).children(recursive=True):
        with suppress(psutil.Error):
            name = program_of(process.cmdline())
            times = process.cpu_times()
            if cpu is not None:
                cpu[name] = cpu.get(name, 0.0) + times.user + times.system
    platform.stop()
    return seconds


def program_of(argv: list[str]) -> str:
    """`pyk8s_auth` for `python -m pyk8s_auth`, else the program's file name."""
    if "-m" in argv and argv.index("-m") + 1 < len(argv):
        return argv[argv.index("-m") + 1]
    return Path(argv[0]).name if argv else "?"


def timed_floor_start(folder: Path) -> float:
    """PostgreSQL and NATS, started one after the other as the runner starts them."""
    started = time.perf_counter()
    pg = EmbeddedPostgres(folder / "pg").start()
    nats = EmbeddedNats(folder / "nats", ensure_credentials(folder / "credentials")).start()
    seconds = time.perf_counter() - started
    nats.stop()
    pg.stop()
    return seconds


def main() -> None:
    warm_starts = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    tmp = Path(tempfile.mkdtemp(prefix="bench-p6-"))
    platform = Platform(tmp / "data")
    first = timed_platform_start(platform)
    timed_floor_start(tmp / "floor")  # its first start: initdb, like the runner's first
    warm, floor, cpu = [], [], {}
    for _ in range(warm_starts):
        warm.append(timed_platform_start(platform, cpu))
        floor.append(timed_floor_start(tmp / "floor"))
    p50, floor50 = statistics.median(warm), statistics.median(floor)
    print(f"P6 `make up` to ready: new data folder {first:.1f} s")
    print("P6 warm starts: " + ", ".join(f"{s:.1f} s" for s in warm))
    used = sorted(((seconds / warm_starts, name) for name, seconds in cpu.items()), reverse=True)
    print(
        f"P6 CPU until ready, per warm start: {sum(s for s, _ in used):.1f} s in all; "
        + ", ".join(f"{name} {seconds:.1f} s" for seconds, name in used if seconds >= 0.05)
    )
    print(
        f"P6 warm (n={warm_starts}): p50 {p50:.1f} s, max {max(warm):.1f} s | PostgreSQL + NATS "
        f"alone p50 {floor50:.1f} s | ratio {p50 / floor50:.1f}x | target <= {TARGET_SECONDS} s: "
        f"{'met' if max(warm) <= TARGET_SECONDS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
