"""rbac.json is the table of rights: it names the roles as the contracts do, and
docs/rbac.md shows exactly this table."""

from pathlib import Path

from pyk8s_contracts.rbac import CLUSTER, KUBERNETES_ROLES, TABLE, TEAM, Right
from pyk8s_contracts.teams import Role

ROOT = Path(__file__).resolve().parents[3]


def test_the_table_ranks_the_roles_as_the_contracts_do():
    assert TABLE["roles"] == [role.value for role in Role]


def test_only_a_clusters_creator_has_an_extra_right_and_only_to_delete():
    extras = {
        (section, action)
        for section, rights in (("team", TEAM), ("cluster", CLUSTER))
        for action, right in rights.items()
        if right.creator
    }
    assert extras == {("cluster", "delete")}
    assert CLUSTER["delete"].creator == Role.MEMBER


def _cell(right: Right, role: Role) -> str:
    if right.allows(role):
        return "yes"
    return "creator" if right.allows(role, is_creator=True) else "no"


def markdown_table() -> str:
    header = ["| area | action | " + " | ".join(TABLE["roles"]) + " | covers |"]
    header.append("|---|---|" + "---|" * len(Role) + "---|")
    rows = [
        f"| {section} | `{action}` | "
        + " | ".join(_cell(right, role) for role in Role)
        + f" | {right.covers} |"
        for section, rights in (("team", TEAM), ("cluster", CLUSTER))
        for action, right in rights.items()
    ]
    return "\n".join(header + rows)


def test_the_rbac_doc_shows_the_table_in_force():
    doc = (ROOT / "docs" / "rbac.md").read_text()
    assert markdown_table() in doc, "docs/rbac.md differs from rbac.json; it should show:\n" + (
        markdown_table()
    )


def kubernetes_table() -> str:
    rows = ["| team role | Kubernetes group | ClusterRole |", "|---|---|---|"]
    rows += [
        f"| {role.value} | `pyk8s:{role.value}` | `{cluster_role}` |"
        for role, cluster_role in KUBERNETES_ROLES.items()
    ]
    return "\n".join(rows)


def test_every_role_has_a_kubernetes_cluster_role():
    assert list(KUBERNETES_ROLES) == list(Role)


def test_the_kubernetes_access_doc_shows_the_mapping_in_force():
    doc = (ROOT / "docs" / "kubernetes-access.md").read_text()
    assert kubernetes_table() in doc, "docs/kubernetes-access.md should show:\n" + (
        kubernetes_table()
    )


def test_platform_rights_are_the_doc_s_and_their_requests_need_the_role():
    from pyk8s_contracts.common import ByPlatformAdmin
    from pyk8s_contracts.hosts import HostListRequest, HostRequest
    from pyk8s_contracts.rbac import PLATFORM, PLATFORM_ROLE

    doc = (ROOT / "docs" / "rbac.md").read_text()
    assert PLATFORM_ROLE == "platform_admin"
    assert list(PLATFORM) == ["manage_hosts"]
    assert "| `manage_hosts` | list the Docker hosts, drain and undrain them (" in doc
    assert PLATFORM["manage_hosts"] == "list the Docker hosts, drain and undrain them"
    assert issubclass(HostListRequest, ByPlatformAdmin) and issubclass(HostRequest, ByPlatformAdmin)
