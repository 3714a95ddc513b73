import { Badge, Loader } from "@mantine/core";
import type { ClusterStatus } from "../api/types";

const COLOR: Record<ClusterStatus, string> = {
  pending: "gray",
  provisioning: "blue",
  ready: "teal",
  failed: "red",
  deleting: "orange",
  deleted: "dark",
  unreachable: "yellow",
};

export function StatusBadge({ status }: { status: ClusterStatus }) {
  const busy = status === "pending" || status === "provisioning" || status === "deleting";
  return (
    <Badge
      color={COLOR[status]}
      variant="light"
      leftSection={busy ? <Loader size={10} color={COLOR[status]} /> : undefined}
      data-testid="cluster-status"
    >
      {status}
    </Badge>
  );
}
