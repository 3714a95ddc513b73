"""The web app's static files and SPA fallback, served by the gateway from a built dist."""

import httpx
import pytest


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
