// Applies cluster lifecycle events (CloudEvents from the gateway's stream) to the cache.
import type { ClusterStatus } from "../../api/types";
import type { AppDispatch, RootState } from "../../store";
import { clustersApi } from "./clustersApi";
import { statusChanged } from "./liveSlice";

export interface ClusterEvent {
  id: string;
  type: string;
  time: string;
  subject?: string | null;
  data: {
    id?: string;
    cluster_id?: string;
    status?: ClusterStatus;
    status_message?: string | null;
    expires_at?: string | null;
    deleted_by?: string | null;
    [key: string]: unknown;
  };
}

const STATUS_BY_VERB: Record<string, ClusterStatus> = {
  created: "pending",
  provisioning: "provisioning",
  ready: "ready",
  deleting: "deleting",
  failed: "failed",
  deleted: "deleted",
  expired: "deleted",
  unreachable: "unreachable",
};

export function statusOf(event: ClusterEvent): ClusterStatus | undefined {
  const verb = event.type.split(".").pop() ?? "";
  return event.data.status ?? STATUS_BY_VERB[verb];
}

export function applyClusterEvent(dispatch: AppDispatch, event: ClusterEvent): void {
  const clusterId = event.data.cluster_id ?? event.data.id ?? event.subject ?? undefined;
  const status = statusOf(event);
  if (!clusterId || !status) return;
  const message = event.data.status_message ?? null;
  dispatch(statusChanged({ clusterId, change: { eventId: event.id, status, time: event.time, message } }));

  let known = false;
  // Every cached list (each filter: the dashboard's, a team page's), every loaded page.
  dispatch((dispatchAgain: AppDispatch, getState: () => RootState) => {
    for (const filter of clustersApi.util.selectCachedArgsForQuery(getState(), "listClusters")) {
      dispatchAgain(
        clustersApi.util.updateQueryData("listClusters", filter, (data) => {
          const cluster = data.pages.flatMap((page) => page.clusters).find((c) => c.id === clusterId);
          if (!cluster) return;
          known = true;
          Object.assign(cluster, patchFor(status, message, event));
        }),
      );
    }
  });
  dispatch(
    clustersApi.util.updateQueryData("getCluster", clusterId, (cluster) => {
      Object.assign(cluster, patchFor(status, message, event));
    }),
  );
  if (!known && status !== "deleted") {
    // A cluster we have not listed yet (created elsewhere, or a team we just joined).
    dispatch(clustersApi.util.invalidateTags([{ type: "Cluster", id: "LIST" }]));
  }
}

function patchFor(status: ClusterStatus, message: string | null, event: ClusterEvent) {
  const patch: {
    status: ClusterStatus;
    status_message: string | null;
    ready_at?: string;
    expires_at?: string;
    deleted_by?: string;
    endpoint?: null;
    api_server?: null;
  } = { status, status_message: message };
  if (status === "ready") patch.ready_at = event.time;
  if (status === "deleting" || status === "deleted") patch.endpoint = null;
  if (status === "deleted") patch.api_server = null;
  if (event.data.deleted_by) patch.deleted_by = event.data.deleted_by;
  if (event.data.expires_at) patch.expires_at = event.data.expires_at;
  return patch;
}
