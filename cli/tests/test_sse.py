"""The Server-Sent Events reader and how events become cluster changes."""

import json

from pyk8s_cli import sse, watch


def test_events_comments_multiline_data_and_ids():
    lines = [
        ": keep-alive",
        "event: cluster",
        "id: 7",
        'data: {"a":',
        "data: 1}",
        "",
        "",
        "data: plain",
        "retry: 100",
        "",
        "event: ignored-without-data",
        "",
    ]
    events = list(sse.parse(lines))
    assert [(e.event, e.data, e.id) for e in events] == [
        ("cluster", '{"a":\n1}', "7"),
        ("message", "plain", "7"),
    ]
    assert events[0].json() == {"a": 1}
    assert events[1].json() is None


def test_cloud_event_becomes_a_change():
    cloud = {
        "specversion": "1.0",
        "id": "e1",
        "type": "io.pyk8s.cluster.failed",
        "subject": "c-1",
        "data": {
            "cluster_id": "c-1",
            "name": "demo",
            "status": "failed",
            "status_message": "no image",
        },
    }
    change = watch.change_of(sse.ServerEvent("message", json.dumps(cloud), "e1"))
    assert (change.cluster_id, change.status, change.message, change.type) == (
        "c-1",
        "failed",
        "no image",
        "io.pyk8s.cluster.failed",
    )


def test_bare_cluster_object_becomes_a_change():
    cluster = {"id": "c-2", "name": "demo", "status": "ready", "status_message": None}
    change = watch.change_of(sse.ServerEvent("cluster", json.dumps(cluster)))
    assert (change.cluster_id, change.status, change.type) == ("c-2", "ready", "cluster")
    assert watch.change_of(sse.ServerEvent("message", "not json")) is None
