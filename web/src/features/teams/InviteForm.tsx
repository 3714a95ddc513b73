import { Button, Group, Select, TextInput } from "@mantine/core";
import { useForm } from "@mantine/form";
import { modals } from "@mantine/modals";
import type { Role } from "../../api/types";
import { showFormError } from "../../components/formErrors";
import { notifySuccess } from "../../components/notify";
import { team as can } from "../../permissions";
import { InvitationLink, invitationLink } from "./InvitationLink";
import { useInviteMutation } from "./teamsApi";

interface Props {
  teamId: string;
  myRole: Role;
}

export function InviteForm({ teamId, myRole }: Props) {
  const [invite, { isLoading }] = useInviteMutation();
  const form = useForm({
    initialValues: { login: "", role: "member" as Role },
    validate: {
      login: (v) => {
        const login = v.trim();
        if (!login) return "Enter a username or an email address";
        if (login.length > 254) return "At most 254 characters";
        if (login.includes("@")) {
          return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(login) ? null : "Not a valid email address";
        }
        return /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(login) ? null : "Not a valid username";
      },
    },
  });
  const submit = form.onSubmit(async (values) => {
    const result = await invite({ teamId, login: values.login.trim(), role: values.role });
    if (result.error) {
      showFormError(form, result.error);
      return;
    }
    if (!result.data) return;
    const { token, email } = result.data;
    if (token && email) {
      modals.open({ title: "Invitation link", children: <InvitationLink link={invitationLink(token, email)} email={email} /> });
    } else {
      notifySuccess(`Invitation sent to ${values.login.trim()}`);
    }
    form.reset();
  });
  return (
    <form onSubmit={submit} noValidate aria-label="Invite member">
      <Group align="flex-start" wrap="wrap">
        <TextInput label="Username or email" w={240} {...form.getInputProps("login")} />
        <Select
          label="Role"
          w={140}
          allowDeselect={false}
          data={can.grantable(myRole)}
          {...form.getInputProps("role")}
        />
        <Button type="submit" mt={25} loading={isLoading}>
          Invite member
        </Button>
      </Group>
    </form>
  );
}
