import { Badge, Button, Group, Paper, Stack, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useMemo, useState } from "react";
import { Link } from "react-router";
import { useAppSelector } from "../../hooks";
import { useCurrentUser } from "../auth/useCurrentUser";
import { MyInvitations } from "../invitations/MyInvitations";
import { useTeamRoles } from "../teams/useTeamRoles";
import { ClusterFilters, ClusterList } from "./ClusterList";
import type { ClusterFilter } from "./clustersApi";
import { CreateClusterDialog } from "./CreateClusterDialog";
import { selectStream } from "./liveSlice";

export function DashboardPage() {
  const [filter, setFilter] = useState<ClusterFilter>({});
  const { teams, names } = useTeamRoles();
  const me = useCurrentUser();
  const creators = useMemo(() => new Map(me.data ? [[me.data.id, "you"]] : []), [me.data]);
  const [creating, dialog] = useDisclosure(false);
  const stream = useAppSelector(selectStream);
  const filtered = Object.values(filter).some(Boolean);

  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <Group gap="sm">
          <Title order={2}>Clusters</Title>
          <Badge variant="dot" color={stream === "live" ? "teal" : stream === "connecting" ? "yellow" : "gray"}>
            {stream === "live" ? "live" : stream === "connecting" ? "connecting" : "offline"}
          </Badge>
        </Group>
        <Button onClick={dialog.open}>New cluster</Button>
      </Group>
      <MyInvitations />
      <Paper withBorder p="md">
        <ClusterFilters filter={filter} onChange={setFilter} teams={teams.data ?? []} />
        <ClusterList
          filter={filter}
          teamNames={names}
          creators={creators}
          empty={<NoClusters filtered={filtered} noTeams={teams.data?.length === 0} onCreate={dialog.open} />}
        />
      </Paper>
      <CreateClusterDialog opened={creating} onClose={dialog.close} />
    </Stack>
  );
}

function NoClusters({ filtered, noTeams, onCreate }: { filtered: boolean; noTeams: boolean; onCreate: () => void }) {
  if (filtered) {
    return (
      <Text c="dimmed" ta="center" py="xl">
        No clusters match these filters.
      </Text>
    );
  }
  return (
    <Stack align="center" py="xl" gap="xs">
      <Text fw={500}>No clusters yet</Text>
      <Text c="dimmed" size="sm" ta="center">
        Create a cluster for yourself or for one of your teams; it appears here and its status updates live.
      </Text>
      <Group>
        <Button onClick={onCreate}>Create a cluster</Button>
        {noTeams && (
          <Button component={Link} to="/teams" variant="default">
            Create a team
          </Button>
        )}
      </Group>
    </Stack>
  );
}
