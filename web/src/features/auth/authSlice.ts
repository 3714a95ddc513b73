import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { claimsOf, loadSession, type Session } from "../../api/session";

// The access token's claim that makes its holder a platform admin (pyk8s_contracts.auth).
export const PLATFORM_ADMIN_CLAIM = "pyk8s_platform_admin";

export interface AuthState {
  session: Session | null;
}

// Read lazily so every new store (a reload) picks up the saved session.
const initialState = (): AuthState => ({ session: loadSession() });

export const authSlice = createSlice({
  name: "auth",
  initialState,
  reducers: {
    signedIn(state, action: PayloadAction<Session>) {
      state.session = action.payload;
    },
    signedOut(state) {
      state.session = null;
    },
  },
  selectors: {
    selectSession: (state) => state.session,
    selectAccessToken: (state) => state.session?.accessToken ?? null,
    /** Only decides what is shown: the gateway and the provisioner check the role again. */
    selectIsPlatformAdmin: (state) => claimsOf(state.session?.accessToken)[PLATFORM_ADMIN_CLAIM] === true,
  },
});

export const { signedIn, signedOut } = authSlice.actions;
export const { selectSession, selectAccessToken, selectIsPlatformAdmin } = authSlice.selectors;
