"""Teams and their members and invitations. Every team-scoped route checks the caller's current
role as the teams service knows it (rbac.py): asked first, or, for reading the team itself,
carried by the service's answer; the service checks it again."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from pyk8s_contracts import subjects
from pyk8s_contracts import teams as c
from pyk8s_contracts.common import Contract, DisplayName, Ok
from pyk8s_contracts.teams import Role
from pyk8s_kit.bus import request

from ..deps import Bus, CurrentUser
from ..pages import PageQuery, link_next
from ..rbac import check_team_role, require_team_role

router = APIRouter(prefix="/teams", tags=["teams"])


def team_role(minimum: Role):
    """Dependency: the caller's role in `{team_id}`, at least `minimum` (404 / 403 otherwise)."""

    async def dependency(team_id: UUID, bus: Bus, user: CurrentUser) -> Role:
        return await require_team_role(bus, team_id, user.user_id, minimum)

    return Depends(dependency)


AnyRole = Annotated[Role, team_role(Role.VIEWER)]
AdminRole = Annotated[Role, team_role(Role.ADMIN)]
OwnerRole = Annotated[Role, team_role(Role.OWNER)]


class TeamCreateBody(Contract):
    name: c.TeamName
    display_name: DisplayName | None = None


class TeamUpdateBody(Contract):
    name: c.TeamName | None = None
    display_name: DisplayName | None = None


class RoleBody(Contract):
    role: Role


class InvitationBody(Contract):
    login: c.LoginName
    role: Role = Role.MEMBER


@router.post("", status_code=201, response_model=c.TeamWithRole)
async def create_team(body: TeamCreateBody, bus: Bus, user: CurrentUser) -> c.TeamWithRole:
    """Create a team; the caller becomes its owner. `name` is a unique DNS label."""
    payload = c.TeamCreateRequest(actor_id=user.user_id, **body.model_dump())
    return await request(bus, subjects.TEAMS_CREATE, payload, c.TeamWithRole, actor=user.assertion)


RoleFilter = Annotated[Role | None, Query(description="Only those with this role.")]


@router.get("", response_model=c.TeamList)
async def list_teams(
    bus: Bus,
    user: CurrentUser,
    page: PageQuery,
    http: Request,
    response: Response,
    role: RoleFilter = None,
) -> c.TeamList:
    """The caller's teams, each with the caller's role, newest first, a page at a time
    (`role`: only the teams where the caller has that role)."""
    payload = c.TeamListRequest(actor_id=user.user_id, role=role, **page.model_dump())
    teams = await request(bus, subjects.TEAMS_LIST, payload, c.TeamList, actor=user.assertion)
    link_next(http, response, teams.next_cursor)
    return teams


@router.get("/{team_id}", response_model=c.TeamWithRole)
async def get_team(team_id: UUID, bus: Bus, user: CurrentUser) -> c.TeamWithRole:
    # One round trip: the teams service answers members only, and its answer carries the
    # caller's role, checked here as any other route checks the role it looks up.
    payload = c.TeamRequest(actor_id=user.user_id, team_id=team_id)
    team = await request(bus, subjects.TEAMS_GET, payload, c.TeamWithRole, actor=user.assertion)
    check_team_role(team.role, Role.VIEWER)
    return team


@router.patch("/{team_id}", response_model=c.TeamWithRole)
async def update_team(
    team_id: UUID, body: TeamUpdateBody, bus: Bus, user: CurrentUser, _: OwnerRole
) -> c.TeamWithRole:
    """Rename the team or change its display name (owners only)."""
    payload = c.TeamUpdateRequest(actor_id=user.user_id, team_id=team_id, **body.model_dump())
    return await request(bus, subjects.TEAMS_UPDATE, payload, c.TeamWithRole, actor=user.assertion)


@router.delete("/{team_id}", status_code=204)
async def delete_team(team_id: UUID, bus: Bus, user: CurrentUser, _: OwnerRole) -> Response:
    """Delete the team (owners only). Refused with 409 while the team still has clusters."""
    payload = c.TeamRequest(actor_id=user.user_id, team_id=team_id)
    await request(bus, subjects.TEAMS_DELETE, payload, Ok, actor=user.assertion)
    return Response(status_code=204)


@router.get("/{team_id}/members", response_model=c.MemberList)
async def list_members(
    team_id: UUID,
    bus: Bus,
    user: CurrentUser,
    _: AnyRole,
    page: PageQuery,
    http: Request,
    response: Response,
    role: RoleFilter = None,
) -> c.MemberList:
    """The team's members, newest first, a page at a time (`role`: only that role)."""
    payload = c.MemberListRequest(
        actor_id=user.user_id, team_id=team_id, role=role, **page.model_dump()
    )
    members = await request(
        bus, subjects.TEAMS_MEMBERS_LIST, payload, c.MemberList, actor=user.assertion
    )
    link_next(http, response, members.next_cursor)
    return members


@router.patch("/{team_id}/members/{user_id}", response_model=c.Member)
async def set_member_role(
    team_id: UUID, user_id: UUID, body: RoleBody, bus: Bus, user: CurrentUser, _: AdminRole
) -> c.Member:
    """Change a member's role: admins up to admin, owners also to and from owner.
    A team always keeps one owner."""
    payload = c.MemberSetRoleRequest(
        actor_id=user.user_id, team_id=team_id, user_id=user_id, role=body.role
    )
    return await request(
        bus, subjects.TEAMS_MEMBERS_SET_ROLE, payload, c.Member, actor=user.assertion
    )


@router.delete("/{team_id}/members/{user_id}", status_code=204)
async def remove_member(
    team_id: UUID, user_id: UUID, bus: Bus, user: CurrentUser, _: AnyRole
) -> Response:
    """Remove a member (admins), or leave the team (any member, with your own id)."""
    if user_id != user.user_id:
        await require_team_role(bus, team_id, user.user_id, Role.ADMIN)
    payload = c.MemberRemoveRequest(actor_id=user.user_id, team_id=team_id, user_id=user_id)
    await request(bus, subjects.TEAMS_MEMBERS_REMOVE, payload, Ok, actor=user.assertion)
    return Response(status_code=204)


@router.post("/{team_id}/invitations", status_code=201, response_model=c.InvitationCreated)
async def invite(
    team_id: UUID, body: InvitationBody, bus: Bus, user: CurrentUser, _: AdminRole
) -> c.InvitationCreated:
    """Invite someone by username or email. An email without an account gets a secret
    `token`, shown in this answer only, to sign up with (`invitation_token`)."""
    payload = c.InvitationCreateRequest(actor_id=user.user_id, team_id=team_id, **body.model_dump())
    return await request(
        bus, subjects.TEAMS_INVITATIONS_CREATE, payload, c.InvitationCreated, actor=user.assertion
    )


@router.get("/{team_id}/invitations", response_model=c.InvitationList)
async def list_invitations(
    team_id: UUID,
    bus: Bus,
    user: CurrentUser,
    _: AdminRole,
    page: PageQuery,
    http: Request,
    response: Response,
) -> c.InvitationList:
    """Pending invitations of the team, newest first, a page at a time."""
    payload = c.TeamInvitationListRequest(
        actor_id=user.user_id, team_id=team_id, **page.model_dump()
    )
    invitations = await request(
        bus, subjects.TEAMS_INVITATIONS_LIST, payload, c.InvitationList, actor=user.assertion
    )
    link_next(http, response, invitations.next_cursor)
    return invitations


@router.delete("/{team_id}/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(
    team_id: UUID, invitation_id: UUID, bus: Bus, user: CurrentUser, _: AdminRole
) -> Response:
    payload = c.InvitationRevokeRequest(
        actor_id=user.user_id, team_id=team_id, invitation_id=invitation_id
    )
    await request(bus, subjects.TEAMS_INVITATIONS_REVOKE, payload, Ok, actor=user.assertion)
    return Response(status_code=204)
