import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import { loadSession, type Session } from "../../api/session";

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
  },
});

export const { signedIn, signedOut } = authSlice.actions;
export const { selectSession, selectAccessToken } = authSlice.selectors;
