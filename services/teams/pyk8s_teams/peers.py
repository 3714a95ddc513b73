"""What the teams service asks other services over NATS: people from the auth service,
cluster counts from the provisioner. Never their tables."""

from uuid import UUID

from nats.aio.client import Client as NATS

from pyk8s_contracts import auth as a
from pyk8s_contracts import subjects
from pyk8s_contracts.teams import TeamClusterCountReply, TeamClusterCountRequest
from pyk8s_kit.bus import request


class Peers:
    def __init__(self, nc: NATS, timeout: float) -> None:
        self._nc = nc
        self._timeout = timeout

    async def find_user(self, login: str) -> a.User | None:
        reply = await request(
            self._nc,
            subjects.AUTH_USERS_LOOKUP,
            a.UserLookupRequest(login=login),
            a.UserLookupReply,
            timeout=self._timeout,
        )
        return reply.user

    async def users(self, ids: list[UUID]) -> dict[UUID, a.User]:
        if not ids:
            return {}
        reply = await request(
            self._nc,
            subjects.AUTH_USERS_GET_MANY,
            a.UsersGetManyRequest(ids=ids),
            a.UsersGetManyReply,
            timeout=self._timeout,
        )
        return {user.id: user for user in reply.users}

    async def team_cluster_count(self, team_id: UUID) -> int:
        reply = await request(
            self._nc,
            subjects.PROVISIONER_TEAM_COUNT,
            TeamClusterCountRequest(team_id=team_id),
            TeamClusterCountReply,
            timeout=self._timeout,
        )
        return reply.count
