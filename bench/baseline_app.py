"""The floor for authenticated REST reads: one FastAPI process with asyncpg, doing what
`GET /clusters/{id}` and `GET /teams/{id}` must do at least (verify the ES256 access token with
the same library, read the row, check the caller may see it) on the same databases, with no
NATS and no second service. A benchmark baseline, not part of the product: it reads two
services' tables, which the product never does."""

import uuid
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI, Header, HTTPException
from jose import JWTError, jwt

from pyk8s_auth.keys import SigningKey

ISSUER, AUDIENCE = "pyk8s-lab", "pyk8s-lab-api"

CLUSTER = """SELECT id, name, team_id, owner_id, provider, kubernetes_version, workers, status,
  status_message, api_server, created_at, ready_at, expires_at FROM clusters WHERE id = $1"""
TEAM = """SELECT t.id, t.name, t.display_name, t.created_at, m.role FROM teams t
  JOIN memberships m ON m.team_id = t.id WHERE t.id = $1 AND m.user_id = $2"""


def create_app(auth_url: str, provisioner_url: str, teams_url: str) -> FastAPI:
    pools: dict[str, asyncpg.Pool] = {}
    keys: dict[str, dict] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        auth = await asyncpg.connect(auth_url)
        for row in await auth.fetch("SELECT kid, private_pem FROM signing_keys"):
            keys[row["kid"]] = SigningKey(row["kid"], row["private_pem"]).jwk().model_dump()
        await auth.close()
        pools["clusters"] = await asyncpg.create_pool(provisioner_url, min_size=4, max_size=10)
        pools["teams"] = await asyncpg.create_pool(teams_url, min_size=4, max_size=10)
        yield
        for pool in pools.values():
            await pool.close()

    def caller(authorization: str | None) -> uuid.UUID:
        token = (authorization or "").removeprefix("Bearer ")
        try:
            key = keys[jwt.get_unverified_header(token)["kid"]]
            claims = jwt.decode(token, key, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER)
        except (JWTError, KeyError):
            raise HTTPException(401) from None
        return uuid.UUID(claims["sub"])

    app = FastAPI(lifespan=lifespan)

    @app.get("/api/v1/clusters/{cluster_id}")
    async def cluster(cluster_id: uuid.UUID, authorization: str | None = Header(None)) -> dict:
        user = caller(authorization)
        row = await pools["clusters"].fetchrow(CLUSTER, cluster_id)
        if row is None or row["owner_id"] != user:
            raise HTTPException(404)
        return dict(row)

    @app.get("/api/v1/teams/{team_id}")
    async def team(team_id: uuid.UUID, authorization: str | None = Header(None)) -> dict:
        row = await pools["teams"].fetchrow(TEAM, team_id, caller(authorization))
        if row is None:
            raise HTTPException(404)
        return dict(row)

    return app
