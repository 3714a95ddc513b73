"""All SQL of the teams service."""

import uuid
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from pyk8s_kit import pages
from pyk8s_kit.db import Query

from .models import Invitation, Membership, Team

PENDING = "pending"

# A team and one user's role in it, none for non-members: the read every team page makes
# (Database.fetch_one).
TEAM_AS_MEMBER = Query(
    select(Team.id, Team.name, Team.display_name, Team.created_at, Membership.role)
    .join(Membership, Membership.team_id == Team.id)
    .where(Team.id == bindparam("team_id"), Membership.user_id == bindparam("user_id"))
)


class TeamsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    # teams
    async def team(self, team_id: uuid.UUID) -> Team | None:
        return await self.session.get(Team, team_id)

    async def team_for_update(self, team_id: uuid.UUID) -> Team | None:
        return await self.session.scalar(
            select(Team)
            .where(Team.id == team_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def team_by_name(self, name: str) -> Team | None:
        return await self.session.scalar(select(Team).where(Team.name == name))

    async def teams_of(
        self,
        user_id: uuid.UUID,
        role: str | None,
        position: pages.Position | None,
        limit: int,
    ) -> list[tuple[Team, str]]:
        """A page of the user's teams with the user's role, newest team first."""
        query = (
            select(Team, Membership.role)
            .join(Membership, Membership.team_id == Team.id)
            .where(Membership.user_id == user_id)
        )
        if role:
            query = query.where(Membership.role == role)
        query = pages.keyset(query, Team.created_at, Team.id, position, limit)
        return [(team, role) for team, role in (await self.session.execute(query)).all()]

    async def delete_team(self, team: Team) -> None:
        await self.session.delete(team)
        await self.session.flush()

    # memberships
    async def membership(self, team_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        return await self.session.get(Membership, (team_id, user_id))

    async def roles_of(
        self, user_id: uuid.UUID, team_ids: list[uuid.UUID] | None
    ) -> list[tuple[uuid.UUID, str]]:
        query = select(Membership.team_id, Membership.role).where(Membership.user_id == user_id)
        if team_ids is not None:
            query = query.where(Membership.team_id.in_(team_ids))
        return [(team_id, role) for team_id, role in (await self.session.execute(query)).all()]

    async def membership_for_update(
        self, team_id: uuid.UUID, user_id: uuid.UUID
    ) -> Membership | None:
        return await self.session.scalar(
            select(Membership)
            .where(Membership.team_id == team_id, Membership.user_id == user_id)
            .with_for_update()
        )

    async def members(
        self,
        team_id: uuid.UUID,
        role: str | None,
        position: pages.Position | None,
        limit: int,
    ) -> list[Membership]:
        """A page of the team's members, newest first."""
        query = select(Membership).where(Membership.team_id == team_id)
        if role:
            query = query.where(Membership.role == role)
        query = pages.keyset(query, Membership.created_at, Membership.user_id, position, limit)
        return list((await self.session.scalars(query)).all())

    async def count_owners(self, team_id: uuid.UUID) -> int:
        return await self.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.team_id == team_id, Membership.role == "owner")
        )

    async def remove_membership(self, membership: Membership) -> None:
        await self.session.execute(
            delete(Membership).where(
                Membership.team_id == membership.team_id, Membership.user_id == membership.user_id
            )
        )

    # invitations
    async def invitation(self, invitation_id: uuid.UUID) -> Invitation | None:
        return await self.session.get(Invitation, invitation_id)

    async def invitation_for_update(self, invitation_id: uuid.UUID) -> Invitation | None:
        """Locks the invitation's team first, then the invitation, in the order every other
        change takes them (a team deletion locks the team, then cascades to invitations)."""
        found = await self.invitation(invitation_id)
        if found is None:
            return None
        await self.team_for_update(found.team_id)
        return await self.session.scalar(
            select(Invitation)
            .where(Invitation.id == invitation_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def invitation_id_by_token(self, token_hash: str) -> uuid.UUID | None:
        return await self.session.scalar(
            select(Invitation.id).where(Invitation.token_hash == token_hash)
        )

    async def pending_invitations_of_team(
        self, team_id: uuid.UUID, now: datetime, position: pages.Position | None, limit: int
    ) -> list[Invitation]:
        """A page of the team's pending invitations, newest first."""
        query = select(Invitation).where(
            Invitation.team_id == team_id,
            Invitation.status == PENDING,
            Invitation.expires_at > now,
        )
        query = pages.keyset(query, Invitation.created_at, Invitation.id, position, limit)
        return list((await self.session.scalars(query)).all())

    async def pending_invitations_of_user(
        self, user_id: uuid.UUID, now: datetime, position: pages.Position | None, limit: int
    ) -> list[tuple[Invitation, Team]]:
        """A page of the pending invitations addressed to the user, newest first."""
        query = (
            select(Invitation, Team)
            .join(Team, Team.id == Invitation.team_id)
            .where(
                Invitation.invitee_id == user_id,
                Invitation.status == PENDING,
                Invitation.expires_at > now,
            )
        )
        query = pages.keyset(query, Invitation.created_at, Invitation.id, position, limit)
        return [
            (invitation, team) for invitation, team in (await self.session.execute(query)).all()
        ]

    async def pending_invitation_exists(
        self, team_id: uuid.UUID, invitee_id: uuid.UUID | None, email: str | None, now: datetime
    ) -> bool:
        who = Invitation.invitee_id == invitee_id if invitee_id else Invitation.email == email
        found = await self.session.scalar(
            select(Invitation.id).where(
                Invitation.team_id == team_id,
                Invitation.status == PENDING,
                Invitation.expires_at > now,
                who,
            )
        )
        return found is not None
