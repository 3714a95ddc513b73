import { baseApi } from "../../api/baseApi";
import type { LoginBody, SignupRequest, TokenPair, User } from "../../api/types";

export const authApi = baseApi.injectEndpoints({
  endpoints: (build) => ({
    login: build.mutation<TokenPair, LoginBody>({
      query: (body) => ({ url: "/auth/login", method: "POST", body }),
    }),
    signup: build.mutation<User, SignupRequest>({
      query: (body) => ({ url: "/auth/signup", method: "POST", body }),
    }),
    logout: build.mutation<void, { refresh_token: string }>({
      query: (body) => ({ url: "/auth/logout", method: "POST", body }),
    }),
    me: build.query<User, void>({
      query: () => "/auth/me",
      providesTags: ["Me"],
    }),
  }),
});

export const { useLoginMutation, useSignupMutation, useLogoutMutation, useMeQuery } = authApi;
