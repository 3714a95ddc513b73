import { baseApi } from "../../api/baseApi";
import type { Invitation, InvitationList, Team } from "../../api/types";

export const invitationsApi = baseApi.injectEndpoints({
  endpoints: (build) => ({
    myInvitations: build.query<Invitation[], void>({
      query: () => "/invitations",
      transformResponse: (body: InvitationList) => body.invitations,
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
