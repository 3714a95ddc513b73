"""Who may do what in a team, as data. rbac.json is the one table of rights: the minimum role
of each team and team-cluster action, and the one extra right of a cluster's creator. The
provisioner applies it, the web app and its test double read the same file, docs/rbac.md
shows it, and the gateway's role matrix test holds the teams service to it."""

import json
from dataclasses import dataclass
from importlib.resources import files

from .teams import Role


@dataclass(frozen=True)
class Right:
    minimum: Role
    covers: str
    # A cluster's creator may also do this from this role up; no other extra right.
    creator: Role | None = None

    def allows(self, role: Role | None, is_creator: bool = False) -> bool:
        if role is None:
            return False
        if role.at_least(self.minimum):
            return True
        return is_creator and self.creator is not None and role.at_least(self.creator)


def _rights(section: dict) -> dict[str, Right]:
    return {
        action: Right(
            minimum=Role(right["minimum"]),
            covers=right["covers"],
            creator=Role(right["creator"]) if "creator" in right else None,
        )
        for action, right in section.items()
    }


TABLE = json.loads(files(__package__).joinpath("rbac.json").read_text())
TEAM = _rights(TABLE["team"])
CLUSTER = _rights(TABLE["cluster"])
# Rights of the platform-admin role, held by the people the auth service's settings name and
# carried in their access tokens; requests that need it derive from common.ByPlatformAdmin.
PLATFORM_ROLE = TABLE["platform"]["role"]
PLATFORM: dict[str, str] = TABLE["platform"]["rights"]
# The Kubernetes ClusterRole each team role's group is bound to in every cluster.
KUBERNETES_ROLES = {Role(role): cluster_role for role, cluster_role in TABLE["kubernetes"].items()}
