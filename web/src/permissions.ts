// What the interface offers to whom. The rights come from the one table the services apply
// (libs/contracts/pyk8s_contracts/rbac.json, shown in docs/rbac.md); the gateway enforces
// them, these only decide which controls are shown. The web tests' gateway double applies
// the same table, through `allows` below.
import table from "../../libs/contracts/pyk8s_contracts/rbac.json";
import type { Cluster, Role } from "./api/types";

interface Right {
  minimum: Role;
  covers: string;
  /** A cluster's creator may also do this from this role up. */
  creator?: Role;
}

export type TeamAction = keyof typeof table.team;
export type ClusterAction = keyof typeof table.cluster;

// JSON imports type role names as plain strings; libs/contracts/tests/test_rbac.py checks
// that they are the contracts' roles.
const rights = table as unknown as {
  roles: Role[];
  team: Record<TeamAction, Right>;
  cluster: Record<ClusterAction, Right>;
};

export const ROLES: Role[] = rights.roles;
export const teamRights = rights.team;
export const clusterRights = rights.cluster;

export function atLeast(role: Role | null | undefined, minimum: Role): boolean {
  return role != null && ROLES.indexOf(role) >= ROLES.indexOf(minimum);
}

export function allows(right: Right, role: Role | null | undefined, isCreator = false): boolean {
  if (atLeast(role, right.minimum)) return true;
  return isCreator && right.creator !== undefined && atLeast(role, right.creator);
}

const teamMay = (action: TeamAction) => (role?: Role | null) => allows(teamRights[action], role);

export const team = {
  invite: teamMay("invite"),
  seeInvitations: teamMay("see_invitations"),
  removeMembers: teamMay("remove_members"),
  changeRoles: teamMay("change_roles"),
  createClusters: teamMay("create_clusters"),
  /** Roles this person may hand out: admins up to admin, owners any. */
  grantable: (role?: Role | null): Role[] => {
    if (!teamMay("change_roles")(role)) return [];
    return teamMay("manage_owners")(role) ? ROLES : ROLES.filter((r) => r !== "owner");
  },
};

/** Whether `role` may change or remove a member who holds `target`. */
export function canManageMember(role: Role | null | undefined, target: Role): boolean {
  if (!team.changeRoles(role)) return false;
  return target !== "owner" || teamMay("manage_owners")(role);
}

export interface ClusterAccess {
  isCreator: boolean;
  /** null for a personal cluster, and for a team cluster of a team I am not in. */
  teamRole: Role | null;
  personal: boolean;
}

export function clusterAccess(cluster: Cluster, userId: string | undefined, teamRoles: Map<string, Role>): ClusterAccess {
  return {
    isCreator: userId != null && cluster.owner_id === userId,
    teamRole: cluster.team_id ? (teamRoles.get(cluster.team_id) ?? null) : null,
    personal: cluster.team_id == null,
  };
}

/** A personal cluster is its creator's alone; a team cluster follows the table of rights. */
function mayOnCluster(action: ClusterAction, access: ClusterAccess): boolean {
  if (access.personal) return access.isCreator;
  return allows(clusterRights[action], access.teamRole, access.isCreator);
}

/** What the overview offers; the actions (extend, terminal, delete) are shown to everyone
 * who sees the cluster, disabled with the reason when not allowed (clusterWhyNot). */
export const cluster = {
  /** The kubeconfig that reaches the cluster through the gateway's proxy, as the role allows. */
  kubeconfig: (a: ClusterAccess) => mayOnCluster("proxy", a),
  /** The raw cluster-admin kubeconfig: break-glass, audited. */
  adminKubeconfig: (a: ClusterAccess) => mayOnCluster("admin_kubeconfig", a),
};

// Why a control is disabled, in words: the role that may, and whom to ask. The same table
// decides; these only explain it.
const PLURAL: Record<Role, string> = { viewer: "Viewers", member: "Members", admin: "Admins", owner: "Owners" };

/** Who can change it: an owner for what only owners do, else an admin (who grants roles). */
function askFor(minimum: Role, teamName: string): string {
  return `ask ${minimum === "owner" ? "an owner" : "an admin"} of team ${teamName}`;
}

/** "Viewers cannot invite people — ask an admin of team platform", or null when `role` may. */
function teamDenial(action: TeamAction, what: string) {
  return (role: Role | null | undefined, teamName: string): string | null => {
    if (allows(teamRights[action], role) || !role) return null;
    return `${PLURAL[role]} cannot ${what} — ${askFor(teamRights[action].minimum, teamName)}.`;
  };
}

export const teamWhyNot = {
  invite: teamDenial("invite", "invite people or see pending invitations"),
  deleteTeam: teamDenial("delete", "delete the team"),
  createClusters: teamDenial("create_clusters", "create clusters"),
};

function clusterDenial(action: ClusterAction, what: string) {
  return (access: ClusterAccess, teamName: string | undefined): string | null => {
    if (mayOnCluster(action, access)) return null;
    if (access.personal) return "Only its creator can use a personal cluster.";
    if (!access.teamRole) return `Only members of this cluster's team can ${what}.`;
    const right = clusterRights[action];
    // A creator's extra right explains itself: members may delete what they created.
    const others = right.creator && atLeast(access.teamRole, right.creator) && !access.isCreator ? " they did not create" : "";
    return `${PLURAL[access.teamRole]} cannot ${what}${others} — ${askFor(right.minimum, teamName ?? "this cluster's team")}.`;
  };
}

export const clusterWhyNot = {
  delete: clusterDenial("delete", "delete clusters"),
  extend: clusterDenial("use", "extend clusters"),
  terminal: clusterDenial("use", "open a terminal"),
};
