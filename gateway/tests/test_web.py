"""The web app and the API as the gateway serves them from a built dist: static files and the
SPA fallback, security headers on every answer, the docs page's own policy, HSTS only over
https."""

import base64
import hashlib
import re
from pathlib import Path

import httpx
import pytest

from pyk8s_gateway.headers import is_https

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    (root / "index.html").write_text("<!doctype html><div id=root></div>")
    (root / "assets").mkdir()
    (root / "assets" / "app.js").write_text("console.log(1)")
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
