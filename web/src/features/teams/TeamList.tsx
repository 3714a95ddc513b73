import { Anchor, Table, Text } from "@mantine/core";
import { Link } from "react-router";
import type { Team } from "../../api/types";
import { RoleBadge } from "../../components/RoleBadge";
import { StackedCell, StackedTable } from "../../components/StackedTable";

export function TeamList({ teams }: { teams: Team[] }) {
  if (teams.length === 0) {
    return (
      <Text c="dimmed" py="md">
        You are not in any team yet. Create one, or accept an invitation.
      </Text>
    );
  }
  return (
    <StackedTable highlightOnHover aria-label="My teams">
      <Table.Thead>
        <Table.Tr>
          <Table.Th>Team</Table.Th>
          <Table.Th>My role</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {teams.map((team) => (
          <Table.Tr key={team.id}>
            <StackedCell label="Team">
              <Anchor component={Link} to={`/teams/${team.id}`}>
                {team.display_name || team.name}
              </Anchor>
              {team.display_name && team.display_name !== team.name && (
                <Text span c="dimmed" size="sm" ml="xs">
                  {team.name}
                </Text>
              )}
            </StackedCell>
            <StackedCell label="My role">
              <RoleBadge role={team.role} />
            </StackedCell>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </StackedTable>
  );
}
