"""The proxy's side towards a cluster's API server: TLS from the credential the provisioner
hands out, one reused HTTP client per cluster and credential, and the headers that may pass.

A request passes with the caller's own credentials removed (Authorization, any Impersonate-*
header they sent, cookies) and the impersonation of their team role added; the platform's
client certificate authenticates it, and the cluster's CA verifies the server."""

import contextlib
import hashlib
import os
import ssl
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import httpx

from pyk8s_contracts.clusters import ClusterProxy

CONNECT_TIMEOUT_SECONDS = 10.0
# Clients kept for clusters used lately; an idle one holds no connection after keep-alive
# expiry, only its TLS context.
MAX_CLIENTS = 256

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
# The caller's credentials are for the gateway, never for the cluster; `host` and `expect`
# are the client's dealings with us (httpx sets its own host).
DROPPED_REQUEST_HEADERS = frozenset({"authorization", "cookie", "host", "expect"})
IMPERSONATE_PREFIX = "impersonate-"


def _hop_by_hop(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The standard hop-by-hop headers and those the `Connection` header names."""
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == "connection"
        for token in value.split(",")
    }
    return HOP_BY_HOP | named


def request_headers(
    headers: Iterable[tuple[str, str]], target: ClusterProxy
) -> list[tuple[str, str]]:
    headers = list(headers)
    dropped = _hop_by_hop(headers) | DROPPED_REQUEST_HEADERS
    kept = [
        (name, value)
        for name, value in headers
        if name.lower() not in dropped and not name.lower().startswith(IMPERSONATE_PREFIX)
    ]
    if not any(name.lower() == "accept-encoding" for name, _ in kept):
        # Otherwise httpx asks for compression on its own, and the caller, who did not ask
        # for it, would get compressed bytes: they pass through untouched.
        kept.append(("Accept-Encoding", "identity"))
    return kept + impersonation(target)


def impersonation(target: ClusterProxy) -> list[tuple[str, str]]:
    """Impersonate-User, and one Impersonate-Group header per group, as the API server
    expects them."""
    return [("Impersonate-User", target.user)] + [
        ("Impersonate-Group", group) for group in target.groups
    ]


def response_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    headers = list(headers)
    dropped = _hop_by_hop(headers)
    return [(name, value) for name, value in headers if name.lower() not in dropped]


def upstream_url(server: str, rest: bytes, query: bytes) -> httpx.URL:
    """The API server's URL for the path after /k8s/clusters/<id> (still percent-encoded, so
    names are passed exactly as sent) and the query."""
    target = rest if rest.startswith(b"/") else b"/" + rest
    if query:
        target += b"?" + query
    base = httpx.URL(server)
    return base.copy_with(raw_path=base.raw_path.rstrip(b"/") + target)


@contextlib.contextmanager
def _pem_path(pem: str) -> Iterator[str]:
    """A path to read `pem` from, for `SSLContext.load_cert_chain`, which reads only files.
    On Linux an anonymous memory file: the private key never touches a disk. Elsewhere a
    private temporary file, removed as soon as it is read."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("pyk8s-kube-credential", os.MFD_CLOEXEC)
        try:
            with os.fdopen(os.dup(fd), "w") as memory:
                memory.write(pem)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "credential.pem")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(pem)
        yield path


def tls_context(target: ClusterProxy) -> ssl.SSLContext:
    """Verifies the API server against the cluster's own CA only, and presents the platform's
    client certificate."""
    context = ssl.create_default_context(cadata=target.certificate_authority)
    with _pem_path(f"{target.client_certificate.strip()}\n{target.client_key.strip()}\n") as path:
        context.load_cert_chain(path)
    return context


def fingerprint(target: ClusterProxy) -> str:
    material = "\0".join(
        (
            target.server,
            target.certificate_authority,
            target.client_certificate,
            target.client_key,
        )
    )
    return hashlib.sha256(material.encode()).hexdigest()


@dataclass
class Upstream:
    fingerprint: str
    http: httpx.AsyncClient


class Upstreams:
    """One HTTP client per cluster, reused across requests while the cluster's credential
    stays the same; closed on shutdown."""

    def __init__(self, max_clients: int = MAX_CLIENTS) -> None:
        self._max = max_clients
        self._clients: OrderedDict[str, Upstream] = OrderedDict()

    async def get(self, target: ClusterProxy) -> Upstream:
        key = str(target.cluster_id)
        current = fingerprint(target)
        known = self._clients.get(key)
        if known is not None and known.fingerprint == current:
            self._clients.move_to_end(key)
            return known
        # Replaced without awaiting in between, so concurrent requests share one client.
        fresh = self._new(target, current)
        self._clients[key] = fresh
        retired = [known] if known is not None else []
        while len(self._clients) > self._max:
            retired.append(self._clients.popitem(last=False)[1])
        for upstream in retired:
            await upstream.http.aclose()
        return fresh

    @staticmethod
    def _new(target: ClusterProxy, current: str) -> Upstream:
        client = httpx.AsyncClient(
            verify=tls_context(target),
            # Watches and log streams run as long as the API server keeps them open (it ends
            # them by itself); only connecting is bounded.
            timeout=httpx.Timeout(None, connect=CONNECT_TIMEOUT_SECONDS),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=20),
            # API servers are reached directly, never through the environment's proxies.
            trust_env=False,
            follow_redirects=False,
        )
        return Upstream(current, client)

    async def aclose(self) -> None:
        while self._clients:
            _, upstream = self._clients.popitem()
            await upstream.http.aclose()
