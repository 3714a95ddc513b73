"""NATS stopped while the provisioner (its own process) creates a cluster, and started again
after the CLI has finished: the cluster ends ready, each lifecycle event is on the stream
once, and the delete that follows leaves no container and no process behind. With the kind
double and with kwok for real. Complements the provisioner kills of
tests/provisioner/test_crash_safety.py, whose helpers it uses."""

import time
import uuid
from pathlib import Path
from typing import ClassVar

import pytest

from conftest import kwok_processes, remove_kwok, require_kwok
from pyk8s_contracts import clusters as c
from pyk8s_contracts import subjects
from pyk8s_kit.testing import ensure_all_streams, stream_events, wait_until_async
from pyk8s_provisioner.main import MIGRATIONS
from pyk8s_provisioner.service import runtime_name
from tests.provisioner.conftest import (
    children,
    docker_nodes,
    processes_mentioning,
    provisioner_env,
    remove_nodes,
)
from tests.provisioner.test_crash_safety import NODES_WITH_ONE_WORKER, create_when_served, status_is

from .conftest import assert_once_by_id

LIFECYCLE = ["created", "provisioning", "ready", "deleting", "deleted"]


def verbs(events: list[dict], cluster_id: uuid.UUID) -> list[str]:
    return [e["type"].rsplit(".", 1)[-1] for e in events if e["subject"] == str(cluster_id)]


class KindNodes:
    """The kind double's nodes; its CLI holds them "starting" long enough to stop NATS."""

    provider = "kind"
    env: ClassVar[dict[str, str]] = {"PYK8S_DOUBLE_CREATE_DELAY": "3"}

    def __init__(self, runtime: str, work_dir: Path) -> None:
        self.runtime = runtime
        self.expected = [node.format(n=runtime) for node in NODES_WITH_ONE_WORKER["kind"]]

    def made(self) -> bool:
        return docker_nodes("kind", self.runtime) == self.expected

    def running(self) -> bool:
        return docker_nodes("kind", self.runtime, "running") == self.expected

    def gone(self) -> bool:
        return docker_nodes("kind", self.runtime) == []

    def remove(self) -> None:
        remove_nodes("kind", self.runtime)


class KwokProcesses:
    """kwok's processes; kwokctl takes its real 3-5 s, the window to stop NATS in."""

    provider = "kwok"
    env: ClassVar[dict[str, str]] = {}

    def __init__(self, runtime: str, work_dir: Path) -> None:
        self.runtime = runtime
        self.kwok_workdir = work_dir / "kwok"

    def made(self) -> bool:
        return (self.kwok_workdir / "clusters" / self.runtime / "pids").is_dir()

    def running(self) -> bool:
        return len(kwok_processes(self.kwok_workdir, self.runtime)) == 5

    def gone(self) -> bool:
        return kwok_processes(self.kwok_workdir, self.runtime) == []

    def remove(self) -> None:
        remove_kwok(self.kwok_workdir, self.runtime)


@pytest.mark.parametrize("observe", [KindNodes, KwokProcesses], ids=["kind", "kwok"])
async def test_nats_restart_mid_create_completes_once_and_leaves_nothing(
    observe, nats_server, make_database, components, gateway_client, tmp_path
):
    if observe is KwokProcesses:
        require_kwok()
    await ensure_all_streams(nats_server)  # as the other services would at their start
    work_dir = tmp_path / "w"
    env = provisioner_env(make_database("provisioner", MIGRATIONS), nats_server, work_dir)
    provisioner = components("provisioner", env).start(**observe.env)
    actor = uuid.uuid4()
    request = c.ClusterCreateRequest(
        actor_id=actor, name="natsdown", provider=observe.provider, workers=1
    )
    cluster = await create_when_served(gateway_client, request)
    runtime = runtime_name("natsdown", cluster.id)
    observed = observe(runtime, work_dir)
    try:

        def creating() -> bool:
            return any("create" in cmd for cmd in children(provisioner.process.pid))

        await wait_until_async(lambda: creating() and observed.made(), timeout=30, interval=0.02)
        nats_server.stop()
        stopped = time.monotonic()
        # The cluster becomes ready in the database while its events cannot be published.
        await wait_until_async(lambda: not creating(), timeout=30, interval=0.1)
        nats_server.start()
        restarted = time.monotonic()

        async def ready_event() -> bool:
            events = await stream_events(nats_server, subjects.CLUSTER_EVENTS_ALL)
            return "ready" in verbs(events, cluster.id)

        await wait_until_async(ready_event, timeout=30, interval=0.1)
        print(
            f"NATS down {restarted - stopped:.2f}s during the create; ready event on the "
            f"stream {time.monotonic() - restarted:.2f}s after NATS returned"
        )
        # The asking client reconnects on its own schedule.
        await wait_until_async(lambda: status_is(gateway_client, actor, cluster.id, "ready"))
        assert observed.running()

        await gateway_client.ask(
            subjects.PROVISIONER_CLUSTER_DELETE,
            c.ClusterRequest(actor_id=actor, cluster_id=cluster.id),
            c.Cluster,
        )

        async def deleted() -> list[dict] | None:
            events = await stream_events(nats_server, subjects.CLUSTER_EVENTS_ALL)
            return events if "deleted" in verbs(events, cluster.id) else None

        events = await wait_until_async(deleted, timeout=60, interval=0.1)
        assert verbs(events, cluster.id) == LIFECYCLE
        assert_once_by_id(events)
        assert observed.gone()
        assert processes_mentioning(runtime) == []
    finally:
        provisioner.stop()
        observed.remove()
