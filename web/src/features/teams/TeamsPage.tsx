import { Paper, Stack, Title } from "@mantine/core";
import { LoadMore } from "../../components/LoadMore";
import { QueryState } from "../../components/QueryState";
import { MyInvitations } from "../invitations/MyInvitations";
import { CreateTeamForm } from "./CreateTeamForm";
import { TeamList } from "./TeamList";
import { useListTeamsInfiniteQuery } from "./teamsApi";

export function TeamsPage() {
  const teams = useListTeamsInfiniteQuery();
  return (
    <Stack>
      <Title order={2}>Teams</Title>
      <MyInvitations />
      <Paper withBorder p="md">
        <QueryState isLoading={teams.isLoading} error={teams.error} refetch={teams.refetch}>
          <TeamList teams={(teams.data?.pages ?? []).flatMap((page) => page.teams)} />
          <LoadMore list={teams} what="teams" />
        </QueryState>
      </Paper>
      <Paper withBorder p="md">
        <Title order={4} mb="sm">
          New team
        </Title>
        <CreateTeamForm />
      </Paper>
    </Stack>
  );
}
