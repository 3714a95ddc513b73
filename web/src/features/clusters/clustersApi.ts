import { baseApi } from "../../api/baseApi";
import { cursorPages, PAGE_SIZE, pageParams } from "../../api/pages";
import type {
  Cluster,
  ClusterCreate,
  ClusterList,
  ClusterStatus,
  Kubeconfig,
  Provider,
  ProviderInfo,
  ProviderList,
  StreamTicket,
  TerminalTicket,
} from "../../api/types";

/** What the cluster list is narrowed to (the gateway's filters); empty: every visible cluster. */
export interface ClusterFilter {
  team_id?: string;
  status?: ClusterStatus;
  provider?: Provider;
}

export const clustersApi = baseApi.injectEndpoints({
  endpoints: (build) => ({
    // Pages newest first; "Load more" follows each page's next_cursor.
    listClusters: build.infiniteQuery<ClusterList, ClusterFilter, string | null>({
      infiniteQueryOptions: cursorPages<ClusterList>(),
      query: ({ queryArg, pageParam }) => ({ url: "/clusters", params: pageParams(pageParam, PAGE_SIZE, { ...queryArg }) }),
      providesTags: (data) => [
        { type: "Cluster" as const, id: "LIST" },
        ...(data?.pages ?? []).flatMap((page) => page.clusters.map((c) => ({ type: "Cluster" as const, id: c.id }))),
      ],
    }),
    listProviders: build.query<ProviderInfo[], void>({
      query: () => "/providers",
      transformResponse: (body: ProviderList) => body.providers,
    }),
    getCluster: build.query<Cluster, string>({
      query: (id) => `/clusters/${id}`,
      providesTags: (_r, _e, id) => [{ type: "Cluster", id }],
    }),
    createCluster: build.mutation<Cluster, ClusterCreate>({
      query: (body) => ({ url: "/clusters", method: "POST", body }),
      invalidatesTags: [{ type: "Cluster", id: "LIST" }],
    }),
    deleteCluster: build.mutation<Cluster | null, string>({
      query: (id) => ({ url: `/clusters/${id}`, method: "DELETE" }),
      invalidatesTags: (_r, _e, id) => [{ type: "Cluster", id }],
    }),
    extendCluster: build.mutation<Cluster, { id: string; hours: number }>({
      query: ({ id, hours }) => ({ url: `/clusters/${id}/extend`, method: "POST", body: { hours } }),
      invalidatesTags: (_r, _e, { id }) => [{ type: "Cluster", id }],
    }),
    kubeconfig: build.mutation<Kubeconfig, string>({
      query: (id) => `/clusters/${id}/kubeconfig`,
    }),
    adminKubeconfig: build.mutation<Kubeconfig, string>({
      query: (id) => `/clusters/${id}/kubeconfig/admin`,
    }),
    terminalTicket: build.mutation<TerminalTicket, string>({
      query: (id) => ({ url: `/clusters/${id}/terminal`, method: "POST" }),
    }),
    streamTicket: build.mutation<StreamTicket, void>({
      query: () => ({ url: "/events/tickets", method: "POST" }),
    }),
  }),
});

export const {
  useListClustersInfiniteQuery,
  useListProvidersQuery,
  useGetClusterQuery,
  useCreateClusterMutation,
  useDeleteClusterMutation,
  useExtendClusterMutation,
  useKubeconfigMutation,
  useAdminKubeconfigMutation,
  useTerminalTicketMutation,
} = clustersApi;
