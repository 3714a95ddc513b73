// The one RTK Query slice. Features add their endpoints with `baseApi.injectEndpoints`.
import {
  createApi,
  fetchBaseQuery,
  type BaseQueryFn,
  type FetchArgs,
  type FetchBaseQueryError,
} from "@reduxjs/toolkit/query/react";
import { signedIn, signedOut } from "../features/auth/authSlice";
import { sessionFrom, type Session } from "./session";
import type { TokenPair } from "./types";

export const API_PREFIX = "/api/v1";

interface StateWithSession {
  auth: { session: Session | null };
}

// Absolute, so requests also resolve where there is no document base (tests under Node).
export function apiUrl(path = ""): string {
  return new URL(API_PREFIX + path, window.location.origin).toString();
}

const rawBaseQuery = fetchBaseQuery({
  baseUrl: apiUrl(),
  prepareHeaders: (headers, { getState }) => {
    const token = (getState() as StateWithSession).auth.session?.accessToken;
    if (token && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${token}`);
    return headers;
  },
});

// Several requests failing at once share one refresh: the refresh token is single use.
let refreshing: Promise<Session | null> | null = null;

async function refreshSession(
  refreshToken: string,
  api: Parameters<BaseQueryFn>[1],
  extraOptions: object,
): Promise<Session | null> {
  const result = await rawBaseQuery(
    { url: "/auth/refresh", method: "POST", body: { refresh_token: refreshToken } },
    api,
    extraOptions,
  );
  if (!result.data) return null;
  return sessionFrom(result.data as TokenPair);
}

const AUTH_FREE = ["/auth/login", "/auth/signup", "/auth/refresh"];

export const baseQueryWithRefresh: BaseQueryFn<string | FetchArgs, unknown, FetchBaseQueryError> = async (
  args,
  api,
  extraOptions,
) => {
  const sessionOf = () => (api.getState() as StateWithSession).auth.session;
  const usedToken = sessionOf()?.accessToken;
  const result = await rawBaseQuery(args, api, extraOptions);
  const url = typeof args === "string" ? args : args.url;
  if (result.error?.status !== 401 || AUTH_FREE.includes(url)) return result;

  const session = sessionOf();
  if (!session) return result;
  // Renewed by another request while this one was on its way: just try again.
  if (session.accessToken !== usedToken) return rawBaseQuery(args, api, extraOptions);
  refreshing ??= refreshSession(session.refreshToken, api, extraOptions).then((renewed) => {
    api.dispatch(renewed ? signedIn(renewed) : signedOut());
    return renewed;
  }).finally(() => {
    refreshing = null;
  });
  const renewed = await refreshing;
  return renewed ? rawBaseQuery(args, api, extraOptions) : result;
};

export const baseApi = createApi({
  reducerPath: "api",
  baseQuery: baseQueryWithRefresh,
  tagTypes: ["Me", "Team", "Member", "TeamInvitation", "MyInvitation", "Cluster", "Host"],
  endpoints: () => ({}),
});
