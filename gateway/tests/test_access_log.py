"""The gateway as it runs in production (`python -m pyk8s_gateway`): its log never carries a
request's query, whatever the route, and it redeems stream tickets another replica issued."""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import wait_until


def live(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/live", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@pytest.fixture
def second_gateway(platform, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log_file = tmp_path / "gateway.log"
    env = {
        **os.environ,
        "GATEWAY_ENVIRONMENT": "test",
        **{f"GATEWAY_{k.upper()}": v for k, v in platform.nats_options("gateway").items()},
        "GATEWAY_PORT": str(port),
        "GATEWAY_LOG_LEVEL": "INFO",
    }
    with log_file.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pyk8s_gateway"], env=env, stdout=log, stderr=log
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or live(url), timeout=30)
        assert process.poll() is None, log_file.read_text()
        yield url, log_file
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_log_carries_no_query_and_tickets_work_across_replicas(api, person, second_gateway):
    url, log_file = second_gateway
    ada = person()
    ticket = api.post("/events/tickets", headers=ada.headers).json()["ticket"]
    secrets = ["query-secret-1", "query-secret-2", "query-secret-3", ticket]

    with httpx.Client(base_url=url, timeout=10) as client:
        refused = client.get("/api/v1/clusters", params={"access_token": secrets[0]})
        assert refused.status_code == 401
        assert client.get(f"/health/live?{secrets[1]}").status_code == 200
        with client.stream("GET", "/api/v1/events/clusters", params={"ticket": ticket}) as stream:
            assert stream.status_code == 200
    with connect(f"{url.replace('http', 'ws', 1)}/ws/terminal/x?t={secrets[2]}") as socket:
        socket.close()

    def logged() -> str:
        text = log_file.read_text()
        return text if "/ws/terminal/x" in text and "/api/v1/events/clusters" in text else ""

    text = wait_until(logged, timeout=10)
    assert '"GET /api/v1/clusters?… HTTP/1.1" 401' in text
    assert '"GET /health/live?… HTTP/1.1" 200' in text
    assert '"GET /api/v1/events/clusters?… HTTP/1.1" 200' in text
    for secret in secrets:
        assert secret not in text


def test_kubernetes_api_requests_leave_no_token_in_the_log(
    person, make_team, second_gateway, add_cluster
):
    url, log_file = second_gateway
    ada = person()
    token = ada.tokens["access_token"]
    cluster = add_cluster(ada.id, make_team(ada))
    pods = f"/k8s/clusters/{cluster}/api/v1/namespaces/default/pods"
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=10, headers=auth) as k8s:
        assert k8s.get(pods, params={"labelSelector": "query-secret-4"}).status_code == 200
        assert k8s.get(f"/k8s/clusters/{uuid.uuid4()}/api").status_code == 404
    exec_path = pods + "/p/exec?command=query-secret-5"
    with connect(
        f"{url.replace('http', 'ws', 1)}{exec_path}",
        additional_headers=auth,
    ) as socket:
        socket.close()

    text = wait_until(lambda: (t := log_file.read_text()).count("/k8s/clusters/") >= 3 and t)
    assert f'"GET {pods}?… HTTP/1.1" 200' in text
    for secret in (token, "query-secret-4", "query-secret-5"):
        assert secret not in text
