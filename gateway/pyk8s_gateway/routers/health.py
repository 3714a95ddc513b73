import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live")
async def live() -> dict:
    """The process is up."""
    return {"status": "ok"}


async def _answers(nc, service: str) -> bool:
    try:
        await nc.request(f"$SRV.PING.{service}", b"", timeout=1.0)
        return True
    except Exception:
        return False


# Not the services' databases: an outage there would take every gateway replica out of the
# Service at once, and their 503 answers with Retry-After with them (docs/operations.md).
@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    """NATS is connected and every service answers a ping."""
    nc = request.app.state.nc
    services = request.app.state.settings.required_services
    checks = {"nats": bool(nc and nc.is_connected)}
    if checks["nats"]:
        results = await asyncio.gather(*(_answers(nc, s) for s in services))
        checks.update(dict(zip(services, results, strict=True)))
    else:
        checks.update({s: False for s in services})
    ok = all(checks.values())
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )
