"""The example subscriber in docs/events.md runs as written and prints cluster events, from a
single server and from a cluster of three given as its list of URLs."""

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pyk8s_contracts import subjects
from pyk8s_contracts.events import CloudEvent
from pyk8s_kit.testing import ensure_all_streams

DOC = Path(__file__).resolve().parents[2] / "docs" / "events.md"


def example_code() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1
    return blocks[0]


@pytest.mark.parametrize(
    ("servers", "replicas"), [("nats_server", 1), ("nats_cluster", 3)], ids=["server", "cluster"]
)
async def test_the_documented_subscriber_prints_published_events(
    request, servers, replicas, tmp_path
):
    nats_server = request.getfixturevalue(servers)
    await ensure_all_streams(nats_server, replicas)
    nc = await nats_server.connect("provisioner")
    js = nc.jetstream()
    ids = []
    for verb, status in (("created", "pending"), ("ready", "ready")):
        event = CloudEvent(
            source="/pyk8s/provisioner",
            type=f"io.pyk8s.cluster.{verb}",
            subject="c1",
            data={
                "cluster_id": "c1",
                "name": "demo",
                "team_id": None,
                "owner": "u1",
                "provider": "kind",
                "status": status,
            },
        )
        await js.publish(
            subjects.event_subject("cluster", verb),
            event.model_dump_json().encode(),
            headers={"Nats-Msg-Id": event.id},
        )
        ids.append(event.id)
    await nc.close()
    script = tmp_path / "subscriber.py"
    script.write_text(example_code())
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(script)],
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
        env={
            **os.environ,
            "NATS_URL": nats_server.url,
            "NATS_CREDENTIALS": str(nats_server.seeds["events"]),
            "MAX_EVENTS": "2",
        },
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2
    assert "io.pyk8s.cluster.created demo (kind)" in lines[0] and ids[0] in lines[0]
    assert "status=ready" in lines[1] and ids[1] in lines[1]
