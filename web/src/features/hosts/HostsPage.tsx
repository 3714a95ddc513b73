import { Badge, Button, Group, Stack, Table, Text, Title } from "@mantine/core";
import { modals } from "@mantine/modals";
import type { Host } from "../../api/types";
import { NotFound } from "../../components/NotFound";
import { notifySuccess } from "../../components/notify";
import { QueryState } from "../../components/QueryState";
import { StackedCell, StackedTable } from "../../components/StackedTable";
import { useAppSelector } from "../../hooks";
import { selectIsPlatformAdmin } from "../auth/authSlice";
import { useDrainHostMutation, useListHostsQuery, useUndrainHostMutation } from "./hostsApi";

const MIB = 1024 * 1024;

function mebibytes(bytes: number): string {
  return `${Math.round(bytes / MIB).toLocaleString()} MiB`;
}

/** The pool of Docker hosts, for platform admins; everyone else finds nothing here (the
 * gateway refuses them the list anyway). */
export function HostsPage() {
  const admin = useAppSelector(selectIsPlatformAdmin);
  if (!admin) return <NotFound />;
  return <HostsList />;
}

function HostsList() {
  const hosts = useListHostsQuery();
  return (
    <Stack>
      <Title order={2}>Docker hosts</Title>
      <Text c="dimmed" size="sm">
        Where new clusters are placed. A drained host takes no new clusters; the ones on it keep running.
      </Text>
      <QueryState isLoading={hosts.isLoading} error={hosts.error} refetch={hosts.refetch}>
        {hosts.data && hosts.data.hosts.length === 0 ? (
          <Text>No host announces itself.</Text>
        ) : (
          <StackedTable>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Host</Table.Th>
                <Table.Th>Status</Table.Th>
                <Table.Th>Clusters</Table.Th>
                <Table.Th>Memory</Table.Th>
                <Table.Th>Providers</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {hosts.data?.hosts.map((host) => (
                <HostRow key={host.id} host={host} />
              ))}
            </Table.Tbody>
          </StackedTable>
        )}
      </QueryState>
    </Stack>
  );
}

function HostRow({ host }: { host: Host }) {
  const announced = host.announcement;
  const providers = (announced?.providers ?? []).filter((p) => p.available);
  return (
    <Table.Tr data-testid={`host-${host.id}`}>
      <StackedCell label="Host">
        <Text fw={500}>{host.id}</Text>
        {announced && (
          <Text size="xs" c="dimmed">
            {announced.docker_host}
            {announced.address && ` · API servers at ${announced.address}`}
          </Text>
        )}
      </StackedCell>
      <StackedCell label="Status">
        <Group gap={4}>
          <Badge color={host.reachable ? "teal" : "red"} variant="light">
            {host.reachable ? "Reachable" : "Unreachable"}
          </Badge>
          {host.drained && (
            <Badge color="orange" variant="light">
              Drained
            </Badge>
          )}
        </Group>
      </StackedCell>
      <StackedCell label="Clusters">{announced ? `${host.clusters} of ${announced.max_clusters}` : host.clusters}</StackedCell>
      <StackedCell label="Memory">
        {announced ? `${mebibytes(host.memory_used_bytes)} of ${mebibytes(announced.memory_bytes)}` : mebibytes(host.memory_used_bytes)}
      </StackedCell>
      <StackedCell label="Providers">
        {providers.length === 0
          ? "—"
          : providers.map((p) => (p.kubernetes_versions ? `${p.name} (${p.kubernetes_versions.join(", ")})` : p.name)).join(", ")}
      </StackedCell>
      <StackedCell label="Placement">
        <DrainButton host={host} />
      </StackedCell>
    </Table.Tr>
  );
}

function DrainButton({ host }: { host: Host }) {
  const [drain, draining] = useDrainHostMutation();
  const [undrain, undraining] = useUndrainHostMutation();
  const confirm = () =>
    modals.openConfirmModal({
      title: host.drained ? "Undrain host" : "Drain host",
      children: (
        <Text size="sm">
          {host.drained ? (
            <>
              New clusters may be placed on <b>{host.id}</b> again.
            </>
          ) : (
            <>
              No new cluster is placed on <b>{host.id}</b>. Its {host.clusters} clusters keep running until they are deleted.
            </>
          )}
        </Text>
      ),
      labels: { confirm: host.drained ? "Undrain" : "Drain", cancel: "Cancel" },
      confirmProps: { color: host.drained ? "teal" : "orange" },
      onConfirm: async () => {
        const result = await (host.drained ? undrain(host.id) : drain(host.id));
        if ("data" in result) notifySuccess(`${host.id} ${host.drained ? "takes new clusters again" : "is drained"}`);
      },
    });
  return (
    <Button size="xs" variant="light" color={host.drained ? "teal" : "orange"} loading={draining.isLoading || undraining.isLoading} onClick={confirm}>
      {host.drained ? "Undrain" : "Drain"}
    </Button>
  );
}
