import { useMemo } from "react";
import type { Role } from "../../api/types";
import { useListTeamsQuery } from "./teamsApi";

/** My role in each of my teams, by team id. */
export function useTeamRoles() {
  const teams = useListTeamsQuery();
  const roles = useMemo(() => new Map<string, Role>((teams.data ?? []).map((t) => [t.id, t.role])), [teams.data]);
  const names = useMemo(() => new Map<string, string>((teams.data ?? []).map((t) => [t.id, t.name])), [teams.data]);
  return { teams, roles, names };
}
