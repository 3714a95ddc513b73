"""P5 memory: each service's resident set size (RSS) on `make up`'s runner, idle and after
10,000 clusters in 1,000 teams were seeded through the services' own models (the provisioner's
clusters, the teams service's teams and memberships) and listed through the API, page by page,
by someone in every team (the widest list there is). The baseline, in the same run: the RSS
of an idle Python process of the same interpreter.

    uv run python bench/rss.py [clusters] [teams]
"""

import asyncio
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psutil
from list_page import cluster_rows
from platform_runner import Platform, percentile, sign_up
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from pyk8s_contracts.teams import Role
from pyk8s_kit.db import Database
from pyk8s_provisioner.models import Cluster
from pyk8s_teams.models import Membership, Team

TARGET_MB = 150
PROGRAMS = ("auth", "teams", "provisioner", "terminal", "gateway")
MB = 1024 * 1024


def rss_by_program(platform: Platform) -> dict[str, list[float]]:
    """MB per process of each program this runner started (`python -m pyk8s_<name>`); other
    platforms on the machine are not counted."""
    found: dict[str, list[float]] = {name: [] for name in PROGRAMS}
    for process in psutil.Process(platform.runner.pid).children(recursive=True):
        argv = process.cmdline()
        for name in PROGRAMS:
            if argv[-2:] == ["-m", f"pyk8s_{name}"] and "setpriv" not in argv[0]:
                found[name].append(process.memory_info().rss / MB)
    return found


def idle_python_mb() -> float:
    idle = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(1)
        return psutil.Process(idle.pid).memory_info().rss / MB
    finally:
        idle.kill()
        idle.wait()


async def seed(platform: Platform, user_id: uuid.UUID, clusters: int, teams: int) -> None:
    team_ids = [uuid.uuid4() for _ in range(teams)]
    async with writing(platform.database_url("teams")) as db:
        await db.execute(
            insert(Team),
            [{"id": t, "name": f"rss-{t.hex[:12]}", "display_name": "RSS"} for t in team_ids],
        )
        await db.execute(
            insert(Membership),
            [{"team_id": t, "user_id": user_id, "role": Role.MEMBER.value} for t in team_ids],
        )
    async with writing(platform.database_url("provisioner")) as db:
        await db.execute(insert(Cluster), cluster_rows(team_ids, clusters))


@asynccontextmanager
async def writing(url: str) -> AsyncIterator[AsyncSession]:
    """A transaction on a service's database, through the kit as the service opens it."""
    db = Database(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        async with db.session() as session:
            yield session
    finally:
        await db.dispose()


def walk(api: httpx.Client, headers: dict, path: str, limit: int) -> list[float]:
    """Every page of a list; the time of each in ms."""
    times, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        started = time.perf_counter()
        answer = api.get(path, params=params, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            return times


def show(label: str, rss: dict[str, list[float]]) -> str:
    return f"{label}: " + ", ".join(
        f"{name} {'/'.join(f'{mb:.0f}' for mb in sorted(sizes))} MB" for name, sizes in rss.items()
    )


def main() -> None:
    clusters = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    teams = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    platform = Platform(Path(tempfile.mkdtemp(prefix="bench-rss-")) / "data").start()
    try:
        with httpx.Client(base_url=f"{platform.http}/api/v1", timeout=30) as api:
            headers = sign_up(api)
            user_id = uuid.UUID(api.get("/auth/me", headers=headers).json()["id"])
            idle = rss_by_program(platform)
            asyncio.run(seed(platform, user_id, clusters, teams))
            pages = []
            for limit in (50, 200):
                pages += walk(api, headers, "/clusters", limit)
                walk(api, headers, "/teams", limit)
            after = rss_by_program(platform)
        floor = idle_python_mb()
    finally:
        platform.stop()
    print(f"P5 RSS, {clusters} clusters in {teams} teams listed page by page (gateway: HTTP/HTTPS)")
    print(f"  idle Python process (baseline): {floor:.0f} MB")
    print("  " + show("platform idle", idle))
    print("  " + show("after the lists", after))
    largest = max(max(sizes) for sizes in after.values() if sizes)
    print(
        f"  largest {largest:.0f} MB = {largest / floor:.1f}x an idle Python | cluster pages "
        f"through the API p50 {percentile(pages, 0.5):.0f} ms p99 {percentile(pages, 0.99):.0f} ms"
        f" | target each <= {TARGET_MB} MB: {'met' if largest <= TARGET_MB else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
