import { Button, Group, Modal, NumberInput, Radio, Select, Stack, Text, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useEffect } from "react";
import { useNavigate } from "react-router";
import type { Provider, ProviderInfo } from "../../api/types";
import { showFormError } from "../../components/formErrors";
import { notifySuccess } from "../../components/notify";
import { teamWhyNot } from "../../permissions";
import { dnsLabelError } from "../../validation";
import { useListAllTeamsQuery } from "../teams/teamsApi";
import { useCreateClusterMutation, useListProvidersQuery } from "./clustersApi";

const PERSONAL = "";

/** The version choices of one provider, its default marked. */
function versionChoices(offer: ProviderInfo | undefined) {
  return (offer?.versions ?? []).map((v) => ({ value: v, label: v === offer?.default_version ? `${v} (default)` : v }));
}

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
  const { data: teams = [] } = useListAllTeamsQuery();
  const [createCluster, { isLoading }] = useCreateClusterMutation();
  const { data: providers = [], isLoading: loadingProviders } = useListProvidersQuery(undefined, { skip: !opened });
  const navigate = useNavigate();
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
      workers: (v) => (Number.isInteger(Number(v)) && Number(v) >= 0 && Number(v) <= 5 ? null : "0 to 5 workers"),
      ttl_hours: (v) => (Number.isInteger(Number(v)) && Number(v) >= 1 ? null : "At least 1 hour"),
    },
  });

  const offerOf = (provider: Provider) => providers.find((p) => p.provider === provider);
  const chooseProvider = (provider: string) => {
    form.setFieldValue("provider", provider as Provider);
    form.setFieldValue("kubernetes_version", offerOf(provider as Provider)?.default_version ?? "");
  };
  // Once the offers arrive: the first available provider, with its default version.
  const { provider: chosen, kubernetes_version: chosenVersion } = form.values;
  useEffect(() => {
    const offer = providers.find((p) => p.provider === chosen);
    if (!offer) return;
    if (!offer.available) {
      const first = providers.find((p) => p.available);
      if (first) chooseProvider(first.provider);
    } else if (!chosenVersion && offer.default_version) {
      form.setFieldValue("kubernetes_version", offer.default_version);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [providers, chosen]);
  const noneAvailable = !loadingProviders && providers.length > 0 && !providers.some((p) => p.available);

  const close = () => {
    form.reset();
    onClose();
  };

  const submit = form.onSubmit(async (values) => {
    const result = await createCluster({
      name: values.name,
      provider: values.provider,
      team_id: values.team_id || null,
      kubernetes_version: values.kubernetes_version || null,
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
          <Radio.Group
            label="Provider"
            description={noneAvailable ? "No provider is available on this server" : undefined}
            value={form.values.provider}
            onChange={chooseProvider}
          >
            <Stack gap={6} mt={4}>
              {(["kind", "k3d", "kwok"] as const).map((provider) => {
                const offer = offerOf(provider);
                const unavailable = offer !== undefined && !offer.available;
                const about = unavailable ? `Not available: ${offer.reason}` : offer?.cli_version && `${provider} ${offer.cli_version}`;
                return (
                  <Radio key={provider} value={provider} label={provider} disabled={unavailable} description={about || undefined} />
                );
              })}
            </Stack>
          </Radio.Group>
          {form.values.provider === "kwok" && (
            <Text size="xs" c="dimmed">
              Simulated nodes: pods are scheduled but never run. For the Kubernetes API, controllers and manifests.
            </Text>
          )}
          <Select
            label="Kubernetes version"
            description="The versions this provider offers on this server"
            placeholder={loadingProviders ? "Loading…" : "provider default"}
            allowDeselect={false}
            data={versionChoices(offerOf(form.values.provider))}
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
            <Button type="submit" loading={isLoading} disabled={noneAvailable}>
              Create
            </Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
