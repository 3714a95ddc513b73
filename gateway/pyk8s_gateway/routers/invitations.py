"""The caller's own invitations, and invitation tokens redeemed at sign-up."""

from uuid import UUID

from fastapi import APIRouter, Request, Response
from nats.aio.client import Client as NATS

from pyk8s_contracts import subjects
from pyk8s_contracts import teams as c
from pyk8s_contracts.common import Ok
from pyk8s_kit.bus import request

from ..deps import Bus, CurrentUser
from ..pages import PageQuery, link_next

router = APIRouter(prefix="/invitations", tags=["invitations"])


@router.get("", response_model=c.InvitationList)
async def my_invitations(
    bus: Bus, user: CurrentUser, page: PageQuery, http: Request, response: Response
) -> c.InvitationList:
    """Pending invitations addressed to the caller, newest first, a page at a time."""
    payload = c.MyInvitationListRequest(actor_id=user.user_id, **page.model_dump())
    invitations = await request(
        bus, subjects.TEAMS_INVITATIONS_MINE, payload, c.InvitationList, actor=user.assertion
    )
    link_next(http, response, invitations.next_cursor)
    return invitations


@router.post("/{invitation_id}/accept", response_model=c.TeamWithRole)
async def accept(invitation_id: UUID, bus: Bus, user: CurrentUser) -> c.TeamWithRole:
    """Join the team with the invitation's role."""
    payload = c.InvitationRequest(actor_id=user.user_id, invitation_id=invitation_id)
    return await request(
        bus, subjects.TEAMS_INVITATIONS_ACCEPT, payload, c.TeamWithRole, actor=user.assertion
    )


@router.post("/{invitation_id}/decline", status_code=204)
async def decline(invitation_id: UUID, bus: Bus, user: CurrentUser) -> Response:
    payload = c.InvitationRequest(actor_id=user.user_id, invitation_id=invitation_id)
    await request(bus, subjects.TEAMS_INVITATIONS_DECLINE, payload, Ok, actor=user.assertion)
    return Response(status_code=204)


async def check_signup_invitation(bus: NATS, token: str, email: str) -> None:
    """Raises 410 unless `token` is a pending invitation for `email`: checked before the
    account is created, so a bad token creates nothing."""
    await request(
        bus,
        subjects.TEAMS_INVITATIONS_CHECK,
        c.InvitationTokenCheck(token=token, email=email),
        c.Invitation,
    )
