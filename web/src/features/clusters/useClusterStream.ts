import { useEffect, useState } from "react";
import { apiUrl } from "../../api/baseApi";
import { useAppDispatch, useAppSelector } from "../../hooks";
import { authApi } from "../auth/authApi";
import { selectAccessToken } from "../auth/authSlice";
import { clustersApi } from "./clustersApi";
import { applyClusterEvent, type ClusterEvent } from "./events";
import { streamChanged } from "./liveSlice";

export const CLUSTER_EVENTS_PATH = "/events/clusters";
const RETRY_MS = 3000;

/** The stream URL. EventSource cannot send headers, so the access token rides in the query. */
export function clusterStreamUrl(accessToken: string): string {
  const url = new URL(apiUrl(CLUSTER_EVENTS_PATH));
  url.searchParams.set("access_token", accessToken);
  return url.toString();
}

/** Keeps the cluster cache current from the gateway's event stream while signed in. */
export function useClusterStream(): void {
  const token = useAppSelector(selectAccessToken);
  const dispatch = useAppDispatch();
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    if (!token) return;
    let retry: ReturnType<typeof setTimeout> | undefined;
    dispatch(streamChanged("connecting"));
    const source = new EventSource(clusterStreamUrl(token));
    const onEvent = (message: MessageEvent<string>) => {
      try {
        applyClusterEvent(dispatch, JSON.parse(message.data) as ClusterEvent);
      } catch {
        // A frame that is not a cluster event (keepalive or a newer format) changes nothing.
      }
    };
    source.onopen = () => {
      dispatch(streamChanged("live"));
      // Catch up on anything that changed while the stream was down.
      dispatch(clustersApi.util.invalidateTags([{ type: "Cluster", id: "LIST" }]));
    };
    source.onmessage = onEvent;
    source.onerror = () => {
      dispatch(streamChanged(source.readyState === EventSource.CLOSED ? "offline" : "connecting"));
      if (source.readyState !== EventSource.CLOSED) return;
      // Closed for good (most often an expired access token): a checked request refreshes
      // the session if it can, and a new token reopens the stream through this effect.
      retry = setTimeout(async () => {
        await dispatch(authApi.endpoints.me.initiate(undefined, { forceRefetch: true, subscribe: false }));
        setAttempt((n) => n + 1);
      }, RETRY_MS);
    };
    return () => {
      clearTimeout(retry);
      source.close();
    };
  }, [token, attempt, dispatch]);
}
