import { combineSlices, configureStore, createListenerMiddleware, isRejectedWithValue } from "@reduxjs/toolkit";
import { setupListeners } from "@reduxjs/toolkit/query";
import { baseApi } from "./api/baseApi";
import { saveSession } from "./api/session";
import { authSlice, signedIn, signedOut } from "./features/auth/authSlice";
import { liveSlice } from "./features/clusters/liveSlice";
import { notifyError } from "./components/notify";

const rootReducer = combineSlices(baseApi, authSlice, liveSlice);
export type RootState = ReturnType<typeof rootReducer>;

// Forms mark the fields a refusal names, and notify the rest themselves (components/formErrors.ts).
const FORM_ENDPOINTS = ["createTeam", "invite", "createCluster"];
const INLINE_ERRORS = new Set(["login", "signup", "terminalTicket", ...FORM_ENDPOINTS]);

function listeners() {
  const middleware = createListenerMiddleware();
  middleware.startListening({
    actionCreator: signedIn,
    effect: (action) => saveSession(action.payload),
  });
  middleware.startListening({
    actionCreator: signedOut,
    effect: (_action, api) => {
      saveSession(null);
      api.dispatch(baseApi.util.resetApiState());
    },
  });
  // Failed mutations become notifications; failed queries show where their data would be,
  // and the forms show their own errors inline.
  middleware.startListening({
    matcher: isRejectedWithValue,
    effect: (action) => {
      const arg = (action.meta as { arg?: { type?: string; endpointName?: string } }).arg;
      if (arg?.type !== "mutation" || INLINE_ERRORS.has(arg.endpointName ?? "")) return;
      notifyError(action.payload);
    },
  });
  return middleware;
}

export function makeStore(preloadedState?: Partial<RootState>) {
  const store = configureStore({
    reducer: rootReducer,
    preloadedState,
    middleware: (getDefault) => getDefault().prepend(listeners().middleware).concat(baseApi.middleware),
  });
  setupListeners(store.dispatch);
  return store;
}

export type AppStore = ReturnType<typeof makeStore>;
export type AppDispatch = AppStore["dispatch"];

