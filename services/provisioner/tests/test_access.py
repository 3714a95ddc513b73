"""The cluster rules, from the table in docs/rbac.md: one home (pyk8s_provisioner.access),
asked by the provisioner's own endpoints and by peers through provisioner.cluster.access."""

import uuid
from types import SimpleNamespace

import pytest

from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.teams import Role
from pyk8s_kit.bus import ServiceError
from pyk8s_provisioner import access

TEAM = uuid.uuid4()
CREATOR = uuid.uuid4()

# role of the caller (None: not in the team), is the caller the creator -> allowed actions
EVERYTHING = {"read", "proxy", "use", "admin_kubeconfig", "delete"}
CASES = [
    (Role.OWNER, False, EVERYTHING),
    (Role.ADMIN, False, EVERYTHING),
    (Role.MEMBER, False, {"read", "proxy", "use"}),
    (Role.MEMBER, True, {"read", "proxy", "use", "delete"}),
    (Role.VIEWER, False, {"read", "proxy"}),
    (Role.VIEWER, True, {"read", "proxy"}),  # a demoted creator keeps no more than a viewer
    (None, False, set()),
    (None, True, set()),  # a creator removed from the team sees nothing
]


@pytest.mark.parametrize(("role", "is_creator", "allowed"), CASES)
async def test_team_cluster_rules(role, is_creator, allowed):
    caller = CREATOR if is_creator else uuid.uuid4()
    cluster = SimpleNamespace(team_id=TEAM, owner_id=CREATOR)

    async def roles(team_id, user_id):
        return role if (team_id, user_id) == (TEAM, caller) else None

    assert set(access.ACTIONS) == EVERYTHING
    for action in access.ACTIONS:
        if action in allowed:
            # The role that allowed it: the proxy impersonates its Kubernetes group.
            assert await access.require(roles, cluster, caller, action) == role
            continue
        with pytest.raises(ServiceError) as refused:
            await access.require(roles, cluster, caller, action)
        expected = ErrorCode.NOT_FOUND if role is None else ErrorCode.FORBIDDEN
        assert refused.value.code == expected, (role, is_creator, action)


async def test_a_personal_cluster_is_its_owners_alone():
    async def no_team(team_id, user_id):
        return None

    cluster = SimpleNamespace(team_id=None, owner_id=CREATOR)
    for action in access.ACTIONS:
        # Its owner counts as owner, in Kubernetes too.
        assert await access.require(no_team, cluster, CREATOR, action) == Role.OWNER
        with pytest.raises(ServiceError) as refused:
            await access.require(no_team, cluster, uuid.uuid4(), action)
        assert refused.value.code == ErrorCode.NOT_FOUND
