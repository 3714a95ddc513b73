import { createSlice, type PayloadAction } from "@reduxjs/toolkit";
import type { ClusterStatus } from "../../api/types";

export interface StatusChange {
  eventId: string;
  status: ClusterStatus;
  time: string;
  message: string | null;
}

export type StreamState = "connecting" | "live" | "offline";

export interface LiveState {
  stream: StreamState;
  /** Status changes seen on the event stream since the page loaded, per cluster. */
  history: Record<string, StatusChange[]>;
}

const initialState: LiveState = { stream: "offline", history: {} };

export const liveSlice = createSlice({
  name: "live",
  initialState,
  reducers: {
    streamChanged(state, action: PayloadAction<StreamState>) {
      state.stream = action.payload;
    },
    statusChanged(state, action: PayloadAction<{ clusterId: string; change: StatusChange }>) {
      const { clusterId, change } = action.payload;
      const seen = (state.history[clusterId] ??= []);
      if (!seen.some((c) => c.eventId === change.eventId)) seen.push(change);
    },
  },
  selectors: {
    selectStream: (state) => state.stream,
    selectHistory: (state, clusterId: string) => state.history[clusterId],
  },
});

export const { streamChanged, statusChanged } = liveSlice.actions;
export const { selectStream, selectHistory } = liveSlice.selectors;
