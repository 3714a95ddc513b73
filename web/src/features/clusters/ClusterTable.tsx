import { Anchor, Table, Text, Tooltip } from "@mantine/core";
import { Link } from "react-router";
import type { Cluster } from "../../api/types";
import { StackedCell, StackedTable } from "../../components/StackedTable";
import { StatusBadge } from "../../components/StatusBadge";
import { age, timeLeft } from "../../time";

interface Props {
  clusters: Cluster[];
  teamNames: Map<string, string>;
  /** Names by user id for the "Created by" column; a creator not in it shows as a short id. */
  creators: Map<string, string>;
  now: number;
}

export function ClusterTable({ clusters, teamNames, creators, now }: Props) {
  return (
    <StackedTable highlightOnHover aria-label="Clusters" verticalSpacing="sm">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Name</Table.Th>
          <Table.Th>Status</Table.Th>
          <Table.Th>Provider</Table.Th>
          <Table.Th>Team</Table.Th>
          <Table.Th>Created by</Table.Th>
          <Table.Th>Age</Table.Th>
          <Table.Th>Time left</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {clusters.map((cluster) => (
          <Table.Tr key={cluster.id} data-testid={`cluster-row-${cluster.name}`}>
            <StackedCell label="Name">
              <Anchor component={Link} to={`/clusters/${cluster.id}`} fw={500}>
                {cluster.name}
              </Anchor>
            </StackedCell>
            <StackedCell label="Status">
              {cluster.status === "failed" && cluster.status_message ? (
                <Tooltip label={cluster.status_message} multiline w={320}>
                  <span>
                    <StatusBadge status={cluster.status} />
                  </span>
                </Tooltip>
              ) : (
                <StatusBadge status={cluster.status} />
              )}
            </StackedCell>
            <StackedCell label="Provider">
              {cluster.provider}
              {cluster.kubernetes_version && (
                <Text span c="dimmed" size="xs" ml={4}>
                  {cluster.kubernetes_version}
                </Text>
              )}
            </StackedCell>
            <StackedCell label="Team">{cluster.team_id ? (teamNames.get(cluster.team_id) ?? "team") : <Text span c="dimmed">personal</Text>}</StackedCell>
            <StackedCell label="Created by">
              {creators.get(cluster.owner_id) ?? (
                <Text span title={cluster.owner_id} ff="monospace" size="xs">
                  {cluster.owner_id.slice(0, 8)}
                </Text>
              )}
            </StackedCell>
            <StackedCell label="Age">{age(cluster.created_at, now)}</StackedCell>
            <StackedCell label="Time left">{cluster.status === "deleted" ? "—" : timeLeft(cluster.expires_at, now)}</StackedCell>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </StackedTable>
  );
}
