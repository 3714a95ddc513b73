"""The web app and the API as the gateway serves them from a built dist: static files and the
SPA fallback, their caching and compressed copies, security headers on every answer, the docs
page's own policy, HSTS only over https."""

import base64
import gzip
import hashlib
import re
import subprocess
import uuid
from pathlib import Path

import httpx
import pytest

from pyk8s_gateway.headers import is_https

REPO = Path(__file__).resolve().parents[2]

INDEX = b"<!doctype html><div id=root></div>" + b"<!-- padding -->" * 50
# A file as Vite names it: after a hash of its content.
HASHED = "/assets/main-B4MzRIwD.js"
SCRIPT = b"export const line = 'the same words, many times';\n" * 200


def brotli(data: bytes, verb: str) -> bytes:
    """Brotli through Node's zlib, as the build makes the copies: Python's standard library
    has no brotli, and the web build needs Node anyway."""
    zlib, fs = "require('zlib')", "require('fs')"
    script = f"process.stdout.write({zlib}.brotli{verb}Sync({fs}.readFileSync(0)))"
    node = subprocess.run(["node", "-e", script], input=data, capture_output=True, check=True)
    return node.stdout


def with_copies(path: Path, content: bytes) -> None:
    """`path` and the compressed copies the build writes beside it (web/vite.config.ts)."""
    path.write_bytes(content)
    path.with_name(path.name + ".gz").write_bytes(gzip.compress(content, 9))
    path.with_name(path.name + ".br").write_bytes(brotli(content, "Compress"))


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    with_copies(root / "index.html", INDEX)
    (root / "assets").mkdir()
    (root / "assets" / "app.js").write_text("console.log(1)")  # too small for copies
    with_copies(root / HASHED.lstrip("/"), SCRIPT)
    return root


@pytest.fixture
def platform_overrides(dist):
    return {"gateway": {"web_dist": dist}}


@pytest.fixture
def web(platform):
    with httpx.Client(base_url=platform.url, timeout=10) as client:
        yield client


def directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {name: values for name, *values in parts}


def assert_protected(answer: httpx.Response) -> dict[str, list[str]]:
    headers = answer.headers
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in headers  # plain http
    policy = directives(headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    return policy


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/", 200),
        ("GET", "/clusters/some-cluster", 200),
        ("GET", "/assets/app.js", 200),
        ("GET", "/%00", 404),
        ("GET", "/health/live", 200),
        ("GET", "/api/v1/openapi.json", 200),
        ("GET", "/api/v1/auth/me", 401),
        ("GET", "/api/v1/nothing-here", 404),
        ("POST", "/api/v1/auth/login", 422),
        ("DELETE", "/api/v1/auth/login", 405),
    ],
)
def test_every_answer_carries_the_headers(web, method, path, status):
    answer = web.request(method, path)
    assert answer.status_code == status, answer.text
    policy = assert_protected(answer)
    assert policy["script-src"] == ["'self'"]
    assert policy["default-src"] == ["'self'"]


def test_the_docs_page_allows_exactly_what_it_loads(web):
    page = web.get("/api/v1/docs")
    assert page.status_code == 200
    policy = assert_protected(page)
    html = page.text
    inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy["script-src"]
    for url in re.findall(r'<script src="([^"]+)"', html):
        assert any(url.startswith(source) for source in policy["script-src"]), url
    for url in re.findall(r'<link type="text/css" rel="stylesheet" href="([^"]+)"', html):
        assert any(url.startswith(source) for source in policy["style-src"]), url
    for url in re.findall(r'<link rel="shortcut icon" href="([^"]+)"', html):
        assert any(url.startswith(source) for source in policy["img-src"]), url
    assert policy["connect-src"] == ["'self'"]  # the page fetches /api/v1/openapi.json
    assert '"validatorUrl": null' in html  # the spec is not sent to a third party


def test_the_app_page_has_no_inline_script_or_style():
    """The policy forbids inline scripts: the app's page must not need one."""
    html = (REPO / "web" / "index.html").read_text()
    scripts = re.findall(r"<script\b([^>]*)>", html)
    assert scripts and all("src=" in attributes for attributes in scripts)
    assert "<style" not in html


def test_no_hsts_over_plain_http_even_if_a_client_claims_https(web):
    answer = web.get("/health/live", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in answer.headers


@pytest.mark.parametrize("platform_overrides", [{"gateway": {"trusted_proxy_hops": 1}}])
def test_hsts_behind_a_trusted_proxy_that_saw_https(platform):
    with httpx.Client(base_url=platform.url, timeout=10) as client:
        over_https = client.get("/health/live", headers={"X-Forwarded-Proto": "https"})
        over_http = client.get("/health/live", headers={"X-Forwarded-Proto": "http"})
    assert over_https.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in over_http.headers


@pytest.mark.parametrize(
    ("scheme", "forwarded", "hops", "https"),
    [
        ("https", None, 0, True),
        ("http", "https", 0, False),
        ("http", "https", 1, True),
        ("http", "http", 1, False),
        ("http", None, 1, False),
        # Each proxy appends: the client-facing one is `hops` from the end.
        ("http", "https, http", 2, True),
        ("http", "http, https", 2, False),
        ("http", "https", 2, False),
    ],
)
def test_https_is_what_the_outermost_trusted_proxy_saw(scheme, forwarded, hops, https):
    headers = [(b"x-forwarded-proto", forwarded.encode())] if forwarded else []
    scope = {"type": "http", "scheme": scheme, "headers": headers}
    assert is_https(scope, hops) is https


def test_files_and_the_spa_fallback_are_served(web):
    assert web.get("/assets/app.js").text == "console.log(1)"
    assert "id=root" in web.get("/teams/some-team").text


@pytest.mark.parametrize(
    "path", ["/index.html%00.js", "/%00", "/assets/%00", "/assets/app.js%00", "/teams/%00x"]
)
def test_nul_in_a_path_is_404_without_signing_in(web, path):
    answer = web.get(path)
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "not_found"


def test_a_name_too_long_for_the_file_system_falls_back_to_the_app(web):
    answer = web.get("/" + "a" * 300)
    assert answer.status_code == 200
    assert "id=root" in answer.text


def raw_get(web: httpx.Client, path: str, **headers: str) -> tuple[httpx.Response, bytes]:
    """The answer and its body as sent, not decoded (httpx decodes gzip by itself)."""
    with web.stream("GET", path, headers=headers) as answer:
        return answer, b"".join(answer.iter_raw())


def decoded(body: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        return brotli(body, "Decompress")
    return body


@pytest.mark.parametrize("path", [HASHED, "/assets/app.js"])
def test_assets_are_kept_a_year_without_asking(web, path):
    answer = web.get(path)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"


@pytest.mark.parametrize("path", ["/", "/index.html", "/teams/some-team"])
def test_pages_are_revalidated_on_each_use(web, path):
    answer = web.get(path)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.headers["content-type"].startswith("text/html")


def test_a_missing_asset_is_404_not_the_page(web):
    """A page asking for an asset of another release must not get HTML for its script."""
    answer = web.get("/assets/main-gone1234.js")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("gzip, deflate, br, zstd", "br"),  # what browsers send
        ("gzip", "gzip"),
        ("br;q=0, gzip;q=0.5", "gzip"),
        ("gzip;q=0", None),
        ("identity", None),
        ("*", None),
        ("", None),
    ],
)
@pytest.mark.parametrize(("path", "content"), [(HASHED, SCRIPT), ("/teams/some-team", INDEX)])
def test_the_copy_the_browser_accepts_is_sent(web, accept, encoding, path, content):
    answer, body = raw_get(web, path, **{"Accept-Encoding": accept})
    assert answer.status_code == 200
    assert answer.headers.get("content-encoding") == encoding
    assert answer.headers["vary"] == "Accept-Encoding"
    kind = "text/javascript" if path == HASHED else "text/html"
    assert answer.headers["content-type"].startswith(kind)
    assert int(answer.headers["content-length"]) == len(body)
    assert decoded(body, encoding) == content
    if encoding:
        assert len(body) < len(content)


@pytest.mark.parametrize("path", [f"{HASHED}.br", "/assets/app.js.gz"])
def test_copies_are_not_files_of_their_own(web, path):
    assert web.get(path).status_code == 404


def test_a_file_without_copies_is_sent_as_it_is(web):
    answer, body = raw_get(web, "/assets/app.js", **{"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in answer.headers
    assert body == b"console.log(1)"


def test_each_encoding_has_its_own_etag_and_unchanged_files_are_304(web):
    etags = {}
    for encoding in ("br", "gzip", "identity"):
        etags[encoding] = web.get(HASHED, headers={"Accept-Encoding": encoding}).headers["etag"]
    assert len(set(etags.values())) == 3
    again = web.get(HASHED, headers={"Accept-Encoding": "br", "If-None-Match": etags["br"]})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etags["br"]
    assert again.headers["vary"] == "Accept-Encoding"
    assert again.headers["cache-control"] == "public, max-age=31536000, immutable"
    # A validator of another encoding does not match this one.
    other = web.get(HASHED, headers={"Accept-Encoding": "br", "If-None-Match": etags["gzip"]})
    assert other.status_code == 200
    page = web.get("/", headers={"Accept-Encoding": "gzip"})
    revalidated = web.get(
        "/", headers={"Accept-Encoding": "gzip", "If-None-Match": page.headers["etag"]}
    )
    assert revalidated.status_code == 304


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_ranges_count_the_bytes_sent(web, encoding):
    whole, sent = raw_get(web, HASHED, **{"Accept-Encoding": encoding})
    part, body = raw_get(web, HASHED, **{"Accept-Encoding": encoding, "Range": "bytes=10-29"})
    assert part.status_code == 206
    assert body == sent[10:30]
    assert part.headers["content-range"] == f"bytes 10-29/{len(sent)}"
    assert part.headers.get("content-encoding") == whole.headers.get("content-encoding")


def test_nothing_but_the_web_app_is_compressed(web, person):
    """The copies are the web app's; the API, the Kubernetes API proxy and the event stream
    pass as they are (the proxy relays the API server's own encoding, test_k8s_proxy.py)."""
    ada = person()
    accept = {"Accept-Encoding": "gzip, deflate, br, zstd"}
    spec, _ = raw_get(web, "/api/v1/openapi.json", **accept)
    assert spec.status_code == 200 and int(spec.headers["content-length"]) > 1000
    proxied, _ = raw_get(web, f"/k8s/clusters/{uuid.uuid4()}/api/v1/pods", **accept, **ada.headers)
    assert proxied.status_code == 404
    with web.stream("GET", "/api/v1/events/clusters", headers={**accept, **ada.headers}) as events:
        assert events.status_code == 200
        assert events.headers["content-type"].startswith("text/event-stream")
    for answer in (spec, proxied, events):
        assert "content-encoding" not in answer.headers
