"""Who may do what with a cluster: the one place that applies the cluster rights of
`pyk8s_contracts.rbac`. The provisioner applies them to every request it serves, and answers
peers (the terminal service) that ask whether a user may act on a cluster
(`provisioner.cluster.access`), so no other service copies them."""

import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

from nats.aio.client import Client as NATS

from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.rbac import CLUSTER
from pyk8s_contracts.teams import Role
from pyk8s_kit.bus import ServiceError
from pyk8s_kit.roles import team_role, team_roles

RoleLookup = Callable[[uuid.UUID, uuid.UUID], Awaitable[Role | None]]

READ = "read"
PROXY = "proxy"  # the Kubernetes API through the gateway, the exec kubeconfig
USE = "use"  # extend, terminal
ADMIN_KUBECONFIG = "admin_kubeconfig"
DELETE = "delete"
ACTIONS = tuple(CLUSTER)


class TeamRoles(Protocol):
    """What the provisioner asks the teams service: one user's role in one team, or in many
    teams at once (lists)."""

    async def __call__(self, team_id: uuid.UUID, user_id: uuid.UUID) -> Role | None: ...

    async def many(
        self, user_id: uuid.UUID, team_ids: list[uuid.UUID] | None
    ) -> dict[uuid.UUID, Role]: ...


class TeamsOverNats:
    """`TeamRoles` answered by the teams service, asked on every check (pyk8s_kit.roles)."""

    def __init__(self, nc: NATS) -> None:
        self.nc = nc

    async def __call__(self, team_id: uuid.UUID, user_id: uuid.UUID) -> Role | None:
        return await team_role(self.nc, team_id, user_id)

    async def many(
        self, user_id: uuid.UUID, team_ids: list[uuid.UUID] | None
    ) -> dict[uuid.UUID, Role]:
        return await team_roles(self.nc, user_id, team_ids)


class Owned(Protocol):
    """What the rules look at: the stored cluster or its contract."""

    team_id: uuid.UUID | None
    owner_id: uuid.UUID


def not_found() -> ServiceError:
    # The same answer whether the cluster does not exist or is not the caller's to see.
    return ServiceError(ErrorCode.NOT_FOUND, "cluster not found")


async def role_of(roles: RoleLookup, cluster: Owned, actor_id: uuid.UUID) -> Role | None:
    """The caller's role for this cluster: their team role, or owner of their own personal
    cluster; None when the cluster is not theirs to see."""
    if cluster.team_id is None:
        return Role.OWNER if cluster.owner_id == actor_id else None
    return await roles(cluster.team_id, actor_id)


async def require(roles: RoleLookup, cluster: Owned, actor_id: uuid.UUID, action: str) -> Role:
    """Refuses unless the caller may `action` the cluster; returns the role that allowed it."""
    role = await role_of(roles, cluster, actor_id)
    if role is None:
        raise not_found()
    right = CLUSTER[action]
    if right.allows(role, is_creator=cluster.owner_id == actor_id):
        return role
    raise ServiceError(
        ErrorCode.FORBIDDEN,
        f"this needs the {right.minimum.value} role or higher in the team"
        + (" (or to be the cluster's creator)" if right.creator else ""),
    )
