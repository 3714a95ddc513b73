import { baseApi } from "../../api/baseApi";
import { fetchAllPages } from "../../api/pages";
import type { Invitation, InvitationList, Team } from "../../api/types";

export const invitationsApi = baseApi.injectEndpoints({
  endpoints: (build) => ({
    // Every pending invitation: each one asks for an answer, none may hide on a later page.
    myInvitations: build.query<Invitation[], void>({
      queryFn: (_arg, _api, _extra, baseQuery) =>
        fetchAllPages(baseQuery, "/invitations", (page: InvitationList) => page.invitations),
      providesTags: ["MyInvitation"],
    }),
    acceptInvitation: build.mutation<Team, string>({
      query: (id) => ({ url: `/invitations/${id}/accept`, method: "POST" }),
      invalidatesTags: ["MyInvitation", { type: "Team", id: "LIST" }, { type: "Cluster", id: "LIST" }],
    }),
    declineInvitation: build.mutation<void, string>({
      query: (id) => ({ url: `/invitations/${id}/decline`, method: "POST" }),
      invalidatesTags: ["MyInvitation"],
    }),
  }),
});

export const { useMyInvitationsQuery, useAcceptInvitationMutation, useDeclineInvitationMutation } = invitationsApi;
