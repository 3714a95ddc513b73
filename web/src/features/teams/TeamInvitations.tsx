import { ActionIcon, Table, Text, Tooltip } from "@mantine/core";
import type { Invitation } from "../../api/types";
import { RoleBadge } from "../../components/RoleBadge";
import { StackedCell, StackedTable } from "../../components/StackedTable";
import { timeLeft } from "../../time";
import { useRevokeInvitationMutation } from "./teamsApi";

export function TeamInvitations({ teamId, invitations }: { teamId: string; invitations: Invitation[] }) {
  const [revoke, { isLoading, originalArgs }] = useRevokeInvitationMutation();
  if (invitations.length === 0) {
    return (
      <Text c="dimmed" size="sm">
        No pending invitations.
      </Text>
    );
  }
  return (
    <StackedTable aria-label="Pending invitations">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Invited</Table.Th>
          <Table.Th>Role</Table.Th>
          <Table.Th>Expires in</Table.Th>
          <Table.Th />
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {invitations.map((inv) => (
          <Table.Tr key={inv.id}>
            <StackedCell label="Invited">{invitee(inv)}</StackedCell>
            <StackedCell label="Role">
              <RoleBadge role={inv.role} />
            </StackedCell>
            <StackedCell label="Expires in">{timeLeft(inv.expires_at)}</StackedCell>
            <Table.Td align="right">
              <Tooltip label="Revoke invitation">
                <ActionIcon
                  variant="subtle"
                  color="red"
                  aria-label={`Revoke invitation for ${invitee(inv)}`}
                  loading={isLoading && originalArgs?.invitationId === inv.id}
                  onClick={() => void revoke({ teamId, invitationId: inv.id })}
                >
                  ✕
                </ActionIcon>
              </Tooltip>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </StackedTable>
  );
}

function invitee(inv: Invitation): string {
  return inv.invitee_username ?? inv.email ?? "unknown";
}
