"""Team role checks at the edge, as HTTP problems. The role comes from the one lookup
(`pyk8s_kit.roles`); the services behind check again with their own rules."""

from uuid import UUID

from nats.aio.client import Client as NATS

from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.rbac import PLATFORM_ROLE
from pyk8s_contracts.teams import Role
from pyk8s_kit.roles import team_role

from .problems import Problem
from .security import Principal


def not_found(what: str = "team") -> Problem:
    # Outsiders get the same answer whether or not the thing exists.
    return Problem(404, ErrorCode.NOT_FOUND.value, f"{what} not found")


def forbidden(detail: str) -> Problem:
    return Problem(403, ErrorCode.FORBIDDEN.value, detail)


async def require_team_role(bus: NATS, team_id: UUID, user_id: UUID, minimum: Role) -> Role:
    """404 for non-members, 403 for members below `minimum`; returns the caller's role."""
    return check_team_role(await team_role(bus, team_id, user_id), minimum)


def check_team_role(role: Role | None, minimum: Role) -> Role:
    """The same check on a role already known, e.g. the one a service's reply carries."""
    if role is None:
        raise not_found()
    if not role.at_least(minimum):
        raise forbidden(f"this needs the {minimum.value} role or higher in the team")
    return role


def require_platform_admin(user: Principal) -> None:
    """403 unless the caller's access token grants the platform-admin role."""
    if not user.platform_admin:
        raise forbidden(f"this needs the {PLATFORM_ROLE.replace('_', ' ')} role")
