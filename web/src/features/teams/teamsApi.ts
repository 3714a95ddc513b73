import { baseApi } from "../../api/baseApi";
import { cursorPages, fetchAllPages, pageParams } from "../../api/pages";
import type {
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

function teamTags(teams: Team[]) {
  return [{ type: "Team" as const, id: "LIST" }, ...teams.map((t) => ({ type: "Team" as const, id: t.id }))];
}

export const teamsApi = baseApi.injectEndpoints({
  endpoints: (build) => ({
    // The teams page: newest first, "Load more" follows each page's next_cursor.
    listTeams: build.infiniteQuery<TeamList, void, string | null>({
      infiniteQueryOptions: cursorPages<TeamList>(),
      query: ({ pageParam }) => ({ url: "/teams", params: pageParams(pageParam) }),
      providesTags: (data) => teamTags((data?.pages ?? []).flatMap((page) => page.teams)),
    }),
    // Every team at once, for what must offer each of them (team selects, names, my roles).
    listAllTeams: build.query<Team[], void>({
      queryFn: (_arg, _api, _extra, baseQuery) => fetchAllPages(baseQuery, "/teams", (page: TeamList) => page.teams),
      providesTags: (teams = []) => teamTags(teams),
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
    listMembers: build.infiniteQuery<MemberList, string, string | null>({
      infiniteQueryOptions: cursorPages<MemberList>(),
      query: ({ queryArg: teamId, pageParam }) => ({ url: `/teams/${teamId}/members`, params: pageParams(pageParam) }),
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
    listTeamInvitations: build.infiniteQuery<InvitationList, string, string | null>({
      infiniteQueryOptions: cursorPages<InvitationList>(),
      query: ({ queryArg: teamId, pageParam }) => ({ url: `/teams/${teamId}/invitations`, params: pageParams(pageParam) }),
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
  useListTeamsInfiniteQuery,
  useListAllTeamsQuery,
  useGetTeamQuery,
  useCreateTeamMutation,
  useDeleteTeamMutation,
  useListMembersInfiniteQuery,
  useSetMemberRoleMutation,
  useRemoveMemberMutation,
  useListTeamInvitationsInfiniteQuery,
  useInviteMutation,
  useRevokeInvitationMutation,
} = teamsApi;
