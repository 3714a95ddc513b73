"""Team role checks. Roles are asked of the teams service on every team-scoped request and
never frozen inside tokens, so a downgrade or removal takes effect on the next request."""

from uuid import UUID

from nats.aio.client import Client as NATS

from pyk8s_contracts import subjects
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.teams import MembershipReply, MembershipRequest, Role
from pyk8s_kit.bus import request

from .problems import Problem


async def team_role(bus: NATS, team_id: UUID, user_id: UUID) -> Role | None:
    reply = await request(
        bus,
        subjects.TEAMS_MEMBERSHIP,
        MembershipRequest(team_id=team_id, user_id=user_id),
        MembershipReply,
    )
    return reply.role


def not_found(what: str = "team") -> Problem:
    # Outsiders get the same answer whether or not the thing exists.
    return Problem(404, ErrorCode.NOT_FOUND.value, f"{what} not found")


def forbidden(detail: str) -> Problem:
    return Problem(403, ErrorCode.FORBIDDEN.value, detail)


async def require_team_role(bus: NATS, team_id: UUID, user_id: UUID, minimum: Role) -> Role:
    """404 for non-members, 403 for members below `minimum`; returns the caller's role."""
    role = await team_role(bus, team_id, user_id)
    if role is None:
        raise not_found()
    if not role.at_least(minimum):
        raise forbidden(f"this needs the {minimum.value} role or higher in the team")
    return role
