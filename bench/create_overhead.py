"""P3: the platform's own time on a create. From `POST /api/v1/clusters` to the `ready` event at
an outside subscriber (the `events` identity, docs/events.md), minus the time the cluster CLIs
the provisioner ran for that cluster took themselves.

`make up`'s runner is started with each CLI behind a timing shim: a shell script that runs the
real program and appends its start, end and arguments to a log. The provisioner runs exactly
what it always runs (kwokctl create and scale, kubectl for the node wait, the bindings and the
node check; the kind/k3d test doubles and `docker exec` for theirs); the shim's own start is
counted as the platform's. Calls a CLI makes itself (kwokctl runs kubectl) are not logged again.
Per cluster: total, CLI and total - CLI; the ratio is total - CLI to the CLI time in the same
run, the part of a create the platform adds.

    uv run python bench/create_overhead.py [clusters per provider] [providers]

Default `4 kwok,kind`: four kwok clusters (when .tools has kwok) and four of the kind test
double with no delay, one at a time.
"""

import asyncio
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from platform_runner import ROOT, EventSubscriber, Platform, percentile, sign_up

from pyk8s_provisioner.service import runtime_name

TARGET_MS = 150
DOUBLES = ROOT / "services" / "provisioner" / "tests" / "doubles"
TOOLS = ROOT / ".tools"
KUBERNETES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler")

SHIM = """#!/bin/bash
# Timing shim of the P3 benchmark: runs {real}, logs start, end and arguments.
if [ -n "$PYK8S_BENCH_CLI_NESTED" ]; then exec {real} "$@"; fi
export PYK8S_BENCH_CLI_NESTED=1
start=$EPOCHREALTIME
{real} "$@"
status=$?
printf '%s %s %s\\n' "$start" "$EPOCHREALTIME" "$*" >> {log}
exit $status
"""


def shim(path: Path, real: Path | str, log: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SHIM.format(real=real, log=log))
    path.chmod(0o755)
    return str(path)


def shimmed_env(shims: Path, log: Path) -> dict[str, str]:
    """Settings that point the provisioner at the shims; kubectl of each kwok Kubernetes
    version is shimmed in a copy of the versions folder (the other binaries linked)."""
    env = {
        "PROVISIONER_KIND_BIN": shim(shims / "kind", DOUBLES / "kind_double", log),
        "PROVISIONER_K3D_BIN": shim(shims / "k3d", DOUBLES / "k3d_double", log),
        "PATH": f"{shims / 'bin'}{os.pathsep}{os.environ['PATH']}",
    }
    shim(shims / "bin" / "docker", shutil.which("docker") or "docker", log)
    if kwok_installed():
        env["PROVISIONER_KWOKCTL_BIN"] = shim(shims / "kwokctl", TOOLS / "bin" / "kwokctl", log)
        for version in (TOOLS / "kubernetes").iterdir():
            copy = shims / "kubernetes" / version.name
            copy.mkdir(parents=True)
            for binary in KUBERNETES:
                (copy / binary).symlink_to(version / binary)
            shim(copy / "kubectl", version / "kubectl", log)
        env["PROVISIONER_KWOK_VERSIONS_DIR"] = str(shims / "kubernetes")
    return env


def kwok_installed() -> bool:
    versions = TOOLS / "kubernetes"
    return (TOOLS / "bin" / "kwokctl").exists() and versions.is_dir() and any(versions.iterdir())


def cli_seconds(log: Path, runtime: str) -> tuple[float, int]:
    """The time of the logged CLI calls that name the cluster's runtime (its name, its
    kubeconfig, its node containers), and how many there were."""
    total, calls = 0.0, 0
    for line in log.read_text().splitlines() if log.exists() else []:
        start, end, argv = line.split(" ", 2)
        if runtime in argv:
            total += float(end) - float(start)
            calls += 1
    return total, calls


async def create_one(
    api: httpx.AsyncClient, events: EventSubscriber, headers: dict, provider: str, log: Path
) -> tuple[float, float, int]:
    name = f"p3-{provider}-{uuid.uuid4().hex[:6]}"
    started = time.perf_counter()
    answer = await api.post("/clusters", json={"name": name, "provider": provider}, headers=headers)
    answer.raise_for_status()
    cluster_id = answer.json()["id"]
    ready = events.expect(cluster_id, "io.pyk8s.cluster.ready")
    failed = events.expect(cluster_id, "io.pyk8s.cluster.failed")
    done, _ = await asyncio.wait({ready, failed}, timeout=180, return_when=asyncio.FIRST_COMPLETED)
    if ready not in done:
        raise SystemExit(f"{provider} cluster {name} did not become ready")
    total = ready.result() - started
    cli, calls = cli_seconds(log, runtime_name(name, uuid.UUID(cluster_id)))
    await delete(api, headers, cluster_id, events)
    return total, cli, calls


async def delete(api: httpx.AsyncClient, headers: dict, cluster_id: str, events) -> None:
    """kwok's processes outlive the platform's: every cluster is deleted before it stops."""
    deleted = events.expect(cluster_id, "io.pyk8s.cluster.deleted")
    (await api.delete(f"/clusters/{cluster_id}", headers=headers)).raise_for_status()
    await asyncio.wait_for(deleted, timeout=120)


def report(provider: str, runs: list[tuple[float, float, int]]) -> bool:
    overhead = [(total - cli) * 1000 for total, cli, _ in runs]
    cli = [c * 1000 for _, c, _ in runs]
    total = [t * 1000 for t, _, _ in runs]
    p50 = statistics.median(overhead)
    print(
        f"P3 {provider}: n={len(runs)}, {runs[0][2]} CLI calls each | POST to ready p50 "
        f"{statistics.median(total):.0f} ms | CLI's own p50 {statistics.median(cli):.0f} ms | "
        f"platform (total - CLI) p50 {p50:.0f} ms p99 {percentile(overhead, 0.99):.0f} ms | "
        f"ratio platform/CLI {p50 / statistics.median(cli):.3f} | target p50 <= {TARGET_MS} ms: "
        f"{'met' if p50 <= TARGET_MS else 'NOT met'}"
    )
    return p50 <= TARGET_MS


async def measure(platform: Platform, providers: list[str], count: int, log: Path) -> None:
    with httpx.Client(base_url=f"{platform.http}/api/v1", timeout=30) as setup:
        headers = sign_up(setup)
    events = await EventSubscriber(platform, "pyk8s.events.cluster.>", "bench-p3").start()
    try:
        async with httpx.AsyncClient(base_url=f"{platform.http}/api/v1", timeout=30) as api:
            for provider in providers:
                # The first create of a provider warms what a running platform has warm.
                await create_one(api, events, headers, provider, log)
                runs = [await create_one(api, events, headers, provider, log) for _ in range(count)]
                report(provider, runs)
    finally:
        await events.stop()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 4
    providers = (sys.argv[2] if len(sys.argv) > 2 else "kwok,kind").split(",")
    if "kwok" in providers and not kwok_installed():
        print("P3 kwok: skipped, .tools has no kwok (scripts/install-k8s-tools.sh)")
        providers.remove("kwok")
    tmp = Path(tempfile.mkdtemp(prefix="bench-p3-"))
    log = tmp / "cli.log"
    platform = Platform(tmp / "data", shimmed_env(tmp / "shims", log)).start()
    try:
        asyncio.run(measure(platform, providers, count, log))
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
