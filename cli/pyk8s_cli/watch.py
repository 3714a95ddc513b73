"""Follow a cluster until it reaches a wanted state: live from the gateway's event stream,
falling back to polling `GET /clusters/{id}` when the stream is not available."""

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from . import sse
from .client import ApiClient
from .errors import ApiError

# The gateway's Server-Sent Events stream of the caller's visible cluster changes.
EVENTS_PATH = "/events/clusters"
# The gateway sends a keep-alive every 15 s; a stream silent for this long is dead.
QUIET_SECONDS = 40.0
POLL_SECONDS = 1.0


@dataclass
class Change:
    """One cluster change, from an event or from a fresh read of the cluster."""

    cluster_id: str | None
    status: str | None
    message: str | None = None
    type: str | None = None
    payload: Any = None


def change_of(event: sse.ServerEvent) -> Change | None:
    """CloudEvents (`data` holds the cluster fields) or a bare cluster object."""
    payload = event.json()
    if not isinstance(payload, dict):
        return None
    data = payload.get("data") if isinstance(payload.get("data"), dict) else payload
    cluster_id = data.get("cluster_id") or data.get("id") or payload.get("subject")
    return Change(
        cluster_id=str(cluster_id) if cluster_id else None,
        status=data.get("status"),
        message=data.get("status_message") or data.get("message") or data.get("reason"),
        type=payload.get("type") or event.event,
        payload=payload,
    )


def change_from_cluster(cluster: dict[str, Any]) -> Change:
    return Change(
        str(cluster["id"]), cluster.get("status"), cluster.get("status_message"), payload=cluster
    )


def stream_changes(
    api: ApiClient,
    params: dict[str, str] | None = None,
    last_event_id: str | None = None,
    deadline: float | None = None,
) -> Iterator[tuple[Change | None, str | None]]:
    """Changes from the event stream with each event's id, after one `(None, None)` once the
    stream is open (so the caller can read the state it may have missed before). Ends at
    `deadline`; raises httpx errors and ApiError."""
    headers = {"Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    timeout = httpx.Timeout(10.0, read=QUIET_SECONDS)
    with api.stream(EVENTS_PATH, timeout, params=params, headers=headers) as response:
        yield None, None
        for event in sse.parse(until(response.iter_lines(), deadline)):
            change = change_of(event)
            if change is not None:
                yield change, event.id


def until(lines: Iterator[str], deadline: float | None) -> Iterator[str]:
    for line in lines:
        yield line
        if deadline is not None and time.monotonic() >= deadline:
            return


class Timeout(Exception):
    pass


def follow(
    api: ApiClient,
    cluster_id: str,
    done: Callable[[Change], bool],
    on_change: Callable[[Change], None],
    deadline: float,
) -> Change:
    """Report changes of one cluster until `done(change)`; raise Timeout at the deadline."""
    while time.monotonic() < deadline:
        try:
            for change, _ in stream_changes(api, deadline=deadline):
                if change is None:
                    change = read(api, cluster_id)
                if change.cluster_id == cluster_id and change.status:
                    on_change(change)
                    if done(change):
                        return read_or(api, cluster_id, change)
        except httpx.TimeoutException:
            pass  # quiet stream: check directly below, then listen again
        except (httpx.TransportError, ApiError):
            return poll(api, cluster_id, done, on_change, deadline)
        current = read(api, cluster_id)
        on_change(current)
        if done(current):
            return current
        pause(deadline)
    raise Timeout()


def poll(
    api: ApiClient,
    cluster_id: str,
    done: Callable[[Change], bool],
    on_change: Callable[[Change], None],
    deadline: float,
) -> Change:
    while time.monotonic() < deadline:
        current = read(api, cluster_id)
        on_change(current)
        if done(current):
            return current
        pause(deadline)
    raise Timeout()


def pause(deadline: float) -> None:
    time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def read(api: ApiClient, cluster_id: str) -> Change:
    try:
        return change_from_cluster(api.get(f"/clusters/{cluster_id}"))
    except ApiError as error:
        if error.status == 404:
            return Change(cluster_id, "deleted", "the cluster no longer exists")
        raise


def read_or(api: ApiClient, cluster_id: str, change: Change) -> Change:
    """The cluster as stored now (it carries the full fields), or the event if it is gone."""
    current = read(api, cluster_id)
    return current if current.status == change.status else change
