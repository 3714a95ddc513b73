def test_health_live_and_ready(platform, api):
    import httpx

    assert httpx.get(f"{platform.url}/health/live").json() == {"status": "ok"}
    ready = httpx.get(f"{platform.url}/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["nats"] is True


def test_openapi_is_served_under_api_v1(api):
    spec = api.get("/openapi.json").json()
    assert "/api/v1/auth/login" in spec["paths"]


def test_unknown_api_route_is_a_problem(api):
    answer = api.get("/no-such-thing")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "not_found"
