"""Teams service contracts. The teams service owns the whole request/reply set for teams,
memberships and invitations; `Role` and the membership query are used by every
team-scoped check in the gateway and the services."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import Field, StringConstraints

from .common import ByUser, Contract, DisplayName, DnsLabel, Page, PageRequest


class Role(StrEnum):
    VIEWER = "viewer"
    MEMBER = "member"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: "Role") -> bool:
        return self.rank >= other.rank


class MembershipRequest(Contract):
    team_id: UUID
    user_id: UUID


class MembershipReply(Contract):
    """`role` is None when the user is not a member (or the team does not exist)."""

    role: Role | None


class RolesRequest(Contract):
    """`user_id`'s roles in `team_ids`, or in every team of theirs when `team_ids` is None:
    one request for a check over many teams."""

    user_id: UUID
    team_ids: Annotated[list[UUID], Field(max_length=1000)] | None = None


class RolesReply(Contract):
    """The teams among those asked where the user is a member, each with the user's role."""

    roles: dict[UUID, Role]


class TeamClusterCountRequest(Contract):
    """Asked of the provisioner (PROVISIONER_TEAM_COUNT) before a team is deleted."""

    team_id: UUID


class TeamClusterCountReply(Contract):
    """How many of the team's clusters are not yet deleted."""

    count: int


TeamName = DnsLabel
LoginName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
InvitationToken = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class InvitationStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"


# teams
class Team(Contract):
    id: UUID
    name: str
    display_name: str
    created_at: datetime


class TeamWithRole(Team):
    """A team as seen by one member: `role` is that member's role."""

    role: Role


class TeamList(Page):
    teams: list[TeamWithRole]


class TeamListRequest(ByUser, PageRequest):
    """The actor's teams, newest first; `role` keeps those where the actor has that role."""

    role: Role | None = None


class TeamCreateRequest(ByUser):
    name: TeamName
    display_name: DisplayName | None = None


class TeamRequest(ByUser):
    team_id: UUID


class TeamUpdateRequest(ByUser):
    team_id: UUID
    name: TeamName | None = None
    display_name: DisplayName | None = None


# members
class Member(Contract):
    user_id: UUID
    username: str | None
    display_name: str | None
    role: Role
    joined_at: datetime


class MemberList(Page):
    members: list[Member]


class MemberListRequest(TeamRequest, PageRequest):
    """The team's members, newest first; `role` keeps those with that role."""

    role: Role | None = None


class MemberSetRoleRequest(ByUser):
    team_id: UUID
    user_id: UUID
    role: Role


class MemberRemoveRequest(ByUser):
    team_id: UUID
    user_id: UUID


# invitations
class Invitation(Contract):
    id: UUID
    team_id: UUID
    team_name: str
    role: Role
    # Set when the invitation names an existing account; otherwise `email` is set.
    invitee_id: UUID | None
    invitee_username: str | None = None
    email: str | None
    invited_by: UUID
    # Who invited, as the invitee sees it (None when that account is gone).
    invited_by_email: str | None = None
    status: InvitationStatus
    created_at: datetime
    expires_at: datetime


class InvitationCreated(Invitation):
    """`token` is present only for an invitation to an email without an account, and only
    in this answer: the inviter passes it on; the service keeps only its hash."""

    token: str | None = None


class InvitationList(Page):
    invitations: list[Invitation]


class TeamInvitationListRequest(TeamRequest, PageRequest):
    """The team's pending invitations, newest first."""


class MyInvitationListRequest(ByUser, PageRequest):
    """The pending invitations addressed to the actor, newest first."""


class InvitationCreateRequest(ByUser):
    team_id: UUID
    login: LoginName
    role: Role


class InvitationRevokeRequest(ByUser):
    team_id: UUID
    invitation_id: UUID


class InvitationRequest(ByUser):
    invitation_id: UUID


class InvitationTokenCheck(Contract):
    token: InvitationToken
    email: LoginName
