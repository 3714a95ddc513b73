import { Alert, Button, Group, Stack, Text } from "@mantine/core";
import type { Invitation } from "../../api/types";
import { RoleBadge } from "../../components/RoleBadge";
import { notifySuccess } from "../../components/notify";
import { useAcceptInvitationMutation, useDeclineInvitationMutation, useMyInvitationsQuery } from "./invitationsApi";

/** Invitations addressed to me, with accept and decline; nothing when there are none. */
export function MyInvitations() {
  // New and revoked invitations arrive on the event stream (personalEvents.ts); focus also
  // reads them again, for what happened while the stream was down.
  const { data: invitations = [] } = useMyInvitationsQuery(undefined, { refetchOnFocus: true });
  if (invitations.length === 0) return null;
  return (
    <Alert color="blue" title="Invitations for you" aria-label="Invitations for you">
      <Stack gap="xs">
        {invitations.map((inv) => (
          <InvitationRow key={inv.id} invitation={inv} />
        ))}
      </Stack>
    </Alert>
  );
}

function InvitationRow({ invitation }: { invitation: Invitation }) {
  const [accept, acceptState] = useAcceptInvitationMutation();
  const [decline, declineState] = useDeclineInvitationMutation();
  const busy = acceptState.isLoading || declineState.isLoading;
  return (
    <Group justify="space-between" wrap="wrap" data-testid={`invitation-${invitation.id}`}>
      <Group gap="xs">
        <Text size="sm">
          Join <b>{invitation.team_name}</b> as
        </Text>
        <RoleBadge role={invitation.role} />
        {invitation.invited_by_email && <Text size="sm">invited by {invitation.invited_by_email}</Text>}
      </Group>
      <Group gap="xs">
        <Button
          size="xs"
          loading={acceptState.isLoading}
          disabled={busy}
          onClick={async () => {
            const result = await accept(invitation.id);
            if (!("error" in result)) notifySuccess(`You joined ${invitation.team_name}`);
          }}
        >
          Accept
        </Button>
        <Button size="xs" variant="default" loading={declineState.isLoading} disabled={busy} onClick={() => void decline(invitation.id)}>
          Decline
        </Button>
      </Group>
    </Group>
  );
}
