import { Anchor, Table, Text } from "@mantine/core";
import { Link } from "react-router";
import type { Team } from "../../api/types";
import { RoleBadge } from "../../components/RoleBadge";

export function TeamList({ teams }: { teams: Team[] }) {
  if (teams.length === 0) {
    return (
      <Text c="dimmed" py="md">
        You are not in any team yet. Create one, or accept an invitation.
      </Text>
    );
  }
  return (
    <Table.ScrollContainer minWidth={360}>
      <Table highlightOnHover aria-label="My teams">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Team</Table.Th>
            <Table.Th>My role</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {teams.map((team) => (
            <Table.Tr key={team.id}>
              <Table.Td>
                <Anchor component={Link} to={`/teams/${team.id}`}>
                  {team.display_name || team.name}
                </Anchor>
                {team.display_name && team.display_name !== team.name && (
                  <Text span c="dimmed" size="sm" ml="xs">
                    {team.name}
                  </Text>
                )}
              </Table.Td>
              <Table.Td>
                <RoleBadge role={team.role} />
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Table.ScrollContainer>
  );
}
