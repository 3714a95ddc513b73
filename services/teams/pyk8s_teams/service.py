"""The rules of the teams service: who may do what to teams, memberships and invitations.
Every request names its actor and the role is checked here again, whatever the gateway
already checked. No SQL here (repository.py), no NATS (peers.py, handlers.py)."""

import asyncio
import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pyk8s_contracts import teams as c
from pyk8s_contracts.auth import SignupInvited, User
from pyk8s_contracts.common import Ok
from pyk8s_contracts.emails import Email, undeliverable
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.events import CloudEvent, event_type
from pyk8s_contracts.subjects import event_subject
from pyk8s_contracts.teams import Role
from pyk8s_kit import pages
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.db import Database
from pyk8s_kit.outbox import add_event

from .models import Invitation, Membership, OutboxEvent, Team
from .repository import PENDING, TEAM_AS_MEMBER, TeamsRepository
from .settings import TeamsSettings

EVENT_SOURCE = "/services/teams"
TOKEN_PREFIX = "pyk8s_inv_"
_EMAIL = TypeAdapter(Email)


class PeersPort(Protocol):
    async def find_user(self, login: str) -> User | None: ...
    async def users(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, User]: ...
    async def team_cluster_count(self, team_id: uuid.UUID) -> int: ...


def _now() -> datetime:
    return datetime.now(UTC)


def _hash_token(token: str) -> str:
    # The token carries 256 random bits, so a fast hash is enough to store it safely.
    return hashlib.sha256(token.encode()).hexdigest()


def _keyed(row: Team | Invitation) -> tuple[datetime, uuid.UUID]:
    """A team's or an invitation's place in its list (pyk8s_kit.pages)."""
    return row.created_at, row.id


def _team(team: Team, role: str) -> c.TeamWithRole:
    return c.TeamWithRole(
        id=team.id,
        name=team.name,
        display_name=team.display_name,
        created_at=team.created_at,
        role=Role(role),
    )


def _status(invitation: Invitation, now: datetime) -> c.InvitationStatus:
    if invitation.status == PENDING and invitation.expires_at <= now:
        return c.InvitationStatus.EXPIRED
    return c.InvitationStatus(invitation.status)


def _invitation(
    invitation: Invitation,
    team_name: str,
    username: str | None = None,
    inviter: User | None = None,
) -> c.Invitation:
    return c.Invitation(
        id=invitation.id,
        team_id=invitation.team_id,
        team_name=team_name,
        role=Role(invitation.role),
        invitee_id=invitation.invitee_id,
        invitee_username=username,
        email=invitation.email,
        invited_by=invitation.invited_by,
        invited_by_email=inviter.email if inviter else None,
        status=_status(invitation, _now()),
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


def _member(membership: Membership, user: User | None) -> c.Member:
    return c.Member(
        user_id=membership.user_id,
        role=Role(membership.role),
        joined_at=membership.created_at,
        username=user.username if user else None,
        display_name=user.display_name if user else None,
    )


def _emit(session: AsyncSession, entity: str, verb: str, team_id: uuid.UUID, **data: Any) -> None:
    event = CloudEvent(
        source=EVENT_SOURCE,
        type=event_type(entity, verb),
        subject=str(team_id),
        data={"team_id": str(team_id), **{k: _plain(v) for k, v in data.items()}},
    )
    add_event(session, OutboxEvent, event_subject(entity, verb), event)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, uuid.UUID) else value


def not_found(what: str = "team") -> ServiceError:
    # Outsiders get the same answer whether or not the thing exists.
    return ServiceError(ErrorCode.NOT_FOUND, f"{what} not found")


def _unusable(invitation: Invitation) -> ServiceError | None:
    if invitation.status != PENDING:
        return ServiceError(
            ErrorCode.INVITATION_INVALID,
            f"the invitation is no longer valid: it was {invitation.status}",
        )
    if invitation.expires_at <= _now():
        return ServiceError(ErrorCode.INVITATION_INVALID, "the invitation has expired")
    return None


class TeamsService:
    def __init__(self, db: Database, settings: TeamsSettings, peers: PeersPort) -> None:
        self.db = db
        self.settings = settings
        self.peers = peers

    async def _lock_team(self, repo: TeamsRepository, team_id: uuid.UUID) -> Team:
        """Locks the team before any check: a deletion committed meanwhile is seen as not
        found, and the role checked next cannot change until the change is done."""
        team = await repo.team_for_update(team_id)
        if team is None:
            raise not_found()
        return team

    async def _require(
        self, repo: TeamsRepository, team_id: uuid.UUID, actor_id: uuid.UUID, minimum: Role
    ) -> Membership:
        membership = await repo.membership(team_id, actor_id)
        if membership is None:
            raise not_found()
        if not Role(membership.role).at_least(minimum):
            raise ServiceError(
                ErrorCode.FORBIDDEN, f"this needs the {minimum.value} role or higher in the team"
            )
        return membership

    # membership query used by every team-scoped check
    async def membership(self, req: c.MembershipRequest) -> c.MembershipReply:
        async with self.db.reading() as session:
            membership = await TeamsRepository(session).membership(req.team_id, req.user_id)
        return c.MembershipReply(role=Role(membership.role) if membership else None)

    async def roles(self, req: c.RolesRequest) -> c.RolesReply:
        async with self.db.session() as session:
            rows = await TeamsRepository(session).roles_of(req.user_id, req.team_ids)
        return c.RolesReply(roles={team_id: Role(role) for team_id, role in rows})

    # teams
    async def create_team(self, req: c.TeamCreateRequest) -> c.TeamWithRole:
        try:
            async with self.db.session() as session:
                repo = TeamsRepository(session)
                if await repo.team_by_name(req.name):
                    raise self._name_taken(req.name)
                team = Team(name=req.name, display_name=req.display_name or req.name)
                await repo.add(team)
                await repo.add(Membership(team_id=team.id, user_id=req.actor_id, role=Role.OWNER))
                # One event per transaction keeps the outbox order; team.created names the
                # first owner instead of a separate member.added.
                _emit(session, "team", "created", team.id, name=team.name, owner_id=req.actor_id)
                return _team(team, Role.OWNER)
        except IntegrityError:
            # Two creations raced for the same name; the loser lands here.
            raise self._name_taken(req.name) from None

    @staticmethod
    def _name_taken(name: str) -> ServiceError:
        return ServiceError(
            ErrorCode.CONFLICT, f"the team name {name!r} is already taken", {"field": "name"}
        )

    async def list_teams(self, req: c.TeamListRequest) -> c.TeamList:
        scope = pages.fingerprint("teams", actor=req.actor_id, role=req.role)
        position = pages.decode(req.cursor, scope)
        async with self.db.session() as session:
            rows = await TeamsRepository(session).teams_of(
                req.actor_id, req.role, position, req.limit
            )
        items, next_cursor = pages.page(rows, req.limit, scope, lambda row: _keyed(row[0]))
        return c.TeamList(
            teams=[_team(team, role) for team, role in items], next_cursor=next_cursor
        )

    async def get_team(self, req: c.TeamRequest) -> c.TeamWithRole:
        # Any role may read the team: being a member is the whole check.
        row = await self.db.fetch_one(TEAM_AS_MEMBER, team_id=req.team_id, user_id=req.actor_id)
        if row is None:
            raise not_found()
        return c.TeamWithRole.model_validate(dict(row))

    async def update_team(self, req: c.TeamUpdateRequest) -> c.TeamWithRole:
        try:
            async with self.db.session() as session:
                repo = TeamsRepository(session)
                team = await self._lock_team(repo, req.team_id)
                membership = await self._require(repo, req.team_id, req.actor_id, Role.OWNER)
                if req.name is not None and req.name != team.name:
                    if await repo.team_by_name(req.name):
                        raise self._name_taken(req.name)
                    team.name = req.name
                if req.display_name is not None:
                    team.display_name = req.display_name or team.name
                await session.flush()
                return _team(team, membership.role)
        except IntegrityError:
            raise self._name_taken(req.name or "") from None

    async def delete_team(self, req: c.TeamRequest) -> Ok:
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            team = await self._lock_team(repo, req.team_id)
            await self._require(repo, req.team_id, req.actor_id, Role.OWNER)
            # Raises UNAVAILABLE when no provisioner answers: never delete blindly.
            clusters = await self.peers.team_cluster_count(req.team_id)
            if clusters:
                raise ServiceError(
                    ErrorCode.TEAM_NOT_EMPTY,
                    f"the team still has {clusters} cluster(s); delete them first",
                    {"clusters": clusters},
                )
            _emit(session, "team", "deleted", team.id, name=team.name, by=req.actor_id)
            await repo.delete_team(team)
        return Ok()

    # members
    async def list_members(self, req: c.MemberListRequest) -> c.MemberList:
        scope = pages.fingerprint("members", team=req.team_id, actor=req.actor_id, role=req.role)
        position = pages.decode(req.cursor, scope)
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            await self._require(repo, req.team_id, req.actor_id, Role.VIEWER)
            rows = await repo.members(req.team_id, req.role, position, req.limit)
        members, next_cursor = pages.page(
            rows, req.limit, scope, lambda m: (m.created_at, m.user_id)
        )
        users = await self.peers.users([m.user_id for m in members])
        return c.MemberList(
            members=[_member(m, users.get(m.user_id)) for m in members], next_cursor=next_cursor
        )

    async def set_role(self, req: c.MemberSetRoleRequest) -> c.Member:
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            # Locked so concurrent owner changes cannot leave it without an owner.
            await self._lock_team(repo, req.team_id)
            actor = await self._require(repo, req.team_id, req.actor_id, Role.ADMIN)
            target = await repo.membership(req.team_id, req.user_id)
            if target is None:
                raise not_found("member")
            owners_involved = Role.OWNER in (req.role, Role(target.role))
            if owners_involved and actor.role != Role.OWNER:
                raise ServiceError(
                    ErrorCode.FORBIDDEN, "only an owner can grant the owner role or change an owner"
                )
            old = Role(target.role)
            if old == Role.OWNER and req.role != Role.OWNER:
                await self._keep_an_owner(repo, req.team_id)
            if old != req.role:
                target.role = req.role.value
                _emit(
                    session,
                    "team.member",
                    "role_changed",
                    req.team_id,
                    user_id=req.user_id,
                    old_role=old.value,
                    role=req.role.value,
                    by=req.actor_id,
                )
            await session.flush()
        users = await self.peers.users([req.user_id])
        return _member(target, users.get(req.user_id))

    async def _keep_an_owner(self, repo: TeamsRepository, team_id: uuid.UUID) -> None:
        if await repo.count_owners(team_id) <= 1:
            raise ServiceError(
                ErrorCode.LAST_OWNER,
                "a team keeps at least one owner; make someone else owner first",
            )

    async def remove_member(self, req: c.MemberRemoveRequest) -> Ok:
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            await self._lock_team(repo, req.team_id)
            leaving = req.user_id == req.actor_id
            actor = await self._require(
                repo, req.team_id, req.actor_id, Role.VIEWER if leaving else Role.ADMIN
            )
            target = actor if leaving else await repo.membership(req.team_id, req.user_id)
            if target is None:
                raise not_found("member")
            if target.role == Role.OWNER:
                if actor.role != Role.OWNER:
                    raise ServiceError(ErrorCode.FORBIDDEN, "only an owner can remove an owner")
                await self._keep_an_owner(repo, req.team_id)
            await repo.remove_membership(target)
            _emit(
                session,
                "team.member",
                "removed",
                req.team_id,
                user_id=req.user_id,
                role=target.role,
                by=req.actor_id,
            )
        return Ok()

    # invitations
    async def invite(self, req: c.InvitationCreateRequest) -> c.InvitationCreated:
        inviter = (await self.peers.users([req.actor_id])).get(req.actor_id)
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            team = await self._lock_team(repo, req.team_id)
            actor = await self._require(repo, req.team_id, req.actor_id, Role.ADMIN)
            if req.role == Role.OWNER and actor.role != Role.OWNER:
                raise ServiceError(ErrorCode.FORBIDDEN, "only an owner can invite an owner")
            user, email = await self._invitee(req.login)
            now = _now()
            if user and await repo.membership(req.team_id, user.id):
                raise ServiceError(
                    ErrorCode.CONFLICT, f"{user.username} is already a member", {"field": "login"}
                )
            if await repo.pending_invitation_exists(
                req.team_id, user.id if user else None, email, now
            ):
                raise ServiceError(
                    ErrorCode.CONFLICT, "a pending invitation already exists", {"field": "login"}
                )
            token = None if user else TOKEN_PREFIX + secrets.token_urlsafe(32)
            invitation = Invitation(
                team_id=req.team_id,
                role=req.role.value,
                invitee_id=user.id if user else None,
                email=email,
                token_hash=_hash_token(token) if token else None,
                invited_by=req.actor_id,
                status=PENDING,
                expires_at=now + timedelta(seconds=self.settings.invitation_ttl_seconds),
            )
            await repo.add(invitation)
            # Told live to the invitee (an account; an e-mail invitation reaches nobody yet).
            _emit(
                session,
                "team.invitation",
                "created",
                req.team_id,
                invitation_id=invitation.id,
                user_id=invitation.invitee_id,
                team_name=team.name,
                role=invitation.role,
                by=req.actor_id,
            )
            created = _invitation(invitation, team.name, user.username if user else None, inviter)
        return c.InvitationCreated(**created.model_dump(), token=token)

    async def _invitee(self, login: str) -> tuple[User | None, str | None]:
        """An existing account (by username or email), or else an email to send a token to."""
        user = await self.peers.find_user(login)
        if user is not None:
            return user, None
        if "@" not in login:
            raise ServiceError(
                ErrorCode.NOT_FOUND, f"no account has the username {login!r}", {"field": "login"}
            )
        try:
            email = _EMAIL.validate_python(login).lower()
        except ValidationError:
            raise ServiceError(
                ErrorCode.VALIDATION,
                "login is neither a username nor an email",
                [{"loc": ["body", "login"], "msg": "not a valid email", "type": "value_error"}],
            ) from None
        if self.settings.email_check_deliverability:
            reason = await asyncio.to_thread(undeliverable, email)
            if reason:
                raise ServiceError(
                    ErrorCode.VALIDATION,
                    f"login: {reason}",
                    [{"loc": ["body", "login"], "msg": reason, "type": "value_error"}],
                )
        return None, email

    async def list_invitations(self, req: c.TeamInvitationListRequest) -> c.InvitationList:
        scope = pages.fingerprint("team-invitations", team=req.team_id, actor=req.actor_id)
        position = pages.decode(req.cursor, scope)
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            await self._require(repo, req.team_id, req.actor_id, Role.ADMIN)
            team = await repo.team(req.team_id)
            if team is None:  # deleted since the membership was read
                raise not_found()
            page = await repo.pending_invitations_of_team(req.team_id, _now(), position, req.limit)
        rows, next_cursor = pages.page(page, req.limit, scope, _keyed)
        users = await self.peers.users(
            list({r.invitee_id for r in rows if r.invitee_id} | {r.invited_by for r in rows})
        )
        return c.InvitationList(
            invitations=[
                _invitation(
                    r,
                    team.name,
                    users[r.invitee_id].username if r.invitee_id in users else None,
                    users.get(r.invited_by),
                )
                for r in rows
            ],
            next_cursor=next_cursor,
        )

    async def revoke_invitation(self, req: c.InvitationRevokeRequest) -> Ok:
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            await self._require(repo, req.team_id, req.actor_id, Role.ADMIN)
            invitation = await repo.invitation_for_update(req.invitation_id)
            if invitation is None or invitation.team_id != req.team_id:
                raise not_found("invitation")
            if (error := _unusable(invitation)) is not None:
                raise error
            invitation.status = "revoked"
            invitation.resolved_at = _now()
            team = await repo.team(req.team_id)
            _emit(
                session,
                "team.invitation",
                "revoked",
                req.team_id,
                invitation_id=invitation.id,
                user_id=invitation.invitee_id,
                team_name=team.name,
                by=req.actor_id,
            )
        return Ok()

    async def my_invitations(self, req: c.MyInvitationListRequest) -> c.InvitationList:
        scope = pages.fingerprint("my-invitations", actor=req.actor_id)
        position = pages.decode(req.cursor, scope)
        async with self.db.session() as session:
            page = await TeamsRepository(session).pending_invitations_of_user(
                req.actor_id, _now(), position, req.limit
            )
        rows, next_cursor = pages.page(page, req.limit, scope, lambda row: _keyed(row[0]))
        inviters = await self.peers.users(list({inv.invited_by for inv, _ in rows}))
        return c.InvitationList(
            invitations=[
                _invitation(inv, team.name, inviter=inviters.get(inv.invited_by))
                for inv, team in rows
            ],
            next_cursor=next_cursor,
        )

    async def _invitation_of(self, repo: TeamsRepository, req: c.InvitationRequest) -> Invitation:
        invitation = await repo.invitation_for_update(req.invitation_id)
        # Somebody else's invitation does not exist as far as this actor can tell.
        if invitation is None or invitation.invitee_id != req.actor_id:
            raise not_found("invitation")
        if (error := _unusable(invitation)) is not None:
            raise error
        return invitation

    async def accept(self, req: c.InvitationRequest) -> c.TeamWithRole:
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            invitation = await self._invitation_of(repo, req)
            return await self._join(session, repo, invitation, req.actor_id)

    async def decline(self, req: c.InvitationRequest) -> Ok:
        async with self.db.session() as session:
            invitation = await self._invitation_of(TeamsRepository(session), req)
            invitation.status = "declined"
            invitation.resolved_at = _now()
        return Ok()

    async def _join(
        self,
        session: AsyncSession,
        repo: TeamsRepository,
        invitation: Invitation,
        user_id: uuid.UUID,
    ) -> c.TeamWithRole:
        team = await repo.team_for_update(invitation.team_id)
        if await repo.membership(team.id, user_id):
            raise ServiceError(ErrorCode.CONFLICT, "you are already a member of this team")
        invitation.status = "accepted"
        invitation.invitee_id = user_id
        invitation.resolved_at = _now()
        await repo.add(Membership(team_id=team.id, user_id=user_id, role=invitation.role))
        _emit(
            session,
            "team.member",
            "added",
            team.id,
            user_id=user_id,
            role=invitation.role,
            by=invitation.invited_by,
            invitation_id=invitation.id,
        )
        return _team(team, invitation.role)

    # invitations sent to an email without an account, redeemed at sign-up
    async def _by_token(self, repo: TeamsRepository, token: str, email: str) -> Invitation:
        invitation_id = await repo.invitation_id_by_token(_hash_token(token))
        invitation = await repo.invitation_for_update(invitation_id) if invitation_id else None
        # One answer for every failure: a guessed token learns nothing.
        if (
            invitation is None
            or invitation.email != email.lower()
            or _unusable(invitation) is not None
        ):
            raise ServiceError(
                ErrorCode.INVITATION_INVALID,
                "the invitation token is invalid, used or expired",
                {"field": "invitation_token"},
            )
        return invitation

    async def check_token(self, req: c.InvitationTokenCheck) -> c.Invitation:
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            invitation = await self._by_token(repo, req.token, req.email)
            team = await repo.team(invitation.team_id)
            return _invitation(invitation, team.name)

    async def redeem(self, invited: SignupInvited) -> c.TeamWithRole:
        async with self.db.session() as session:
            repo = TeamsRepository(session)
            invitation = await self._by_token(repo, invited.invitation_token, invited.email)
            return await self._join(session, repo, invitation, invited.user_id)
