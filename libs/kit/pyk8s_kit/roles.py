"""The one way to learn a person's role in a team: ask the teams service, on every check.
Roles are never kept in tokens or caches that outlive a request, so a downgrade or removal
takes effect on the next request everywhere."""

import uuid

from nats.aio.client import Client as NATS

from pyk8s_contracts import subjects
from pyk8s_contracts.teams import (
    MembershipReply,
    MembershipRequest,
    Role,
    RolesReply,
    RolesRequest,
)

from .bus import request


async def team_role(nc: NATS, team_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
    """`user_id`'s role in `team_id`, or None for a non-member (or a team that is gone)."""
    reply = await request(
        nc,
        subjects.TEAMS_MEMBERSHIP,
        MembershipRequest(team_id=team_id, user_id=user_id),
        MembershipReply,
    )
    return reply.role


async def team_roles(
    nc: NATS, user_id: uuid.UUID, team_ids: list[uuid.UUID] | None = None
) -> dict[uuid.UUID, Role]:
    """`user_id`'s role in each of `team_ids` where they are a member (in each of their teams
    when `team_ids` is None), in one request."""
    reply = await request(
        nc, subjects.TEAMS_ROLES, RolesRequest(user_id=user_id, team_ids=team_ids), RolesReply
    )
    return reply.roles
