import { ActionIcon, Group, Select, Table, Text, Tooltip } from "@mantine/core";
import { modals } from "@mantine/modals";
import type { Member, Role } from "../../api/types";
import { RoleBadge } from "../../components/RoleBadge";
import { StackedCell, StackedTable } from "../../components/StackedTable";
import { canManageMember, team as can } from "../../permissions";
import { useRemoveMemberMutation, useSetMemberRoleMutation } from "./teamsApi";

interface Props {
  teamId: string;
  members: Member[];
  myRole: Role;
  myId?: string;
}

export function MemberList({ teamId, members, myRole, myId }: Props) {
  const [setRole, roleState] = useSetMemberRoleMutation();
  const [remove, removeState] = useRemoveMemberMutation();

  const confirmRemove = (member: Member) =>
    modals.openConfirmModal({
      title: "Remove member",
      children: <Text size="sm">Remove {member.username} from the team?</Text>,
      labels: { confirm: "Remove", cancel: "Cancel" },
      confirmProps: { color: "red" },
      onConfirm: () => void remove({ teamId, userId: member.user_id }),
    });

  return (
    <StackedTable aria-label="Members">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Member</Table.Th>
          <Table.Th>Role</Table.Th>
          <Table.Th />
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {members.map((member) => {
          const manageable = member.user_id !== myId && canManageMember(myRole, member.role);
          return (
            <Table.Tr key={member.user_id} data-testid={`member-${member.username}`}>
              <StackedCell label="Member">
                <Text fw={500}>
                  {member.username}
                  {member.user_id === myId && (
                    <Text span c="dimmed" size="xs" ml={6}>
                      (you)
                    </Text>
                  )}
                </Text>
                {member.display_name && member.display_name !== member.username && (
                  <Text size="xs" c="dimmed">
                    {member.display_name}
                  </Text>
                )}
              </StackedCell>
              <StackedCell label="Role">
                {manageable && can.changeRoles(myRole) ? (
                  <Select
                    aria-label={`Role of ${member.username}`}
                    size="xs"
                    w={120}
                    allowDeselect={false}
                    disabled={roleState.isLoading}
                    data={can.grantable(myRole)}
                    value={member.role}
                    onChange={(role) =>
                      role && role !== member.role && void setRole({ teamId, userId: member.user_id, role: role as Role })
                    }
                  />
                ) : (
                  <RoleBadge role={member.role} />
                )}
              </StackedCell>
              <Table.Td>
                <Group justify="flex-end" gap="xs">
                  {manageable && can.removeMembers(myRole) && (
                    <Tooltip label="Remove from team">
                      <ActionIcon
                        variant="subtle"
                        color="red"
                        aria-label={`Remove ${member.username}`}
                        loading={removeState.isLoading && removeState.originalArgs?.userId === member.user_id}
                        onClick={() => confirmRemove(member)}
                      >
                        ✕
                      </ActionIcon>
                    </Tooltip>
                  )}
                </Group>
              </Table.Td>
            </Table.Tr>
          );
        })}
      </Table.Tbody>
    </StackedTable>
  );
}
