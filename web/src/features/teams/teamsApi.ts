import { baseApi } from "../../api/baseApi";
import type {
  Invitation,
  InvitationCreate,
  InvitationCreated,
  InvitationList,
  Member,
  MemberList,
  Role,
  Team,
  TeamCreate,
  TeamList,
} from "../../api/types";

export const teamsApi = baseApi.injectEndpoints({
  endpoints: (build) => ({
    listTeams: build.query<Team[], void>({
      query: () => "/teams",
      transformResponse: (body: TeamList) => body.teams,
      providesTags: (teams = []) => [
        { type: "Team" as const, id: "LIST" },
        ...teams.map((t) => ({ type: "Team" as const, id: t.id })),
      ],
    }),
    getTeam: build.query<Team, string>({
      query: (teamId) => `/teams/${teamId}`,
      providesTags: (_r, _e, teamId) => [{ type: "Team", id: teamId }],
    }),
    createTeam: build.mutation<Team, TeamCreate>({
      query: (body) => ({ url: "/teams", method: "POST", body }),
      invalidatesTags: [{ type: "Team", id: "LIST" }],
    }),
    deleteTeam: build.mutation<void, string>({
      query: (teamId) => ({ url: `/teams/${teamId}`, method: "DELETE" }),
      invalidatesTags: (_r, _e, teamId) => [{ type: "Team", id: "LIST" }, { type: "Team", id: teamId }],
    }),
    listMembers: build.query<Member[], string>({
      query: (teamId) => `/teams/${teamId}/members`,
      transformResponse: (body: MemberList) => body.members,
      providesTags: (_r, _e, teamId) => [{ type: "Member", id: teamId }],
    }),
    setMemberRole: build.mutation<Member, { teamId: string; userId: string; role: Role }>({
      query: ({ teamId, userId, role }) => ({
        url: `/teams/${teamId}/members/${userId}`,
        method: "PATCH",
        body: { role },
      }),
      invalidatesTags: (_r, _e, { teamId }) => [{ type: "Member", id: teamId }, { type: "Team", id: teamId }],
    }),
    removeMember: build.mutation<void, { teamId: string; userId: string }>({
      query: ({ teamId, userId }) => ({ url: `/teams/${teamId}/members/${userId}`, method: "DELETE" }),
      invalidatesTags: (_r, _e, { teamId }) => [
        { type: "Member", id: teamId },
        { type: "Team", id: teamId },
        { type: "Team", id: "LIST" },
      ],
    }),
    listTeamInvitations: build.query<Invitation[], string>({
      query: (teamId) => `/teams/${teamId}/invitations`,
      transformResponse: (body: InvitationList) => body.invitations,
      providesTags: (_r, _e, teamId) => [{ type: "TeamInvitation", id: teamId }],
    }),
    invite: build.mutation<InvitationCreated, { teamId: string } & InvitationCreate>({
      query: ({ teamId, ...body }) => ({ url: `/teams/${teamId}/invitations`, method: "POST", body }),
      invalidatesTags: (_r, _e, { teamId }) => [{ type: "TeamInvitation", id: teamId }],
    }),
    revokeInvitation: build.mutation<void, { teamId: string; invitationId: string }>({
      query: ({ teamId, invitationId }) => ({
        url: `/teams/${teamId}/invitations/${invitationId}`,
        method: "DELETE",
      }),
      invalidatesTags: (_r, _e, { teamId }) => [{ type: "TeamInvitation", id: teamId }],
    }),
  }),
});

export const {
  useListTeamsQuery,
  useGetTeamQuery,
  useCreateTeamMutation,
  useDeleteTeamMutation,
  useListMembersQuery,
  useSetMemberRoleMutation,
  useRemoveMemberMutation,
  useListTeamInvitationsQuery,
  useInviteMutation,
  useRevokeInvitationMutation,
} = teamsApi;
