import { baseApi } from "../../api/baseApi";
import type { Host, HostList } from "../../api/types";

export const hostsApi = baseApi.injectEndpoints({
  endpoints: (build) => ({
    listHosts: build.query<HostList, void>({
      query: () => "/hosts",
      providesTags: [{ type: "Host", id: "LIST" }],
    }),
    drainHost: build.mutation<Host, string>({
      query: (id) => ({ url: `/hosts/${id}/drain`, method: "POST" }),
      invalidatesTags: [{ type: "Host", id: "LIST" }],
    }),
    undrainHost: build.mutation<Host, string>({
      query: (id) => ({ url: `/hosts/${id}/undrain`, method: "POST" }),
      invalidatesTags: [{ type: "Host", id: "LIST" }],
    }),
  }),
});

export const { useListHostsQuery, useDrainHostMutation, useUndrainHostMutation } = hostsApi;
