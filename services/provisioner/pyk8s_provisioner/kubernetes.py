"""Who a person is inside a cluster. The Kubernetes API proxy impersonates the caller as a user
of their own and the group of their current team role; the bindings made in every cluster at
creation give each role's group the ClusterRole that `pyk8s_contracts.rbac.KUBERNETES_ROLES`
names. A personal cluster's creator counts as its owner."""

import uuid

from pyk8s_contracts.rbac import KUBERNETES_ROLES
from pyk8s_contracts.teams import Role

PREFIX = "pyk8s:"


def group(role: Role) -> str:
    return f"{PREFIX}{role.value}"


def user(user_id: uuid.UUID) -> str:
    return f"{PREFIX}user:{user_id}"


def impersonation(user_id: uuid.UUID, role: Role) -> tuple[str, list[str]]:
    """Impersonate-User and Impersonate-Group for a caller with `role`."""
    return user(user_id), [group(role)]


def bindings_manifest() -> str:
    """One ClusterRoleBinding per team role, applied with the cluster's admin credential."""
    documents = [
        f"""apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: {group(role)}
  labels:
    app.kubernetes.io/managed-by: pyk8s-lab
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: {cluster_role}
subjects:
- apiGroup: rbac.authorization.k8s.io
  kind: Group
  name: {group(role)}
"""
        for role, cluster_role in KUBERNETES_ROLES.items()
    ]
    return "---\n".join(documents)
