"""The teams service on its own: a real database and NATS, requests sent straight to its
subjects (past the gateway), with test doubles for the auth service and the provisioner."""

import asyncio
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from nats.aio.client import Client as NATS

from pyk8s_contracts import auth as a
from pyk8s_contracts import subjects
from pyk8s_contracts import teams as c
from pyk8s_contracts.common import ByUser, Ok
from pyk8s_contracts.errors import ErrorCode
from pyk8s_kit.bus import ACTOR_HEADER, ServiceError, request
from pyk8s_kit.db import Database
from pyk8s_teams.main import MIGRATIONS, start
from pyk8s_teams.peers import Peers
from pyk8s_teams.service import TeamsService
from pyk8s_teams.settings import TeamsSettings


class PeersDouble:
    """Answers the auth service's user lookups from `users` and the provisioner's cluster
    count from `clusters`, on the same subjects and with the same contracts."""

    def __init__(self) -> None:
        self.users: dict[uuid.UUID, a.User] = {}
        self.clusters: dict[uuid.UUID, int] = {}

    def person(self, name: str) -> uuid.UUID:
        user = a.User(
            id=uuid.uuid4(),
            username=name,
            email=f"{name}@example.com",
            display_name=name.title(),
            created_at=datetime.now(UTC),
        )
        self.users[user.id] = user
        return user.id

    async def start(self, auth_nc, provisioner_nc) -> None:
        async def lookup(msg) -> None:
            login = a.UserLookupRequest.model_validate_json(msg.data).login.lower()
            found = next((u for u in self.users.values() if login in (u.username, u.email)), None)
            await msg.respond(a.UserLookupReply(user=found).model_dump_json().encode())

        async def get_many(msg) -> None:
            ids = a.UsersGetManyRequest.model_validate_json(msg.data).ids
            found = [self.users[i] for i in ids if i in self.users]
            await msg.respond(a.UsersGetManyReply(users=found).model_dump_json().encode())

        async def count(msg) -> None:
            team_id = c.TeamClusterCountRequest.model_validate_json(msg.data).team_id
            reply = c.TeamClusterCountReply(count=self.clusters.get(team_id, 0))
            await msg.respond(reply.model_dump_json().encode())

        await auth_nc.subscribe(subjects.AUTH_USERS_LOOKUP, cb=lookup)
        await auth_nc.subscribe(subjects.AUTH_USERS_GET_MANY, cb=get_many)
        await provisioner_nc.subscribe(subjects.PROVISIONER_TEAM_COUNT, cb=count)
        await auth_nc.flush()
        await provisioner_nc.flush()


@pytest.fixture
async def bus(make_database, nats_server, auth_keys):
    url = make_database("teams", MIGRATIONS)
    runtime = await start(
        TeamsSettings(
            environment="test",
            nats_url=nats_server.url,
            nats_credentials=str(nats_server.seeds["teams"]),
            database_url=url,
        )
    )
    # The auth service's and the provisioner's parts, each under its own identity.
    auth_nc = await nats_server.connect("auth")
    provisioner_nc = await nats_server.connect("provisioner")
    peers = PeersDouble()
    await peers.start(auth_nc, provisioner_nc)
    nc = await nats_server.connect("gateway")
    yield Bus(nc, peers, auth_keys, url)
    for connection in (nc, auth_nc, provisioner_nc):
        await connection.close()
    await runtime.stop()


@dataclass
class Bus:
    nc: NATS
    peers: PeersDouble
    keys: Any
    database_url: str


async def ask(bus: Bus, subject: str, payload, reply=Ok):
    """As the gateway asks: on behalf of the payload's actor, with that user's access token."""
    actor = bus.keys.assertion(payload.actor_id) if isinstance(payload, ByUser) else None
    return await request(bus.nc, subject, payload, reply, actor=actor)


async def refused(nc, subject: str, payload) -> ErrorCode:
    with pytest.raises(ServiceError) as error:
        await ask(nc, subject, payload, c.TeamWithRole)
    return error.value.code


async def team_with_roles(nc):
    """A team with an owner, an admin, a viewer, and an outsider; returns their ids."""
    peers = nc.peers
    ids = {name: peers.person(name) for name in ("owner", "admin", "viewer", "outsider")}
    team = await ask(
        nc,
        subjects.TEAMS_CREATE,
        c.TeamCreateRequest(actor_id=ids["owner"], name="crew"),
        c.TeamWithRole,
    )
    for name in ("admin", "viewer"):
        made = await ask(
            nc,
            subjects.TEAMS_INVITATIONS_CREATE,
            c.InvitationCreateRequest(
                actor_id=ids["owner"], team_id=team.id, login=name, role=c.Role(name)
            ),
            c.InvitationCreated,
        )
        await ask(
            nc,
            subjects.TEAMS_INVITATIONS_ACCEPT,
            c.InvitationRequest(actor_id=ids[name], invitation_id=made.id),
            c.TeamWithRole,
        )
    return team.id, ids


async def test_membership_answers_the_role_or_null(bus):
    team_id, ids = await team_with_roles(bus)

    async def role(team, user):
        reply = await ask(
            bus,
            subjects.TEAMS_MEMBERSHIP,
            c.MembershipRequest(team_id=team, user_id=user),
            c.MembershipReply,
        )
        return reply.role

    assert await role(team_id, ids["owner"]) == c.Role.OWNER
    assert await role(team_id, ids["viewer"]) == c.Role.VIEWER
    assert await role(team_id, ids["outsider"]) is None
    assert await role(uuid.uuid4(), ids["owner"]) is None


async def test_roles_answers_many_teams_in_one_request(bus, nats_server):
    team_id, ids = await team_with_roles(bus)
    other = await ask(
        bus,
        subjects.TEAMS_CREATE,
        c.TeamCreateRequest(actor_id=ids["viewer"], name="other"),
        c.TeamWithRole,
    )
    provisioner = await nats_server.connect("provisioner")

    async def roles(user, team_ids=None):
        payload = c.RolesRequest(user_id=user, team_ids=team_ids)
        return (await request(provisioner, subjects.TEAMS_ROLES, payload, c.RolesReply)).roles

    try:
        assert await roles(ids["viewer"]) == {team_id: c.Role.VIEWER, other.id: c.Role.OWNER}
        assert await roles(ids["viewer"], [other.id, uuid.uuid4()]) == {other.id: c.Role.OWNER}
        assert await roles(ids["outsider"]) == {}
        assert await roles(ids["owner"], []) == {}
    finally:
        await provisioner.close()


async def test_the_service_checks_the_actor_itself(bus):
    """Requests that skip the gateway are refused as the gateway would refuse them."""
    team_id, ids = await team_with_roles(bus)
    invitation = await ask(
        bus,
        subjects.TEAMS_INVITATIONS_CREATE,
        c.InvitationCreateRequest(
            actor_id=ids["owner"], team_id=team_id, login="new@example.com", role="member"
        ),
        c.InvitationCreated,
    )
    requests = {
        subjects.TEAMS_GET: lambda actor: c.TeamRequest(actor_id=actor, team_id=team_id),
        subjects.TEAMS_UPDATE: lambda actor: c.TeamUpdateRequest(
            actor_id=actor, team_id=team_id, display_name="x"
        ),
        subjects.TEAMS_DELETE: lambda actor: c.TeamRequest(actor_id=actor, team_id=team_id),
        subjects.TEAMS_MEMBERS_LIST: lambda actor: c.TeamRequest(actor_id=actor, team_id=team_id),
        subjects.TEAMS_MEMBERS_SET_ROLE: lambda actor: c.MemberSetRoleRequest(
            actor_id=actor, team_id=team_id, user_id=ids["viewer"], role="member"
        ),
        subjects.TEAMS_MEMBERS_REMOVE: lambda actor: c.MemberRemoveRequest(
            actor_id=actor, team_id=team_id, user_id=ids["admin"]
        ),
        subjects.TEAMS_INVITATIONS_CREATE: lambda actor: c.InvitationCreateRequest(
            actor_id=actor, team_id=team_id, login="x@example.com", role="viewer"
        ),
        subjects.TEAMS_INVITATIONS_LIST: lambda actor: c.TeamRequest(
            actor_id=actor, team_id=team_id
        ),
        subjects.TEAMS_INVITATIONS_REVOKE: lambda actor: c.InvitationRevokeRequest(
            actor_id=actor, team_id=team_id, invitation_id=invitation.id
        ),
    }
    viewer_may = {subjects.TEAMS_GET, subjects.TEAMS_MEMBERS_LIST}
    for subject, make in requests.items():
        assert await refused(bus, subject, make(ids["outsider"])) == ErrorCode.NOT_FOUND, subject
        if subject not in viewer_may:
            assert await refused(bus, subject, make(ids["viewer"])) == ErrorCode.FORBIDDEN, subject
    for subject in (subjects.TEAMS_UPDATE, subjects.TEAMS_DELETE):
        assert await refused(bus, subject, requests[subject](ids["admin"])) == ErrorCode.FORBIDDEN
    # Another person's invitation is not found, for accept and decline alike.
    for subject in (subjects.TEAMS_INVITATIONS_ACCEPT, subjects.TEAMS_INVITATIONS_DECLINE):
        payload = c.InvitationRequest(actor_id=ids["outsider"], invitation_id=invitation.id)
        assert await refused(bus, subject, payload) == ErrorCode.NOT_FOUND


async def test_concurrent_creations_of_one_name_leave_one_team(bus):
    people = [bus.peers.person(f"p{i}") for i in range(5)]
    results = await asyncio.gather(
        *(
            ask(
                bus,
                subjects.TEAMS_CREATE,
                c.TeamCreateRequest(actor_id=p, name="same"),
                c.TeamWithRole,
            )
            for p in people
        ),
        return_exceptions=True,
    )
    created = [r for r in results if isinstance(r, c.TeamWithRole)]
    conflicts = [r for r in results if isinstance(r, ServiceError)]
    assert len(created) == 1
    assert [e.code for e in conflicts] == [ErrorCode.CONFLICT] * 4


async def test_two_owners_demoting_each_other_at_once_keep_one_owner(bus):
    team_id, ids = await team_with_roles(bus)
    await ask(
        bus,
        subjects.TEAMS_MEMBERS_SET_ROLE,
        c.MemberSetRoleRequest(
            actor_id=ids["owner"], team_id=team_id, user_id=ids["admin"], role="owner"
        ),
        c.Member,
    )
    pairs = [(ids["owner"], ids["admin"]), (ids["admin"], ids["owner"])]
    results = await asyncio.gather(
        *(
            ask(
                bus,
                subjects.TEAMS_MEMBERS_SET_ROLE,
                c.MemberSetRoleRequest(
                    actor_id=actor, team_id=team_id, user_id=target, role="member"
                ),
                c.Member,
            )
            for actor, target in pairs
        ),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, ServiceError)]
    assert len(errors) == 1
    assert errors[0].code in (ErrorCode.LAST_OWNER, ErrorCode.FORBIDDEN)
    members = await ask(
        bus,
        subjects.TEAMS_MEMBERS_LIST,
        c.TeamRequest(actor_id=ids["viewer"], team_id=team_id),
        c.MemberList,
    )
    assert [m.role for m in members.members].count(c.Role.OWNER) == 1


async def test_members_carry_usernames_from_the_auth_service(bus):
    team_id, ids = await team_with_roles(bus)
    members = await ask(
        bus,
        subjects.TEAMS_MEMBERS_LIST,
        c.TeamRequest(actor_id=ids["viewer"], team_id=team_id),
        c.MemberList,
    )
    assert {(m.username, m.display_name, m.role) for m in members.members} == {
        ("owner", "Owner", c.Role.OWNER),
        ("admin", "Admin", c.Role.ADMIN),
        ("viewer", "Viewer", c.Role.VIEWER),
    }


async def test_malformed_requests_are_validation_errors(bus):
    msg = await bus.nc.request(subjects.TEAMS_MEMBERSHIP, b'{"actor_id": "nope"}', timeout=5)
    assert msg.headers["Nats-Service-Error-Code"] == ErrorCode.VALIDATION.value
    user = uuid.uuid4()
    headers = {ACTOR_HEADER: bus.keys.assertion(user)}
    body = f'{{"actor_id": "{user}", "name": "-"}}'.encode()
    msg = await bus.nc.request(subjects.TEAMS_CREATE, body, timeout=5, headers=headers)
    assert msg.headers["Nats-Service-Error-Code"] == ErrorCode.VALIDATION.value


async def test_requests_for_a_person_need_that_persons_verified_token(bus):
    """The second wall behind the subject permissions: naming a user is not enough."""
    team_id, ids = await team_with_roles(bus)
    as_owner = c.InvitationCreateRequest(
        actor_id=ids["owner"], team_id=team_id, login="outsider", role=c.Role.OWNER
    )
    forged = bus.keys.assertion(ids["owner"], iss="someone-else")
    for actor in (None, "not-a-token", bus.keys.assertion(ids["outsider"]), forged):
        with pytest.raises(ServiceError) as error:
            await request(
                bus.nc, subjects.TEAMS_INVITATIONS_CREATE, as_owner, c.Invitation, actor=actor
            )
        assert error.value.code == ErrorCode.UNAUTHORIZED
    members = await ask(
        bus,
        subjects.TEAMS_MEMBERS_LIST,
        c.TeamRequest(actor_id=ids["owner"], team_id=team_id),
        c.MemberList,
    )
    assert "outsider" not in {m.username for m in members.members}


async def test_nul_in_text_is_a_validation_error_not_a_database_error(bus):
    owner = bus.peers.person("owner")
    payload = {"actor_id": str(owner), "name": "crew", "display_name": "a\u0000b"}
    headers = {ACTOR_HEADER: bus.keys.assertion(owner)}
    msg = await bus.nc.request(
        subjects.TEAMS_CREATE, json.dumps(payload).encode(), timeout=5, headers=headers
    )
    assert msg.headers["Nats-Service-Error-Code"] == ErrorCode.VALIDATION.value
    assert (await ask(bus, subjects.TEAMS_LIST, ByUser(actor_id=owner), c.TeamList)).teams == []


async def test_team_deletion_asks_the_provisioner(bus):
    team_id, ids = await team_with_roles(bus)
    bus.peers.clusters[team_id] = 1
    delete = c.TeamRequest(actor_id=ids["owner"], team_id=team_id)
    assert await refused(bus, subjects.TEAMS_DELETE, delete) == ErrorCode.TEAM_NOT_EMPTY
    bus.peers.clusters[team_id] = 0
    await ask(bus, subjects.TEAMS_DELETE, delete)
    assert await refused(bus, subjects.TEAMS_GET, delete) == ErrorCode.NOT_FOUND
    mine = await ask(bus, subjects.TEAMS_LIST, ByUser(actor_id=ids["admin"]), c.TeamList)
    assert mine.teams == []


async def test_one_sign_up_redeemed_by_two_replicas_at_once_joins_once(bus):
    owner = bus.peers.person("owner")
    team = await ask(
        bus, subjects.TEAMS_CREATE, c.TeamCreateRequest(actor_id=owner, name="pair"), c.TeamWithRole
    )
    made = await ask(
        bus,
        subjects.TEAMS_INVITATIONS_CREATE,
        c.InvitationCreateRequest(
            actor_id=owner, team_id=team.id, login="new@example.com", role=c.Role.MEMBER
        ),
        c.InvitationCreated,
    )
    invited = a.SignupInvited(
        user_id=uuid.uuid4(), email="new@example.com", invitation_token=made.token
    )
    # Two replicas of the service (their own connections to the database), each handed the
    # same sign-up, as a redelivery after a slow acknowledgement would.
    settings = TeamsSettings(environment="test", database_url=bus.database_url)
    databases = [Database(bus.database_url) for _ in range(2)]
    try:
        replicas = [TeamsService(db, settings, Peers(bus.nc, 5)) for db in databases]
        results = await asyncio.gather(
            *(replica.redeem(invited) for replica in replicas), return_exceptions=True
        )
    finally:
        for db in databases:
            await db.dispose()
    joined = [r for r in results if isinstance(r, c.TeamWithRole)]
    refused_ = [r for r in results if isinstance(r, ServiceError)]
    assert len(joined) == 1 and joined[0].role == c.Role.MEMBER
    # Not `unavailable`: the redeemer acknowledges it instead of trying again.
    assert len(refused_) == 1 and refused_[0].code != ErrorCode.UNAVAILABLE
