"""The Kubernetes API of every cluster at /k8s/clusters/{cluster_id}/..., for kubectl with the
kubeconfig of `GET /api/v1/clusters/{id}/kubeconfig` (docs/kubernetes-access.md).

Every request is authenticated with the platform's own tokens and authorized by the
provisioner (`provisioner.cluster.proxy`), which answers with the caller's current role: no
decision is cached, so a removed or demoted person is refused, or narrowed, on their next
request. The request then goes on to the API server impersonating the caller as the group of
their role, authenticated with the cluster's client certificate. Responses, watches included,
stream through as they come; WebSocket upgrades (exec, attach, cp, port-forward) are relayed
both ways. Errors are Kubernetes `Status` objects, which kubectl prints as it prints its own."""

import asyncio
import contextlib
import logging
import ssl
import uuid

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from httpx_ws import (
    AsyncWebSocketClient,
    AsyncWebSocketSession,
    WebSocketDisconnect,
    WebSocketNetworkError,
    WebSocketUpgradeError,
)
from starlette.background import BackgroundTask
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.websockets import WebSocket, WebSocketState
from wsproto import events as wsproto_events

from pyk8s_contracts import clusters as clusters_contract
from pyk8s_contracts import subjects
from pyk8s_kit.bus import ServiceError, request
from pyk8s_kit.outages import is_outage

from ..kube_status import KubeError
from ..kube_upstream import (
    impersonation,
    request_headers,
    response_headers,
    upstream_url,
)
from ..security import InvalidToken, Principal, TokenVerifier

log = logging.getLogger(__name__)

PREFIX = "/k8s/clusters"
router = APIRouter(prefix=PREFIX, include_in_schema=False)

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# What kubectl before 1.31 (and newer ones falling back) asks for exec, attach, cp and
# port-forward. An ASGI server cannot hand a connection over to SPDY.
SPDY_REFUSED = (
    "SPDY upgrades cannot pass the PyK8s-Lab gateway: exec, attach, cp and port-forward work "
    "over WebSockets, which kubectl 1.31 and newer use. With such a kubectl, this request "
    "is its fallback after the WebSocket attempt failed: run it with -v=6 to see why."
)
# The subresources kubectl upgrades to SPDY, and the API server's refusal of such a request
# that comes without its upgrade (k8s.io/apimachinery proxy.UpgradeAwareHandler).
STREAMING_SUBRESOURCES = (b"exec", b"attach", b"portforward")
UPGRADE_REQUIRED = b"Upgrade request required"
# The proxy check on every request must fail fast, the stream behind it may last.
CHECK_TIMEOUT_SECONDS = 5.0
# How much of a WebSocket's stream from the API server is read at once.
READ_BYTES = 1024 * 1024


def bearer_token(conn: HTTPConnection) -> str:
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise KubeError(401, "Unauthorized: no bearer token (use the kubeconfig from PyK8s-Lab)")
    return token.strip()


async def caller(conn: HTTPConnection) -> Principal:
    verifier: TokenVerifier = conn.app.state.verifier
    try:
        return await verifier.verify(bearer_token(conn))
    except InvalidToken:
        raise KubeError(401, "Unauthorized: the token is invalid, expired or revoked") from None
    except ServiceError as error:
        raise KubeError.from_service(error) from None


async def authorize(conn: HTTPConnection, cluster_id: str) -> clusters_contract.ClusterProxy:
    """The caller, checked now; then where their request goes and as whom."""
    nc = conn.app.state.nc
    if not nc.is_connected:
        raise KubeError.unavailable("the message bus is unreachable")
    try:
        principal = await caller(conn)
        try:
            cluster = uuid.UUID(cluster_id)
        except ValueError:
            raise KubeError(404, "cluster not found") from None
        return await request(
            nc,
            subjects.PROVISIONER_CLUSTER_PROXY,
            clusters_contract.ClusterProxyRequest(actor_id=principal.user_id, cluster_id=cluster),
            clusters_contract.ClusterProxy,
            timeout=CHECK_TIMEOUT_SECONDS,
            actor=principal.assertion,
        )
    except ServiceError as error:
        raise KubeError.from_service(error) from None
    except Exception as error:
        if is_outage(error):
            raise KubeError.unavailable("a dependency is unavailable") from None
        raise


def path_after_cluster(conn: HTTPConnection) -> bytes:
    """The raw (still percent-encoded) path after /k8s/clusters/<id>."""
    raw = conn.scope.get("raw_path") or conn.scope["path"].encode()
    return b"/" + raw.split(b"/", 4)[4] if raw.count(b"/") >= 4 else b"/"


def upgrade_requested(headers: Headers) -> bool:
    """An upgrade other than WebSocket (those reach `proxy_websocket`): SPDY, in practice."""
    connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
    return "upgrade" in connection and "upgrade" in headers


def streaming_subresource(conn: HTTPConnection) -> bool:
    return path_after_cluster(conn).rsplit(b"/", 1)[-1] in STREAMING_SUBRESOURCES


@router.api_route("/{cluster_id}/{path:path}", methods=METHODS)
async def proxy_http(request: Request, cluster_id: str) -> Response:
    try:
        target = await authorize(request, cluster_id)
        spdy = upgrade_requested(request.headers)
        if spdy and not streaming_subresource(request):
            raise KubeError(400, SPDY_REFUSED)
        answer = await send_upstream(request, target)
    except KubeError as error:
        return error.response()
    except ClientDisconnect:
        # The client left while sending its body; 499 is for the access log, nobody reads it.
        return Response(status_code=499)
    if spdy:
        return await spdy_refusal(answer)
    return stream_back(answer, target.cluster_id)


def request_body(request: Request):
    """The client's body as it arrives, or None when it sends none."""
    if "content-length" not in request.headers and "transfer-encoding" not in request.headers:
        return None

    async def chunks():
        async for chunk in request.stream():
            if chunk:
                yield chunk

    return chunks()


async def send_upstream(request: Request, target: clusters_contract.ClusterProxy) -> httpx.Response:
    """The request, on to the API server; the answer's body still to be read."""
    upstream = await request.app.state.kube_upstreams.get(target)
    outgoing = upstream.http.build_request(
        request.method,
        upstream_url(target.server, path_after_cluster(request), request.scope["query_string"]),
        headers=request_headers(request.headers.items(), target),
        content=request_body(request),
    )
    try:
        return await upstream.http.send(outgoing, stream=True)
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise connect_failure(target, error) from None
    except httpx.HTTPError as error:
        log.warning("cluster %s: API server failed: %r", target.cluster_id, error)
        raise KubeError(502, "the cluster's API server did not answer properly") from None


def stream_back(answer: httpx.Response, cluster_id: uuid.UUID) -> StreamingResponse:
    streamed = StreamingResponse(
        relay_body(answer, cluster_id),
        status_code=answer.status_code,
        background=BackgroundTask(answer.aclose),
    )
    streamed.raw_headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in response_headers(answer.headers.multi_items())
    ]
    return streamed


async def spdy_refusal(answer: httpx.Response) -> Response:
    """The answer to an SPDY upgrade for exec, attach or port-forward, sent on without the
    upgrade. The API server checks the caller's permissions and the pod as for the real thing,
    then refuses to run anything without an upgrade. So its refusal, when it has another,
    says what is wrong (kubectl 1.31 and newer only try SPDY after their WebSocket attempt
    failed, for that reason), better than ours would."""
    try:
        body = await answer.aread()
    finally:
        await answer.aclose()
    if answer.status_code >= 400 and UPGRADE_REQUIRED not in body:
        media_type = answer.headers.get("content-type")
        return Response(body, status_code=answer.status_code, media_type=media_type)
    return KubeError(400, SPDY_REFUSED).response()


async def relay_body(answer: httpx.Response, cluster_id: uuid.UUID):
    """The API server's bytes as they arrive, compressed or not: a watch event reaches the
    client as soon as the API server sends it."""
    try:
        async for chunk in answer.aiter_raw():
            yield chunk
    except httpx.HTTPError as error:
        # The headers are gone already: all that is left is to end the stream.
        log.warning("cluster %s: API server stream broke: %r", cluster_id, error)


@router.websocket("/{cluster_id}/{path:path}")
async def proxy_websocket(websocket: WebSocket, cluster_id: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        try:
            target = await authorize(websocket, cluster_id)
            upstream = await open_upstream(websocket, target, stack)
        except KubeError as error:
            await websocket.send_denial_response(error.response())
            return
        await websocket.accept(subprotocol=upstream.subprotocol)
        await relay_messages(websocket, upstream)


async def open_upstream(
    websocket: WebSocket,
    target: clusters_contract.ClusterProxy,
    stack: contextlib.AsyncExitStack,
) -> AsyncWebSocketSession:
    """The same upgrade to the API server, offering the subprotocols the client offered
    (v5.channel.k8s.io, SPDY/3.1+portforward.k8s.io, ...); the client gets the one it chose.
    httpx-ws (wsproto) takes subprotocols as they are, where `websockets` refuses the '/' of
    port-forward's. Open until `stack` closes."""
    upstream = await websocket.app.state.kube_upstreams.get(target)
    sockets = AsyncWebSocketClient(upstream.http, max_message_size_bytes=READ_BYTES)
    path = path_after_cluster(websocket)
    user_agent = websocket.headers.get("user-agent", "pyk8s-gateway")
    opening = sockets.connect(
        str(upstream_url(target.server, path, websocket.scope["query_string"])),
        subprotocols=websocket.scope.get("subprotocols") or None,
        headers=httpx.Headers([*impersonation(target), ("User-Agent", user_agent)]),
    )
    try:
        return await stack.enter_async_context(opening)
    except WebSocketUpgradeError as refused:
        # Its body is gone with the upgrade's stream. kubectl tries SPDY next, and that
        # answer carries the API server's reason (`spdy_refusal`).
        status = refused.response.status_code
        raise KubeError(status, f"the API server refused the upgrade ({status})") from None
    except (httpx.ConnectError, httpx.ConnectTimeout) as error:
        raise connect_failure(target, error) from None


def connect_failure(target: clusters_contract.ClusterProxy, error: Exception) -> KubeError:
    """503 while the API server cannot be reached (it may be starting or gone); 502 when it
    answers but its certificate does not verify with the cluster's CA, which waiting does
    not fix."""
    log.warning("cluster %s: cannot connect to the API server: %r", target.cluster_id, error)
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return KubeError(502, "the cluster's API server failed TLS verification")
        cause = cause.__cause__ or cause.__context__
    return KubeError.unavailable("the cluster's API server is unreachable")


async def relay_messages(websocket: WebSocket, upstream: AsyncWebSocketSession) -> None:
    """Messages both ways until either side closes; the other side is then closed with the
    same code."""
    to_upstream = asyncio.create_task(client_to_upstream(websocket, upstream))
    to_client = asyncio.create_task(upstream_to_client(websocket, upstream))
    done, pending = await asyncio.wait({to_upstream, to_client}, return_when="FIRST_COMPLETED")
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    code, reason = ended(to_upstream if to_upstream in done else to_client)
    if to_upstream in done:
        await upstream.close(code, reason)
    else:
        await close_client(websocket, code, reason)


def ended(task: asyncio.Task) -> tuple[int, str]:
    """The close code and reason the side that ended gave, to pass to the other."""
    if task.cancelled() or task.exception() is not None:
        return 1011, "relay failed"
    code, reason = task.result()
    # 1005, 1006 and 1015 describe a connection and may not be sent.
    if code in (1005, 1006, 1015):
        return (1000 if code == 1005 else 1011), reason
    return code, reason


async def client_to_upstream(
    websocket: WebSocket, upstream: AsyncWebSocketSession
) -> tuple[int, str]:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return message.get("code", 1000), message.get("reason") or ""
        data = message.get("bytes")
        if data is not None:
            await upstream.send_bytes(data)
        else:
            await upstream.send_text(message.get("text") or "")


async def upstream_to_client(
    websocket: WebSocket, upstream: AsyncWebSocketSession
) -> tuple[int, str]:
    while True:
        try:
            event = await upstream.receive()
        except WebSocketDisconnect as closed:
            return closed.code, closed.reason
        except WebSocketNetworkError:
            return 1011, "the API server's connection broke"
        if isinstance(event, wsproto_events.TextMessage):
            await websocket.send_text(event.data)
        elif isinstance(event, wsproto_events.BytesMessage):
            await websocket.send_bytes(bytes(event.data))


async def close_client(websocket: WebSocket, code: int, reason: str) -> None:
    if WebSocketState.DISCONNECTED in (websocket.application_state, websocket.client_state):
        return
    try:
        await websocket.close(code, reason[:120])
    except (RuntimeError, OSError):
        pass  # the client was already gone
