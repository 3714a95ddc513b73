import { Badge, Button, Group, Paper, Stack, Text, Title } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { Link } from "react-router";
import { QueryState } from "../../components/QueryState";
import { useNow } from "../../components/useNow";
import { useAppSelector } from "../../hooks";
import { MyInvitations } from "../invitations/MyInvitations";
import { useTeamRoles } from "../teams/useTeamRoles";
import { ClusterTable } from "./ClusterTable";
import { useListClustersQuery } from "./clustersApi";
import { CreateClusterDialog } from "./CreateClusterDialog";
import { selectStream } from "./liveSlice";

export function DashboardPage() {
  const clusters = useListClustersQuery();
  const { teams, names } = useTeamRoles();
  const [creating, dialog] = useDisclosure(false);
  const stream = useAppSelector(selectStream);
  const now = useNow();
  const visible = (clusters.data ?? []).filter((c) => c.status !== "deleted");

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
        <QueryState isLoading={clusters.isLoading} error={clusters.error} refetch={clusters.refetch}>
          {visible.length > 0 ? (
            <ClusterTable clusters={visible} teamNames={names} now={now} />
          ) : (
            <Stack align="center" py="xl" gap="xs">
              <Text fw={500}>No clusters yet</Text>
              <Text c="dimmed" size="sm" ta="center">
                Create a cluster for yourself or for one of your teams; it appears here and its status updates live.
              </Text>
              <Group>
                <Button onClick={dialog.open}>Create a cluster</Button>
                {teams.data?.length === 0 && (
                  <Button component={Link} to="/teams" variant="default">
                    Create a team
                  </Button>
                )}
              </Group>
            </Stack>
          )}
        </QueryState>
      </Paper>
      <CreateClusterDialog opened={creating} onClose={dialog.close} />
    </Stack>
  );
}
