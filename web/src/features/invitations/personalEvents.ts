// Team events that concern the signed-in person (the gateway's stream sends them to that
// person alone): invited, invitation revoked, role changed, removed from a team.
import { notifications } from "@mantine/notifications";
import type { AppDispatch, RootState } from "../../store";
import { baseApi } from "../../api/baseApi";
import { teamsApi } from "../teams/teamsApi";

export const PERSONAL_EVENT_PREFIX = "io.pyk8s.team.";

export interface PersonalEvent {
  type: string;
  subject?: string | null;
  data: {
    team_id: string;
    user_id: string;
    team_name?: string;
    role?: string;
    by?: string;
  };
}

function teamName(state: RootState, event: PersonalEvent): string {
  // Whichever of my team lists is cached: every team (selects, names) or the teams page's pages.
  const all = teamsApi.endpoints.listAllTeams.select()(state).data ?? [];
  const paged = (teamsApi.endpoints.listTeams.select()(state).data?.pages ?? []).flatMap((page) => page.teams);
  const known = [...all, ...paged].find((t) => t.id === event.data.team_id);
  return event.data.team_name ?? known?.display_name ?? known?.name ?? "a team";
}

function tell(title: string, message: string): void {
  notifications.show({ color: "blue", title, message, autoClose: 8000 });
}

/** Refreshes what the event changed and tells the person. */
export function applyPersonalEvent(event: PersonalEvent) {
  return (dispatch: AppDispatch, getState: () => RootState) => {
    const name = teamName(getState(), event);
    const team = event.data.team_id;
    const teamTags = [
      { type: "Team" as const, id: "LIST" },
      { type: "Team" as const, id: team },
      { type: "Member" as const },
      { type: "Cluster" as const, id: "LIST" },
    ];
    switch (event.type.slice(PERSONAL_EVENT_PREFIX.length)) {
      case "invitation.created":
        dispatch(baseApi.util.invalidateTags(["MyInvitation"]));
        tell("New invitation", `You are invited to join ${name} as ${event.data.role}`);
        break;
      case "invitation.revoked":
        dispatch(baseApi.util.invalidateTags(["MyInvitation"]));
        tell("Invitation withdrawn", `Your invitation to ${name} was revoked`);
        break;
      case "member.role_changed":
        dispatch(baseApi.util.invalidateTags(teamTags));
        tell("Role changed", `You are now ${event.data.role} in ${name}`);
        break;
      case "member.removed":
        dispatch(baseApi.util.invalidateTags(teamTags));
        if (event.data.by !== event.data.user_id) tell("Removed from a team", `You were removed from ${name}`);
        break;
    }
  };
}
