import { baseApi } from "../../api/baseApi";
import type { MyInvitation } from "../../api/types";

export const invitationsApi = baseApi.injectEndpoints({
  endpoints: (build) => ({
    myInvitations: build.query<MyInvitation[], void>({
      query: () => "/invitations",
      providesTags: ["MyInvitation"],
    }),
    acceptInvitation: build.mutation<void, string>({
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
