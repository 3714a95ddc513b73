"""Teams service contracts. The teams service owns the whole request/reply set for teams,
memberships and invitations; `Role` and the membership query are used by every
team-scoped check in the gateway and the services."""

from enum import StrEnum
from uuid import UUID

from .common import Contract


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


class TeamClusterCountRequest(Contract):
    """Asked of the provisioner (PROVISIONER_TEAM_COUNT) before a team is deleted."""

    team_id: UUID


class TeamClusterCountReply(Contract):
    """How many of the team's clusters are not yet deleted."""

    count: int
