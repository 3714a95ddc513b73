import { useMemo } from "react";
import type { Role } from "../../api/types";
import { useListAllTeamsQuery } from "./teamsApi";

/** My role in each of my teams, by team id: every team, not a page of them. */
export function useTeamRoles() {
  const teams = useListAllTeamsQuery();
  const roles = useMemo(() => new Map<string, Role>((teams.data ?? []).map((t) => [t.id, t.role])), [teams.data]);
  const names = useMemo(() => new Map<string, string>((teams.data ?? []).map((t) => [t.id, t.name])), [teams.data]);
  return { teams, roles, names };
}
