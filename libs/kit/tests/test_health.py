import httpx

from pyk8s_kit.health import HealthServer


async def test_probes_answer_live_and_ready():
    state = {"nats": True, "database": True}

    async def ready():
        return dict(state)

    server = HealthServer("127.0.0.1", 0, ready)
    await server.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            assert (await client.get("/health/live")).status_code == 200
            assert (await client.get("/health/ready")).status_code == 200
            state["database"] = False
            answer = await client.get("/health/ready")
            assert answer.status_code == 503
            assert answer.json()["checks"]["database"] is False
            assert (await client.get("/nope")).status_code == 404
    finally:
        await server.stop()
