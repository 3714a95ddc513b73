import { Button, Group, Paper, Stack, Text, Title } from "@mantine/core";
import { modals } from "@mantine/modals";
import { useMemo } from "react";
import { useNavigate, useParams } from "react-router";
import type { Member, Role } from "../../api/types";
import { ExplainedButton } from "../../components/ExplainedButton";
import { LoadMore } from "../../components/LoadMore";
import { NotFound } from "../../components/NotFound";
import { notifySuccess } from "../../components/notify";
import { QueryState } from "../../components/QueryState";
import { RoleBadge } from "../../components/RoleBadge";
import { team as can, teamWhyNot } from "../../permissions";
import { useCurrentUser } from "../auth/useCurrentUser";
import { ClusterList } from "../clusters/ClusterList";
import { InviteForm } from "./InviteForm";
import { MemberList } from "./MemberList";
import { TeamInvitations } from "./TeamInvitations";
import {
  useDeleteTeamMutation,
  useGetTeamQuery,
  useListMembersInfiniteQuery,
  useListTeamInvitationsInfiniteQuery,
  useRemoveMemberMutation,
} from "./teamsApi";

export function TeamPage() {
  const { teamId = "" } = useParams();
  const team = useGetTeamQuery(teamId);
  const members = useListMembersInfiniteQuery(teamId);
  const memberRows = useMemo(() => (members.data?.pages ?? []).flatMap((page) => page.members), [members.data]);
  const me = useCurrentUser();
  const myRole = memberRows.find((m) => m.user_id === me.data?.id)?.role ?? team.data?.role;

  return (
    <QueryState
      isLoading={team.isLoading}
      error={team.error}
      refetch={team.refetch}
      notFound={
        <NotFound
          title="Team not found"
          text="There is no such team, or you are not in it."
          back={{ to: "/teams", label: "Back to teams" }}
        />
      }
    >
      {team.data && myRole && (
        <Stack>
          <Group justify="space-between" wrap="wrap">
            <div>
              <Title order={2}>{team.data.display_name || team.data.name}</Title>
              <Group gap={6} data-testid="my-role">
                <Text c="dimmed" size="sm">
                  You are
                </Text>
                <RoleBadge role={myRole} />
                <Text c="dimmed" size="sm">
                  in team {team.data.name}
                </Text>
              </Group>
            </div>
            <TeamActions teamId={teamId} teamName={team.data.name} myRole={myRole} myId={me.data?.id} />
          </Group>
          <Paper withBorder p="md">
            <Title order={4} mb="sm">
              Members
            </Title>
            <QueryState isLoading={members.isLoading} error={members.error} refetch={members.refetch}>
              <MemberList teamId={teamId} members={memberRows} myRole={myRole} myId={me.data?.id} />
              <LoadMore list={members} what="members" />
            </QueryState>
          </Paper>
          <TeamClusters teamId={teamId} teamName={team.data.name} members={memberRows} myId={me.data?.id} />
          {can.invite(myRole) ? (
            <InvitationsPanel teamId={teamId} myRole={myRole} />
          ) : (
            <Text size="sm" c="dimmed">
              {teamWhyNot.invite(myRole, team.data.name)}
            </Text>
          )}
        </Stack>
      )}
    </QueryState>
  );
}

interface TeamClustersProps {
  teamId: string;
  teamName: string;
  members: Member[];
  myId?: string;
}

/** The team's clusters (the list filtered by team), with who created each. */
function TeamClusters({ teamId, teamName, members, myId }: TeamClustersProps) {
  const teamNames = useMemo(() => new Map([[teamId, teamName]]), [teamId, teamName]);
  const creators = useMemo(() => {
    const names = new Map(members.map((m) => [m.user_id, m.username ?? m.display_name ?? m.user_id]));
    if (myId) names.set(myId, "you");
    return names;
  }, [members, myId]);
  const filter = useMemo(() => ({ team_id: teamId }), [teamId]);
  return (
    <Paper withBorder p="md">
      <Title order={4} mb="sm">
        Clusters
      </Title>
      <ClusterList
        filter={filter}
        teamNames={teamNames}
        creators={creators}
        empty={<Text c="dimmed">This team has no clusters.</Text>}
      />
    </Paper>
  );
}

function InvitationsPanel({ teamId, myRole }: { teamId: string; myRole: Role }) {
  const invitations = useListTeamInvitationsInfiniteQuery(teamId);
  return (
    <Paper withBorder p="md">
      <Title order={4} mb="sm">
        Pending invitations
      </Title>
      <Stack>
        <QueryState isLoading={invitations.isLoading} error={invitations.error} refetch={invitations.refetch}>
          <TeamInvitations teamId={teamId} invitations={(invitations.data?.pages ?? []).flatMap((page) => page.invitations)} />
          <LoadMore list={invitations} what="invitations" />
        </QueryState>
        <InviteForm teamId={teamId} myRole={myRole} />
      </Stack>
    </Paper>
  );
}

interface ActionsProps {
  teamId: string;
  teamName: string;
  myRole: Role;
  myId?: string;
}

function TeamActions({ teamId, teamName, myRole, myId }: ActionsProps) {
  const navigate = useNavigate();
  const [leave, leaveState] = useRemoveMemberMutation();
  const [deleteTeam, deleteState] = useDeleteTeamMutation();

  const confirmLeave = () =>
    modals.openConfirmModal({
      title: "Leave team",
      children: <Text size="sm">Leave {teamName}? You will need a new invitation to come back.</Text>,
      labels: { confirm: "Leave", cancel: "Cancel" },
      confirmProps: { color: "red" },
      onConfirm: async () => {
        if (!myId) return;
        const result = await leave({ teamId, userId: myId });
        if (!("error" in result)) {
          notifySuccess(`You left ${teamName}`);
          navigate("/teams");
        }
      },
    });

  const confirmDelete = () =>
    modals.openConfirmModal({
      title: "Delete team",
      children: <Text size="sm">Delete {teamName} for every member? This cannot be undone.</Text>,
      labels: { confirm: "Delete team", cancel: "Cancel" },
      confirmProps: { color: "red" },
      onConfirm: async () => {
        const result = await deleteTeam(teamId);
        if (!("error" in result)) {
          notifySuccess(`Team ${teamName} deleted`);
          navigate("/teams");
        }
      },
    });

  return (
    <Group gap="xs">
      <Button variant="default" onClick={confirmLeave} loading={leaveState.isLoading} disabled={!myId}>
        Leave team
      </Button>
      <ExplainedButton
        color="red"
        variant="light"
        onClick={confirmDelete}
        loading={deleteState.isLoading}
        whyNot={teamWhyNot.deleteTeam(myRole, teamName)}
      >
        Delete team
      </ExplainedButton>
    </Group>
  );
}
