import { Button, Code, Group, Paper, Stack, Text, Title } from "@mantine/core";
import { modals } from "@mantine/modals";
import { useId } from "react";
import type { Cluster } from "../../api/types";
import { cluster as can, type ClusterAccess } from "../../permissions";
import { useAdminKubeconfigMutation, useKubeconfigMutation } from "./clustersApi";

/** Hands a text to the browser as a file download. */
function saveFile(name: string, text: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "application/yaml" }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  URL.revokeObjectURL(url);
}

/** The commands that give kubectl this cluster: the CLI merges a kubeconfig that reaches it
 * through the gateway and gets kubectl short-lived tokens from the user's login. */
export function kubectlCommands(cluster: Cluster, origin: string): string[] {
  return [
    `pyk8s login --server ${origin}`,
    `pyk8s cluster kubeconfig ${cluster.id} --merge`,
    `kubectl --context pyk8s-${cluster.name} get nodes`,
  ];
}

export function KubectlAccess({ cluster, access }: { cluster: Cluster; access: ClusterAccess }) {
  const [download, downloadState] = useKubeconfigMutation();
  const [downloadAdmin, adminState] = useAdminKubeconfigMutation();
  const heading = useId();

  const saveKubeconfig = async () => {
    const result = await download(cluster.id);
    if (result.data) saveFile(`${cluster.name}.kubeconfig.yaml`, result.data.kubeconfig);
  };

  const confirmAdmin = () =>
    modals.openConfirmModal({
      title: "Download the admin kubeconfig?",
      children: (
        <Stack gap="xs">
          <Text size="sm">
            This is the cluster&apos;s break-glass <b>cluster-admin</b> credential. It bypasses the team roles and
            stays valid for the cluster&apos;s whole life: keep it private.
          </Text>
          <Text size="sm">The download is recorded in the audit log.</Text>
        </Stack>
      ),
      labels: { confirm: "Download admin kubeconfig", cancel: "Cancel" },
      confirmProps: { color: "red" },
      onConfirm: async () => {
        const result = await downloadAdmin(cluster.id);
        if (result.data) saveFile(`${cluster.name}.admin.kubeconfig.yaml`, result.data.kubeconfig);
      },
    });

  return (
    <Paper withBorder p="md" component="section" aria-labelledby={heading}>
      <Stack gap="sm">
        <Title order={5} id={heading}>
          Use with kubectl
        </Title>
        <Text size="sm">
          With the pyk8s CLI on your PATH, merge the cluster into your kubeconfig and use its context. kubectl then
          reaches the cluster through this platform, as your team role allows; the kubeconfig holds no secret, the
          CLI gives kubectl short-lived tokens from your login.
        </Text>
        <Code block aria-label="kubectl commands">
          {kubectlCommands(cluster, window.location.origin).join("\n")}
        </Code>
        <Group gap="xs">
          <Button variant="default" onClick={saveKubeconfig} loading={downloadState.isLoading}>
            Download kubeconfig
          </Button>
          {can.adminKubeconfig(access) && (
            <Button color="red" variant="subtle" onClick={confirmAdmin} loading={adminState.isLoading}>
              Download admin kubeconfig (break-glass, audited)
            </Button>
          )}
        </Group>
      </Stack>
    </Paper>
  );
}
