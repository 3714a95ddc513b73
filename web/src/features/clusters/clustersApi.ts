import { baseApi } from "../../api/baseApi";
import type {
  Cluster,
  ClusterCreate,
  ClusterList,
  Kubeconfig,
  ProviderInfo,
  ProviderList,
  StreamTicket,
  TerminalTicket,
} from "../../api/types";

export const clustersApi = baseApi.injectEndpoints({
  endpoints: (build) => ({
    listClusters: build.query<Cluster[], void>({
      query: () => "/clusters",
      transformResponse: (body: ClusterList) => body.clusters,
      providesTags: (clusters = []) => [
        { type: "Cluster" as const, id: "LIST" },
        ...clusters.map((c) => ({ type: "Cluster" as const, id: c.id })),
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
  useListClustersQuery,
  useListProvidersQuery,
  useGetClusterQuery,
  useCreateClusterMutation,
  useDeleteClusterMutation,
  useExtendClusterMutation,
  useKubeconfigMutation,
  useAdminKubeconfigMutation,
  useTerminalTicketMutation,
} = clustersApi;
