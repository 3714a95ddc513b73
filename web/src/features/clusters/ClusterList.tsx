import { Group, Select } from "@mantine/core";
import type { ReactNode } from "react";
import type { ClusterStatus, Provider } from "../../api/types";
import { LoadMore } from "../../components/LoadMore";
import { QueryState } from "../../components/QueryState";
import { useNow } from "../../components/useNow";
import { ClusterTable } from "./ClusterTable";
import { type ClusterFilter, useListClustersInfiniteQuery } from "./clustersApi";

const STATUSES: ClusterStatus[] = [
  "pending",
  "provisioning",
  "ready",
  "unreachable",
  "failed",
  "deleting",
  "deleted",
];
const PROVIDERS: Provider[] = ["kind", "k3d", "kwok"];

interface ListProps {
  filter: ClusterFilter;
  teamNames: Map<string, string>;
  /** Names for the "Created by" column, by user id ("you" for me); others show their id. */
  creators: Map<string, string>;
  /** Shown when no cluster matches. */
  empty: ReactNode;
}

/** The clusters matching `filter`, newest first, a page at a time ("Load more"). */
export function ClusterList({ filter, teamNames, creators, empty }: ListProps) {
  const list = useListClustersInfiniteQuery(filter);
  const now = useNow();
  // Deleted clusters leave the list as their event arrives, unless they are what was asked for.
  const clusters = (list.data?.pages ?? [])
    .flatMap((page) => page.clusters)
    .filter((c) => (filter.status ? c.status === filter.status : c.status !== "deleted"));

  return (
    <QueryState isLoading={list.isLoading} error={list.error} refetch={list.refetch}>
      {clusters.length > 0 ? (
        <>
          <ClusterTable clusters={clusters} teamNames={teamNames} creators={creators} now={now} />
          <LoadMore list={list} what="clusters" />
        </>
      ) : (
        empty
      )}
    </QueryState>
  );
}

interface FiltersProps {
  filter: ClusterFilter;
  onChange: (filter: ClusterFilter) => void;
  teams: { id: string; name: string }[];
}

/** Team, status and provider filters of the cluster list. */
export function ClusterFilters({ filter, onChange, teams }: FiltersProps) {
  return (
    <Group gap="sm" wrap="wrap" mb="sm">
      <Select
        aria-label="Filter by team"
        placeholder="All teams"
        clearable
        data={teams.map((t) => ({ value: t.id, label: t.name }))}
        value={filter.team_id ?? null}
        onChange={(value) => onChange({ ...filter, team_id: value ?? undefined })}
        w={180}
      />
      <Select
        aria-label="Filter by status"
        placeholder="Any status"
        clearable
        data={STATUSES}
        value={filter.status ?? null}
        onChange={(value) => onChange({ ...filter, status: (value as ClusterStatus | null) ?? undefined })}
        w={160}
      />
      <Select
        aria-label="Filter by provider"
        placeholder="Any provider"
        clearable
        data={PROVIDERS}
        value={filter.provider ?? null}
        onChange={(value) => onChange({ ...filter, provider: (value as Provider | null) ?? undefined })}
        w={160}
      />
    </Group>
  );
}
