// What the interface offers to whom. The gateway enforces the same rules (docs/rbac.md);
// these only decide which controls are shown.
import type { Cluster, Role } from "./api/types";

const RANK: Record<Role, number> = { viewer: 0, member: 1, admin: 2, owner: 3 };

export const ROLES: Role[] = ["viewer", "member", "admin", "owner"];

export function atLeast(role: Role | null | undefined, minimum: Role): boolean {
  return role != null && RANK[role] >= RANK[minimum];
}

export const team = {
  invite: (role?: Role | null) => atLeast(role, "admin"),
  seeInvitations: (role?: Role | null) => atLeast(role, "admin"),
  removeMembers: (role?: Role | null) => atLeast(role, "admin"),
  changeRoles: (role?: Role | null) => atLeast(role, "admin"),
  deleteTeam: (role?: Role | null) => role === "owner",
  createClusters: (role?: Role | null) => atLeast(role, "member"),
  /** Roles this person may hand out: admins up to admin, owners any. */
  grantable: (role?: Role | null): Role[] =>
    role === "owner" ? ROLES : atLeast(role, "admin") ? ROLES.filter((r) => r !== "owner") : [],
};

/** Whether `role` may change or remove a member who holds `target`. */
export function canManageMember(role: Role | null | undefined, target: Role): boolean {
  if (!atLeast(role, "admin")) return false;
  return target !== "owner" || role === "owner";
}

export interface ClusterAccess {
  isCreator: boolean;
  teamRole: Role | null;
}

export function clusterAccess(cluster: Cluster, userId: string | undefined, teamRoles: Map<string, Role>): ClusterAccess {
  return {
    isCreator: userId != null && cluster.owner_id === userId,
    teamRole: cluster.team_id ? (teamRoles.get(cluster.team_id) ?? null) : null,
  };
}

export const cluster = {
  delete: (a: ClusterAccess) => a.isCreator || atLeast(a.teamRole, "admin"),
  kubeconfig: (a: ClusterAccess) => a.isCreator || atLeast(a.teamRole, "member"),
  terminal: (a: ClusterAccess) => a.isCreator || atLeast(a.teamRole, "member"),
  extend: (a: ClusterAccess) => a.isCreator || atLeast(a.teamRole, "member"),
};
