import { Alert, Button, Group, NumberInput, Paper, SimpleGrid, Stack, Tabs, Text, Timeline, Title } from "@mantine/core";
import { modals } from "@mantine/modals";
import { lazy, Suspense, useEffect, useId, useRef, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import type { Cluster } from "../../api/types";
import { ExplainedButton } from "../../components/ExplainedButton";
import { NotFound } from "../../components/NotFound";
import { notifySuccess } from "../../components/notify";
import { QueryState } from "../../components/QueryState";
import { RoleBadge } from "../../components/RoleBadge";
import { StatusBadge } from "../../components/StatusBadge";
import { useNow } from "../../components/useNow";
import { useAppDispatch, useAppSelector } from "../../hooks";
import { cluster as can, clusterAccess, clusterWhyNot, type ClusterAccess } from "../../permissions";
import { age, timeLeft } from "../../time";
import { useCurrentUser } from "../auth/useCurrentUser";
import { useTeamRoles } from "../teams/useTeamRoles";
import { clustersApi, useDeleteClusterMutation, useExtendClusterMutation, useGetClusterQuery } from "./clustersApi";
import { KubectlAccess } from "./KubectlAccess";
import { selectHistory } from "./liveSlice";

const TerminalTab = lazy(() => import("../terminal/TerminalTab"));

export function ClusterPage() {
  const { clusterId = "" } = useParams();
  const cluster = useGetClusterQuery(clusterId);
  const me = useCurrentUser();
  const { roles, names } = useTeamRoles();
  const status = cluster.data?.status;
  const { refetch } = cluster;
  // Events carry the status only; read the cluster again for what becoming ready filled in
  // (endpoint, ready time), and for who deleted it.
  const previous = useRef(status);
  useEffect(() => {
    const was = previous.current;
    previous.current = status;
    if (!was || was === status) return;
    if (status === "ready" || (status === "deleting" && was !== "deleted") || (status === "deleted" && was !== "deleting")) {
      void refetch();
    }
  }, [status, refetch]);

  return (
    <QueryState
      isLoading={cluster.isLoading}
      error={cluster.error}
      refetch={cluster.refetch}
      notFound={
        <NotFound
          title="Cluster not found"
          text="There is no such cluster, or it is not yours or your team's to see."
          back={{ to: "/", label: "Back to clusters" }}
        />
      }
    >
      {cluster.data && (
        <ClusterView
          cluster={cluster.data}
          access={clusterAccess(cluster.data, me.data?.id, roles)}
          me={me.data?.id}
          teamName={cluster.data.team_id ? names.get(cluster.data.team_id) : undefined}
        />
      )}
    </QueryState>
  );
}

interface ViewProps {
  cluster: Cluster;
  access: ClusterAccess;
  teamName?: string;
  /** The signed-in user's id. */
  me?: string;
}

/** Why the Terminal tab is disabled, or null when it can be opened. */
function terminalWhyNot(cluster: Cluster, access: ClusterAccess, teamName?: string): string | null {
  return (
    clusterWhyNot.terminal(access, teamName) ??
    (cluster.status === "ready" ? null : "The terminal is available when the cluster is ready.")
  );
}

export function ClusterView({ cluster, access, teamName, me }: ViewProps) {
  const [tab, setTab] = useState<string | null>("overview");
  const terminalNote = useId();
  // The tab shows while the cluster is or will be ready (disabled until then); it goes away
  // when the cluster fails or is deleted, and the page falls back to the overview (the
  // notice below says why, and that the session ended).
  const terminalShown = cluster.status === "pending" || cluster.status === "provisioning" || cluster.status === "ready";
  const terminalBlocked = terminalWhyNot(cluster, access, teamName);
  const terminalAllowed = terminalShown && terminalBlocked === null;
  const current = tab === "terminal" && !terminalAllowed ? "overview" : tab;
  const inTerminal = tab === "terminal";
  return (
    <Stack>
      <Group justify="space-between" wrap="wrap">
        <div>
          <Group gap="sm">
            <Title order={2}>{cluster.name}</Title>
            <StatusBadge status={cluster.status} />
          </Group>
          <MyRole access={access} teamName={teamName} />
        </div>
        <ClusterActions cluster={cluster} access={access} teamName={teamName} />
      </Group>
      {(cluster.status === "deleting" || cluster.status === "deleted") && (
        <DeletedNotice cluster={cluster} sessionEnded={inTerminal && !terminalAllowed} me={me} />
      )}
      {cluster.status === "failed" && (
        <Alert color="red" title="Provisioning failed">
          <Text size="sm" style={{ whiteSpace: "pre-wrap" }}>
            {cluster.status_message ?? "No reason was recorded."}
          </Text>
        </Alert>
      )}
      <Tabs value={current} onChange={setTab} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="overview">Overview</Tabs.Tab>
          {terminalShown && (
            <Tabs.Tab
              value="terminal"
              disabled={!terminalAllowed}
              aria-describedby={terminalBlocked ? terminalNote : undefined}
            >
              Terminal
            </Tabs.Tab>
          )}
        </Tabs.List>
        {terminalShown && terminalBlocked && (
          <Text id={terminalNote} size="sm" c="dimmed" mt="xs">
            {terminalBlocked}
          </Text>
        )}
        <Tabs.Panel value="overview" pt="md">
          <Stack>
            <Overview cluster={cluster} teamName={teamName} />
            {can.kubeconfig(access) && cluster.status === "ready" && <KubectlAccess cluster={cluster} access={access} />}
          </Stack>
        </Tabs.Panel>
        {terminalAllowed && (
          <Tabs.Panel value="terminal" pt="md">
            <Suspense fallback={<Text c="dimmed">Loading terminal…</Text>}>
              <TerminalTab clusterId={cluster.id} />
            </Suspense>
          </Tabs.Panel>
        )}
      </Tabs>
    </Stack>
  );
}

/** Who deleted the cluster (when someone else did, by their e-mail), that a terminal session
 * on it ended, and the way back to the list. */
function DeletedNotice({ cluster, sessionEnded, me }: { cluster: Cluster; sessionEnded: boolean; me?: string }) {
  const gone = cluster.status === "deleted" ? "was deleted" : "is being deleted";
  const who = !cluster.deleted_by
    ? " (its time ran out)"
    : cluster.deleted_by === me
      ? " by you"
      : ` by ${cluster.deleted_by_email ?? "another member"}`;
  return (
    <Alert color="orange" title={`This cluster ${gone}${who}`} role="status">
      <Stack gap="xs" align="flex-start">
        {sessionEnded && <Text size="sm">Your terminal session on it has ended.</Text>}
        <Button component={Link} to="/" size="xs" variant="default">
          Back to clusters
        </Button>
      </Stack>
    </Alert>
  );
}

function Overview({ cluster, teamName }: { cluster: Cluster; teamName?: string }) {
  const now = useNow();
  const history = useAppSelector((state) => selectHistory(state, cluster.id)) ?? [];
  const facts: [string, string][] = [
    ["Provider", cluster.provider],
    ["Kubernetes", cluster.kubernetes_version ?? "provider default"],
    ["Workers", String(cluster.workers)],
    ["Team", cluster.team_id ? (teamName ?? "team") : "personal"],
    ["Age", age(cluster.created_at, now)],
    ["Time left", cluster.status === "deleted" ? "—" : timeLeft(cluster.expires_at, now)],
    ["Kubernetes API", cluster.endpoint ?? "—"],
  ];
  const steps = [
    { label: "created", time: cluster.created_at, message: null as string | null },
    ...(cluster.ready_at ? [{ label: "ready", time: cluster.ready_at, message: null }] : []),
    ...history
      .filter((h) => !(h.status === "ready" && cluster.ready_at) && h.status !== "pending")
      .map((h) => ({ label: h.status, time: h.time, message: h.message })),
  ].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));

  return (
    <SimpleGrid cols={{ base: 1, md: 2 }}>
      <Paper withBorder p="md" aria-label="Cluster facts" role="region">
        <Stack gap={6}>
          {facts.map(([label, value]) => (
            <Group key={label} justify="space-between" wrap="nowrap">
              <Text size="sm" c="dimmed">
                {label}
              </Text>
              <Text size="sm" ta="right" style={{ wordBreak: "break-all" }}>
                {value}
              </Text>
            </Group>
          ))}
        </Stack>
      </Paper>
      <Paper withBorder p="md">
        <Title order={5} mb="sm">
          History
        </Title>
        <Timeline active={steps.length - 1} bulletSize={14} lineWidth={2} aria-label="Status history">
          {steps.map((step) => (
            <Timeline.Item key={`${step.label}-${step.time}`} title={step.label}>
              <Text size="xs" c="dimmed">
                {new Date(step.time).toLocaleString()}
              </Text>
              {step.message && <Text size="xs">{step.message}</Text>}
            </Timeline.Item>
          ))}
        </Timeline>
      </Paper>
    </SimpleGrid>
  );
}

/** "You are viewer in team platform", so that what the page offers makes sense. */
function MyRole({ access, teamName }: { access: ClusterAccess; teamName?: string }) {
  if (access.personal) {
    return (
      <Text size="sm" c="dimmed">
        Personal cluster: only its creator sees it.
      </Text>
    );
  }
  if (!access.teamRole) return null;
  return (
    <Group gap={6} data-testid="my-role">
      <Text size="sm" c="dimmed">
        You are
      </Text>
      <RoleBadge role={access.teamRole} />
      <Text size="sm" c="dimmed">
        in team {teamName ?? "this cluster's team"}
      </Text>
    </Group>
  );
}

function ClusterActions({ cluster, access, teamName }: { cluster: Cluster; access: ClusterAccess; teamName?: string }) {
  const navigate = useNavigate();
  const dispatch = useAppDispatch();
  const [extend, extendState] = useExtendClusterMutation();
  const [remove, removeState] = useDeleteClusterMutation();
  const live = cluster.status !== "deleting" && cluster.status !== "deleted";

  const openExtend = () => {
    let hours = 4;
    modals.openConfirmModal({
      title: "Extend cluster",
      children: (
        <NumberInput
          label="Add hours"
          description="Up to the platform's maximum lifetime"
          defaultValue={hours}
          min={1}
          allowDecimal={false}
          onChange={(v) => (hours = Number(v))}
          data-autofocus
        />
      ),
      labels: { confirm: "Extend", cancel: "Cancel" },
      onConfirm: async () => {
        const result = await extend({ id: cluster.id, hours });
        if ("data" in result) notifySuccess(`${cluster.name} extended by ${hours}h`);
      },
    });
  };

  const confirmDelete = () =>
    modals.openConfirmModal({
      title: "Delete cluster",
      children: (
        <Text size="sm">
          Delete <b>{cluster.name}</b>? Its nodes, workloads and kubeconfig are removed for everyone.
        </Text>
      ),
      labels: { confirm: "Delete cluster", cancel: "Cancel" },
      confirmProps: { color: "red" },
      onConfirm: async () => {
        const result = await remove(cluster.id);
        if (!("error" in result)) {
          notifySuccess(`${cluster.name} is being deleted`);
          // Load the list before going to it, so it shows at once (with this cluster
          // deleting) instead of a spinner: the dashboard opens unfiltered ({}).
          await dispatch(clustersApi.endpoints.listClusters.initiate({}, { subscribe: false, forceRefetch: true }));
          navigate("/");
        }
      },
    });

  return (
    <Group gap="xs">
      {live && (
        <ExplainedButton
          variant="default"
          onClick={openExtend}
          loading={extendState.isLoading}
          whyNot={clusterWhyNot.extend(access, teamName)}
        >
          Extend
        </ExplainedButton>
      )}
      {live && (
        <ExplainedButton
          color="red"
          variant="light"
          onClick={confirmDelete}
          loading={removeState.isLoading}
          whyNot={clusterWhyNot.delete(access, teamName)}
        >
          Delete
        </ExplainedButton>
      )}
    </Group>
  );
}
