"""One function per NATS subject: decode contract -> call service -> reply."""

from pyk8s_contracts import subjects
from pyk8s_contracts import teams as c
from pyk8s_contracts.common import Ok
from pyk8s_kit.bus import Router

from .service import TeamsService


def build_router(service: TeamsService) -> Router:
    router = Router()

    @router.endpoint(subjects.TEAMS_MEMBERSHIP, c.MembershipRequest, concurrent=True)
    async def membership(req: c.MembershipRequest) -> c.MembershipReply:
        return await service.membership(req)

    @router.endpoint(subjects.TEAMS_ROLES, c.RolesRequest, concurrent=True)
    async def roles(req: c.RolesRequest) -> c.RolesReply:
        return await service.roles(req)

    @router.endpoint(subjects.TEAMS_CREATE, c.TeamCreateRequest)
    async def create(req: c.TeamCreateRequest) -> c.TeamWithRole:
        return await service.create_team(req)

    @router.endpoint(subjects.TEAMS_LIST, c.TeamListRequest)
    async def list_teams(req: c.TeamListRequest) -> c.TeamList:
        return await service.list_teams(req)

    @router.endpoint(subjects.TEAMS_GET, c.TeamRequest, concurrent=True)
    async def get(req: c.TeamRequest) -> c.TeamWithRole:
        return await service.get_team(req)

    @router.endpoint(subjects.TEAMS_UPDATE, c.TeamUpdateRequest)
    async def update(req: c.TeamUpdateRequest) -> c.TeamWithRole:
        return await service.update_team(req)

    @router.endpoint(subjects.TEAMS_DELETE, c.TeamRequest)
    async def delete(req: c.TeamRequest) -> Ok:
        return await service.delete_team(req)

    @router.endpoint(subjects.TEAMS_MEMBERS_LIST, c.MemberListRequest)
    async def members(req: c.MemberListRequest) -> c.MemberList:
        return await service.list_members(req)

    @router.endpoint(subjects.TEAMS_MEMBERS_SET_ROLE, c.MemberSetRoleRequest)
    async def set_role(req: c.MemberSetRoleRequest) -> c.Member:
        return await service.set_role(req)

    @router.endpoint(subjects.TEAMS_MEMBERS_REMOVE, c.MemberRemoveRequest)
    async def remove(req: c.MemberRemoveRequest) -> Ok:
        return await service.remove_member(req)

    @router.endpoint(subjects.TEAMS_INVITATIONS_CREATE, c.InvitationCreateRequest)
    async def invite(req: c.InvitationCreateRequest) -> c.InvitationCreated:
        return await service.invite(req)

    @router.endpoint(subjects.TEAMS_INVITATIONS_LIST, c.TeamInvitationListRequest)
    async def invitations(req: c.TeamInvitationListRequest) -> c.InvitationList:
        return await service.list_invitations(req)

    @router.endpoint(subjects.TEAMS_INVITATIONS_REVOKE, c.InvitationRevokeRequest)
    async def revoke(req: c.InvitationRevokeRequest) -> Ok:
        return await service.revoke_invitation(req)

    @router.endpoint(subjects.TEAMS_INVITATIONS_MINE, c.MyInvitationListRequest)
    async def mine(req: c.MyInvitationListRequest) -> c.InvitationList:
        return await service.my_invitations(req)

    @router.endpoint(subjects.TEAMS_INVITATIONS_ACCEPT, c.InvitationRequest)
    async def accept(req: c.InvitationRequest) -> c.TeamWithRole:
        return await service.accept(req)

    @router.endpoint(subjects.TEAMS_INVITATIONS_DECLINE, c.InvitationRequest)
    async def decline(req: c.InvitationRequest) -> Ok:
        return await service.decline(req)

    @router.endpoint(subjects.TEAMS_INVITATIONS_CHECK, c.InvitationTokenCheck)
    async def check(req: c.InvitationTokenCheck) -> c.Invitation:
        return await service.check_token(req)

    return router
