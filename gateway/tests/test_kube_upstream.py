"""The proxy's side towards the API servers, on its own: which headers pass, how the URL is
built, the TLS context made from PEM text, and the reuse of one client per cluster."""

import os
import ssl
import uuid
from pathlib import Path

import pytest

from pyk8s_contracts.clusters import ClusterProxy
from pyk8s_gateway import kube_upstream
from pyk8s_gateway.kube_upstream import Upstreams, request_headers, response_headers, upstream_url


def target(pki, cluster_id=None, server="https://127.0.0.1:6443", groups=("pyk8s:viewer",)):
    return ClusterProxy(
        cluster_id=cluster_id or uuid.uuid4(),
        server=server,
        certificate_authority=pki.ca,
        client_certificate=pki.client_certificate,
        client_key=pki.client_key,
        user="pyk8s:user:1",
        groups=list(groups),
    )


def test_the_callers_credentials_and_hop_by_hop_headers_never_pass(pki):
    sent = [
        ("Authorization", "Bearer secret"),
        ("Cookie", "session=secret"),
        ("Host", "lab.example.com"),
        ("Expect", "100-continue"),
        ("Connection", "keep-alive, X-Hop"),
        ("X-Hop", "only for this connection"),
        ("Keep-Alive", "timeout=5"),
        ("Transfer-Encoding", "chunked"),
        ("Upgrade", "SPDY/3.1"),
        ("Impersonate-User", "system:admin"),
        ("impersonate-group", "system:masters"),
        ("Impersonate-Extra-Scopes", "all"),
        ("Impersonate-Uid", "0"),
        ("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io"),
        ("Content-Type", "application/apply-patch+yaml"),
        ("User-Agent", "kubectl/v1.34.4"),
    ]
    passed = request_headers(sent, target(pki, groups=("pyk8s:member", "extra")))
    assert passed == [
        ("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io"),
        ("Content-Type", "application/apply-patch+yaml"),
        ("User-Agent", "kubectl/v1.34.4"),
        # Not asked for: httpx would ask for compression on the caller's behalf.
        ("Accept-Encoding", "identity"),
        ("Impersonate-User", "pyk8s:user:1"),
        ("Impersonate-Group", "pyk8s:member"),
        ("Impersonate-Group", "extra"),
    ]
    gzip = request_headers([("Accept-Encoding", "gzip")], target(pki))
    assert ("Accept-Encoding", "gzip") in gzip and ("Accept-Encoding", "identity") not in gzip


def test_answers_keep_their_framing_and_encoding_but_no_hop_by_hop_headers():
    answer = [
        ("Content-Type", "application/json"),
        ("Content-Length", "42"),
        ("Content-Encoding", "gzip"),
        ("Connection", "close, X-Hop"),
        ("X-Hop", "x"),
        ("Transfer-Encoding", "chunked"),
        ("Audit-Id", "a"),
        ("Warning", '299 - "one"'),
        ("Warning", '299 - "two"'),
    ]
    assert response_headers(answer) == [
        ("Content-Type", "application/json"),
        ("Content-Length", "42"),
        ("Content-Encoding", "gzip"),
        ("Audit-Id", "a"),
        ("Warning", '299 - "one"'),
        ("Warning", '299 - "two"'),
    ]


@pytest.mark.parametrize(
    ("server", "rest", "query", "url"),
    [
        ("https://10.0.0.1:6443", b"/api/v1/pods", b"", "https://10.0.0.1:6443/api/v1/pods"),
        (
            "https://10.0.0.1:6443/",
            b"/api/v1/namespaces/a%2Fb/pods",
            b"labelSelector=app%3Dx&watch=true",
            "https://10.0.0.1:6443/api/v1/namespaces/a%2Fb/pods?labelSelector=app%3Dx&watch=true",
        ),
        # An API server behind a path prefix keeps it; a path cannot climb out of the host.
        ("https://h:443/prefix", b"//evil.example/x", b"", "https://h/prefix//evil.example/x"),
    ],
)
def test_the_upstream_url_keeps_the_path_as_sent(server, rest, query, url):
    built = upstream_url(server, rest, query)
    assert str(built) == url
    assert built.host == server.split("//")[1].split(":")[0].split("/")[0]


@pytest.mark.parametrize("memory_file", [True, False])
def test_the_tls_context_comes_from_pem_text_and_leaves_no_key_file(
    pki, monkeypatch, tmp_path: Path, memory_file
):
    if not memory_file:
        monkeypatch.delattr(os, "memfd_create", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(kube_upstream.tempfile, "tempdir", None)
    context = kube_upstream.tls_context(target(pki))
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [cert["subject"] for cert in context.get_ca_certs()] == [
        ((("commonName", "test-double-ca"),),)
    ]
    assert list(tmp_path.iterdir()) == []


async def test_one_client_per_cluster_and_credential_closed_when_replaced(pki):
    upstreams = Upstreams(max_clients=2)
    first, second, third = (target(pki) for _ in range(3))
    client = (await upstreams.get(first)).http
    assert (await upstreams.get(first.model_copy())).http is client
    renewed = await upstreams.get(first.model_copy(update={"server": "https://127.0.0.1:7443"}))
    assert renewed.http is not client and client.is_closed

    await upstreams.get(second)
    await upstreams.get(third)  # the least recently used, `first`, goes
    assert renewed.http.is_closed
    remaining = [await upstreams.get(second), await upstreams.get(third)]
    await upstreams.aclose()
    assert all(upstream.http.is_closed for upstream in remaining)
