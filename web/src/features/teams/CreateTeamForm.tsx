import { Button, Group, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { useNavigate } from "react-router";
import { showFormError } from "../../components/formErrors";
import { notifySuccess } from "../../components/notify";
import { dnsLabelError } from "../../validation";
import { useCreateTeamMutation } from "./teamsApi";

export function CreateTeamForm() {
  const [createTeam, { isLoading }] = useCreateTeamMutation();
  const navigate = useNavigate();
  const form = useForm({
    validateInputOnChange: true,
    initialValues: { name: "", display_name: "" },
    validate: { name: (v) => dnsLabelError(v) },
  });
  const submit = form.onSubmit(async (values) => {
    const result = await createTeam({ name: values.name, display_name: values.display_name.trim() || null });
    if (result.error) {
      showFormError(form, result.error);
    } else if (result.data) {
      notifySuccess(`Team ${result.data.name} created`);
      form.reset();
      navigate(`/teams/${result.data.id}`);
    }
  });
  return (
    <form onSubmit={submit} noValidate aria-label="Create a team">
      <Group align="flex-start" wrap="wrap">
        <TextInput label="Team name" placeholder="platform" {...form.getInputProps("name")} w={220} />
        <TextInput label="Display name (optional)" {...form.getInputProps("display_name")} w={220} />
        <Button type="submit" mt={25} loading={isLoading}>
          Create team
        </Button>
      </Group>
    </form>
  );
}
