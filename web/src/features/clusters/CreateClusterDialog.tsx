import { Button, Group, Modal, NumberInput, SegmentedControl, Select, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useId } from "react";
import { useNavigate } from "react-router";
import type { Provider } from "../../api/types";
import { showFormError } from "../../components/formErrors";
import { notifySuccess } from "../../components/notify";
import { teamWhyNot } from "../../permissions";
import { dnsLabelError } from "../../validation";
import { useListTeamsQuery } from "../teams/teamsApi";
import { useCreateClusterMutation } from "./clustersApi";

const PERSONAL = "";
const PROVIDERS: { value: Provider; label: string }[] = [
  { value: "kind", label: "kind" },
  { value: "k3d", label: "k3d" },
  { value: "kwok", label: "kwok" },
];

interface Props {
  opened: boolean;
  onClose: () => void;
}

interface Values {
  name: string;
  provider: Provider;
  kubernetes_version: string;
  workers: number | string;
  ttl_hours: number | string;
  team_id: string;
}

export function CreateClusterDialog({ opened, onClose }: Props) {
  const { data: teams = [] } = useListTeamsQuery();
  const [createCluster, { isLoading }] = useCreateClusterMutation();
  const navigate = useNavigate();
  const providerLabel = useId();
  // Teams where my role cannot create clusters are listed too, disabled, with the reason.
  const teamChoices = [
    { value: PERSONAL, label: "Personal (only me)" },
    ...teams.map((t) => {
      const whyNot = teamWhyNot.createClusters(t.role, t.name);
      const name = t.display_name || t.name;
      return { value: t.id, label: whyNot ? `${name} (${t.role}: cannot create clusters)` : name, disabled: whyNot !== null };
    }),
  ];
  const reasons = teams.map((t) => teamWhyNot.createClusters(t.role, t.name)).filter((why) => why !== null);
  const form = useForm<Values>({
    validateInputOnChange: true,
    initialValues: { name: "", provider: "kind", kubernetes_version: "", workers: 0, ttl_hours: 4, team_id: PERSONAL },
    validate: {
      name: (v) => dnsLabelError(v, 40),
      kubernetes_version: (v) => (!v.trim() || /^v?1\.\d{1,2}\.\d{1,2}$/.test(v.trim()) ? null : "A version like v1.31.0"),
      workers: (v) => (Number.isInteger(Number(v)) && Number(v) >= 0 && Number(v) <= 5 ? null : "0 to 5 workers"),
      ttl_hours: (v) => (Number.isInteger(Number(v)) && Number(v) >= 1 ? null : "At least 1 hour"),
    },
  });

  const close = () => {
    form.reset();
    onClose();
  };

  const submit = form.onSubmit(async (values) => {
    const version = values.kubernetes_version.trim();
    const result = await createCluster({
      name: values.name,
      provider: values.provider,
      team_id: values.team_id || null,
      kubernetes_version: version ? (version.startsWith("v") ? version : `v${version}`) : null,
      workers: Number(values.workers),
      ttl_hours: Number(values.ttl_hours),
    });
    if (result.error) {
      showFormError(form, result.error);
    } else if (result.data) {
      notifySuccess(`Cluster ${result.data.name} is being created`);
      close();
      navigate(`/clusters/${result.data.id}`);
    }
  });

  return (
    <Modal opened={opened} onClose={close} title="New cluster" centered size="md">
      <form onSubmit={submit} noValidate aria-label="Create cluster">
        <Stack>
          <TextInput label="Name" placeholder="dev" data-autofocus {...form.getInputProps("name")} />
          <div>
            <Text id={providerLabel} size="sm" fw={500} mb={4}>
              Provider
            </Text>
            <SegmentedControl
              fullWidth
              aria-labelledby={providerLabel}
              data={PROVIDERS}
              {...form.getInputProps("provider")}
            />
            {form.values.provider === "kwok" && (
              <Text size="xs" c="dimmed" mt={4}>
                Simulated nodes: pods are scheduled but never run. For the Kubernetes API, controllers and manifests.
              </Text>
            )}
          </div>
          <TextInput
            label="Kubernetes version"
            placeholder="provider default"
            {...form.getInputProps("kubernetes_version")}
          />
          <Group grow>
            <NumberInput label="Workers" min={0} max={5} allowDecimal={false} {...form.getInputProps("workers")} />
            <NumberInput label="Time to live (hours)" min={1} allowDecimal={false} {...form.getInputProps("ttl_hours")} />
          </Group>
          <Select
            label="Team"
            description={reasons.length > 0 ? reasons.join(" ") : undefined}
            allowDeselect={false}
            data={teamChoices}
            {...form.getInputProps("team_id")}
          />
          <Group justify="flex-end">
            <Button variant="default" onClick={close}>
              Cancel
            </Button>
            <Button type="submit" loading={isLoading}>
              Create
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
