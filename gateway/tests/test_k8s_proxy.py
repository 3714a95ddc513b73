"""The Kubernetes API proxy at /k8s/clusters/{id}/...: the whole platform for real, and a TLS
Kubernetes API server test double behind it (conftest.py). Every rule is proven by its denial
at the gateway, and the requests that pass are checked as the API server received them."""

import gzip
import json
import socket
import uuid

import httpx
import pytest
from httpx_ws import connect_ws
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conftest import unique
from pyk8s_kit.embedded import free_port
from pyk8s_kit.testing import wait_until

PODS = "/api/v1/namespaces/default/pods"


@pytest.fixture
def platform_overrides():
    return {"auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1}}


@pytest.fixture
def team(person, make_team, join_team):
    """A team with an owner, an admin, a member and a viewer, and an outsider."""
    people = {role: person() for role in ("owner", "admin", "member", "viewer", "outsider")}
    team_id = make_team(people["owner"], unique("team-"))
    for role in ("admin", "member", "viewer"):
        join_team(people["owner"], team_id, people[role], role)
    return team_id, people


@pytest.fixture
def kube(platform):
    """An HTTP client for the gateway's /k8s routes; no credentials of its own."""
    with httpx.Client(base_url=f"{platform.url}/k8s/clusters", timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def as_(who) -> dict[str, str]:
    return bearer(who.tokens["access_token"])


def assert_status(answer: httpx.Response, code: int, reason: str) -> dict:
    """The answer is a Kubernetes Status, as kubectl expects from an API server."""
    assert answer.status_code == code, answer.text
    assert answer.headers["content-type"] == "application/json"
    status = answer.json()
    assert status["kind"] == "Status" and status["apiVersion"] == "v1", status
    assert (status["status"], status["reason"], status["code"]) == ("Failure", reason, code)
    assert status["message"]
    return status


def test_each_role_is_proxied_as_its_group_and_its_own_credentials_never_pass(
    team, kube, kube_api, add_cluster
):
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id)
    for role in ("viewer", "member", "admin", "owner"):
        who = people[role]
        forged = {
            **as_(who),
            "Impersonate-User": "system:admin",
            "Impersonate-Group": "system:masters",
            "Impersonate-Uid": "0",
            "Impersonate-Extra-Scopes": "everything",
            "Cookie": "session=secret",
            "Connection": "keep-alive, X-Private",
            "X-Private": "hop-by-hop",
        }
        answer = kube.get(f"/{cluster}{PODS}", params={"limit": "5"}, headers=forged)
        assert answer.status_code == 200, answer.text
        assert answer.json() == kube_api.pod_list
        seen = kube_api.requests_to(PODS)[-1]
        assert seen.query == "limit=5"
        assert seen.all("impersonate-user") == [f"pyk8s:user:{who.id}"]
        assert seen.all("impersonate-group") == [f"pyk8s:{role}"]
        received = {name for name, _ in seen.headers}
        assert not received & {"authorization", "cookie", "x-private", "impersonate-uid"}
        assert not any(name.startswith("impersonate-extra-") for name in received)


def test_refusals_are_statuses_and_never_reach_the_api_server(team, kube, kube_api, add_cluster):
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id)
    outsider = people["outsider"]
    personal = add_cluster(people["owner"].id)
    assert_status(kube.get(f"/{cluster}{PODS}"), 401, "Unauthorized")
    assert_status(kube.get(f"/{cluster}{PODS}", headers=bearer("not-a-token")), 401, "Unauthorized")
    basic = {"Authorization": "Basic YWRtaW46YWRtaW4="}
    assert_status(kube.get(f"/{cluster}{PODS}", headers=basic), 401, "Unauthorized")
    assert_status(kube.get(f"/{cluster}{PODS}", headers=as_(outsider)), 404, "NotFound")
    # Someone else's personal cluster, even for an owner of another team.
    assert_status(kube.get(f"/{personal}{PODS}", headers=as_(people["admin"])), 404, "NotFound")
    assert_status(kube.get(f"/{uuid.uuid4()}{PODS}", headers=as_(outsider)), 404, "NotFound")
    assert_status(kube.get(f"/not-an-id{PODS}", headers=as_(outsider)), 404, "NotFound")
    assert_status(kube.delete(f"/{cluster}{PODS}/x", headers=as_(outsider)), 404, "NotFound")
    assert kube_api.seen == []


def test_a_cluster_that_is_not_ready_is_409(team, kube, kube_api, add_cluster):
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id, status="provisioning")
    answer = kube.get(f"/{cluster}{PODS}", headers=as_(people["viewer"]))
    status = assert_status(answer, 409, "Conflict")
    assert "provisioning" in status["message"]
    assert kube_api.seen == []


def test_a_removed_member_is_refused_and_a_demoted_one_narrowed_on_the_next_request(
    team, kube, kube_api, add_cluster
):
    team_id, people = team
    owner, admin, member = people["owner"], people["admin"], people["member"]
    cluster = add_cluster(owner.id, team_id)
    assert kube.get(f"/{cluster}{PODS}", headers=as_(member)).status_code == 200
    assert kube.get(f"/{cluster}{PODS}", headers=as_(admin)).status_code == 200

    removed = owner.delete(f"/teams/{team_id}/members/{member.id}")
    assert removed.status_code == 204, removed.text
    lowered = owner.patch(f"/teams/{team_id}/members/{admin.id}", json={"role": "viewer"})
    assert lowered.status_code == 200, lowered.text

    # Same access tokens as before: nothing about the team is frozen in them.
    assert_status(kube.get(f"/{cluster}{PODS}", headers=as_(member)), 404, "NotFound")
    assert kube.get(f"/{cluster}{PODS}", headers=as_(admin)).status_code == 200
    assert kube_api.requests_to(PODS)[-1].all("impersonate-group") == ["pyk8s:viewer"]
    assert len(kube_api.requests_to(PODS)) == 3


def test_api_tokens_work_until_revoked(team, kube, kube_api, add_cluster):
    team_id, people = team
    viewer = people["viewer"]
    cluster = add_cluster(people["owner"].id, team_id)
    created = viewer.post("/auth/tokens", json={"name": "ci"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert token.startswith("pyk8s_pat_")
    assert kube.get(f"/{cluster}{PODS}", headers=bearer(token)).status_code == 200
    assert kube_api.requests_to(PODS)[-1].all("impersonate-user") == [f"pyk8s:user:{viewer.id}"]

    revoked = viewer.delete(f"/auth/tokens/{created.json()['id']}")
    assert revoked.status_code == 204, revoked.text
    wait_until(
        lambda: kube.get(f"/{cluster}{PODS}", headers=bearer(token)).status_code == 401,
        timeout=5,
    )
    assert_status(kube.get(f"/{cluster}{PODS}", headers=bearer(token)), 401, "Unauthorized")


def test_a_watch_streams_each_event_as_it_comes(team, kube, kube_api, add_cluster):
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id)
    with kube.stream(
        "GET", f"/{cluster}{PODS}", params={"watch": "true"}, headers=as_(people["viewer"])
    ) as watch:
        assert watch.status_code == 200
        assert "content-length" not in watch.headers
        lines = watch.iter_lines()
        # The API server holds its second event until released: the first arrived alone.
        first = json.loads(next(lines))
        assert first["object"]["metadata"]["name"] == "first"
        kube_api.release()
        second = json.loads(next(lines))
        assert second["object"]["metadata"]["name"] == "second"
        assert list(lines) == []


def test_request_bodies_stream_to_the_api_server(team, kube, kube_api, add_cluster):
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id)
    path = f"/{cluster}/api/v1/namespaces/default/configmaps"
    body = json.dumps({"kind": "ConfigMap", "data": {"k": "v" * 100_000}}).encode()
    sized = kube.post(path, content=body, headers=as_(people["member"]))
    assert sized.status_code == 201 and sized.content == body
    assert sized.headers["content-length"] == str(len(body))

    def chunks():
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    chunked = kube.post(path, content=chunks(), headers=as_(people["member"]))
    assert chunked.status_code == 201 and chunked.content == body
    transfer = kube_api.requests_to("/api/v1/namespaces/default/configmaps")[-1]
    assert transfer.all("transfer-encoding") == ["chunked"]


def test_compressed_answers_pass_through_untouched(team, kube, kube_api, add_cluster):
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id)
    headers = as_(people["viewer"])
    with kube.stream(
        "GET", f"/{cluster}/openapi/v2", headers={**headers, "Accept-Encoding": "gzip"}
    ) as answer:
        assert answer.headers["content-encoding"] == "gzip"
        raw = b"".join(answer.iter_raw())
        assert json.loads(gzip.decompress(raw)) == kube_api.pod_list
    # A client that asks for no compression gets none.
    plain = kube.get(f"/{cluster}/openapi/v2", headers={**headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == kube_api.pod_list
    assert kube_api.requests_to("/openapi/v2")[-1].all("accept-encoding") == ["identity"]


def ws_url(platform, cluster: str, path: str) -> str:
    return f"{platform.url.replace('http', 'ws', 1)}/k8s/clusters/{cluster}{path}"


EXEC = "/api/v1/namespaces/default/pods/p/exec?command=sh&stdin=true"


def test_websocket_upgrades_are_relayed_with_the_chosen_subprotocol(
    platform, team, kube_api, add_cluster
):
    team_id, people = team
    member = people["member"]
    cluster = add_cluster(people["owner"].id, team_id)
    offered = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
    headers = {**as_(member), "Impersonate-Group": "system:masters"}
    with connect(
        ws_url(platform, cluster, EXEC), additional_headers=headers, subprotocols=offered
    ) as socket_:
        assert socket_.subprotocol == "v5.channel.k8s.io"
        socket_.send(b"\x00echo hello\n")
        assert socket_.recv(timeout=10) == b"\x00echo hello\n"
        socket_.send("text stays text")
        assert socket_.recv(timeout=10) == "text stays text"
        # The API server closing ends the client's socket with the same code.
        socket_.send(b"\xffclose")
        with pytest.raises(ConnectionClosed):
            socket_.recv(timeout=10)
        assert socket_.close_code == 4000
    seen = kube_api.requests_to("/api/v1/namespaces/default/pods/p/exec")[-1]
    assert seen.query == "command=sh&stdin=true"
    assert seen.all("impersonate-user") == [f"pyk8s:user:{member.id}"]
    assert seen.all("impersonate-group") == ["pyk8s:member"]
    assert seen.all("authorization") == []
    assert seen.subprotocols == offered


def test_port_forward_over_websocket_keeps_its_tunneling_subprotocol(
    platform, team, kube_api, add_cluster
):
    """kubectl 1.31+ tunnels port-forward's SPDY frames in WebSocket messages under the
    subprotocol `SPDY/3.1+portforward.k8s.io`, whose '/' strict WebSocket libraries refuse."""
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id)
    forward = ws_url(platform, cluster, "/api/v1/namespaces/default/pods/p/portforward")
    tunnel = "SPDY/3.1+portforward.k8s.io"
    with (
        httpx.Client(headers=as_(people["member"]), timeout=10) as client,
        connect_ws(forward.replace("ws", "http", 1), client, subprotocols=[tunnel]) as socket_,
    ):
        assert socket_.subprotocol == tunnel
        socket_.send_bytes(b"\x80\x03\x00\x02spdy frame")
        assert socket_.receive_bytes(timeout=10) == b"\x80\x03\x00\x02spdy frame"
    seen = kube_api.requests_to("/api/v1/namespaces/default/pods/p/portforward")[-1]
    assert seen.subprotocols == [tunnel]
    assert seen.all("impersonate-group") == ["pyk8s:member"]


def ws_refusal(platform, cluster: str, headers: dict, path: str = EXEC) -> tuple[int, dict]:
    with pytest.raises(InvalidStatus) as refused:
        connect(ws_url(platform, cluster, path), additional_headers=headers).close()
    response = refused.value.response
    return response.status_code, json.loads(response.body)


def test_websocket_refusals(platform, team, kube_api, add_cluster):
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id)
    assert ws_refusal(platform, cluster, {})[0] == 401
    code, status = ws_refusal(platform, cluster, as_(people["outsider"]))
    assert (code, status["kind"], status["reason"]) == (404, "Status", "NotFound")
    assert kube_api.seen == []
    # The API server's own refusal keeps its status (kubectl then tries SPDY, whose answer
    # carries the reason: test_spdy_upgrades_are_refused_with_a_status).
    locked = "/api/v1/namespaces/locked/pods/p/exec?command=sh"
    code, status = ws_refusal(platform, cluster, as_(people["viewer"]), locked)
    assert (code, status["kind"], status["reason"]) == (403, "Status", "Forbidden")


def spdy_upgrade(platform, token: str, path: str) -> tuple[bytes, dict]:
    """What kubectl before 1.31 sends for exec (and newer ones after a failed WebSocket
    attempt), on a socket of its own: the status line and the Status body."""
    host, port = platform.url.removeprefix("http://").split(":")
    upgrade = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}:{port}\r\n"
        f"Authorization: Bearer {token}\r\n"
        "Connection: Upgrade\r\n"
        "Upgrade: SPDY/3.1\r\n"
        "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(upgrade.encode())
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            data = connection.recv(65536)
            if not data:
                break
            answer += data
    head, _, body = answer.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)


def test_spdy_upgrades_are_refused_with_a_status(platform, team, kube_api, add_cluster):
    """An ASGI server cannot switch to SPDY: the answer is a clear 400 at once, not a 500
    and not a hang, unless the API server has a better reason to refuse."""
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id)
    token = people["member"].tokens["access_token"]
    line, status = spdy_upgrade(platform, token, f"/k8s/clusters/{cluster}{EXEC}")
    assert line.startswith(b"HTTP/1.1 400 "), line
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "BadRequest", 400)
    assert "WebSockets" in status["message"] and "1.31" in status["message"]
    # The API server was asked without the upgrade, and said only that it needs one.
    [asked] = kube_api.requests_to("/api/v1/namespaces/default/pods/p/exec")
    assert asked.all("upgrade") == [] and asked.all("connection") == ["keep-alive"]
    assert asked.all("impersonate-group") == ["pyk8s:member"]

    # The API server's own refusal (no right to exec, say) tells more, and passes.
    locked = f"/k8s/clusters/{cluster}/api/v1/namespaces/locked/pods/p/exec?command=sh"
    line, status = spdy_upgrade(platform, token, locked)
    assert line.startswith(b"HTTP/1.1 403 ") and status["reason"] == "Forbidden"

    # Anything else that asks for an upgrade is refused without reaching the API server.
    line, status = spdy_upgrade(platform, token, f"/k8s/clusters/{cluster}{PODS}")
    assert line.startswith(b"HTTP/1.1 400 ") and "WebSockets" in status["message"]
    assert kube_api.requests_to(PODS) == []

    outsider = people["outsider"].tokens["access_token"]
    line, status = spdy_upgrade(platform, outsider, f"/k8s/clusters/{cluster}{EXEC}")
    assert line.startswith(b"HTTP/1.1 404 ") and status["reason"] == "NotFound"


def test_an_unreachable_or_unverified_api_server_is_a_clean_error(
    team, kube, kube_api, add_cluster
):
    team_id, people = team
    viewer = as_(people["viewer"])
    gone = add_cluster(
        people["owner"].id,
        team_id,
        kubeconfig=kube_api.admin_kubeconfig(f"https://127.0.0.1:{free_port()}"),
    )
    assert_status(kube.get(f"/{gone}{PODS}", headers=viewer), 503, "ServiceUnavailable")
    # A server whose certificate the cluster's CA did not sign is never talked to.
    impostor = kube_api.admin_kubeconfig(foreign_ca=True)
    unverified = add_cluster(people["owner"].id, team_id, kubeconfig=impostor)
    assert_status(kube.get(f"/{unverified}{PODS}", headers=viewer), 502, "InternalError")
    assert kube_api.seen == []


def test_services_down_is_503_with_retry_after(team, kube, kube_api, add_cluster, platform):
    team_id, people = team
    cluster = add_cluster(people["owner"].id, team_id)
    provisioner = platform.runtimes.pop("provisioner")
    platform.run(provisioner.stop())
    answer = kube.get(f"/{cluster}{PODS}", headers=as_(people["viewer"]))
    status = assert_status(answer, 503, "ServiceUnavailable")
    assert answer.headers["retry-after"] == "2"
    assert status["details"] == {"retryAfterSeconds": 2}
    assert kube_api.seen == []
