import { useEffect, useRef, useState } from "react";
import { apiUrl } from "../../api/baseApi";
import { useAppDispatch, useAppSelector } from "../../hooks";
import { selectAccessToken } from "../auth/authSlice";
import { applyPersonalEvent, PERSONAL_EVENT_PREFIX, type PersonalEvent } from "../invitations/personalEvents";
import { clustersApi } from "./clustersApi";
import { applyClusterEvent, type ClusterEvent } from "./events";
import { streamChanged } from "./liveSlice";

export const CLUSTER_EVENTS_PATH = "/events/clusters";
const RETRY_MS = 3000;

/**
 * The stream URL. EventSource cannot send headers, so a single-use ticket rides in the query,
 * never a token. So does the last event seen: every reconnect is a new EventSource (a ticket
 * opens one stream), and a new EventSource does not send Last-Event-ID.
 */
export function clusterStreamUrl(ticket: string, lastEventId?: string): string {
  const url = new URL(apiUrl(CLUSTER_EVENTS_PATH));
  url.searchParams.set("ticket", ticket);
  if (lastEventId) url.searchParams.set("last_event_id", lastEventId);
  return url.toString();
}

/** Keeps the cluster cache current from the gateway's event stream while signed in, and
 * applies the team events that concern the signed-in person (invitations, role, removal). */
export function useClusterStream(): void {
  const signedIn = useAppSelector(selectAccessToken) !== null;
  const dispatch = useAppDispatch();
  const [attempt, setAttempt] = useState(0);
  const lastEventId = useRef<string | undefined>(undefined);

  useEffect(() => {
    if (!signedIn) {
      lastEventId.current = undefined;
      return;
    }
    let source: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    let opened = false;
    const reconnect = () => {
      // A stream that was live (most often ended because the access token expired) is
      // reopened at once; a failed attempt waits before the next.
      retry = setTimeout(() => setAttempt((n) => n + 1), opened ? 0 : RETRY_MS);
    };
    const open = (ticket: string) => {
      source = new EventSource(clusterStreamUrl(ticket, lastEventId.current));
      source.onopen = () => {
        opened = true;
        dispatch(streamChanged("live"));
        // Catch up on anything that changed while the stream was down.
        dispatch(clustersApi.util.invalidateTags([{ type: "Cluster", id: "LIST" }]));
      };
      source.onmessage = (message: MessageEvent<string>) => {
        if (message.lastEventId) lastEventId.current = message.lastEventId;
        try {
          const event = JSON.parse(message.data) as ClusterEvent | PersonalEvent;
          if (event.type.startsWith(PERSONAL_EVENT_PREFIX)) dispatch(applyPersonalEvent(event as PersonalEvent));
          else applyClusterEvent(dispatch, event as ClusterEvent);
        } catch {
          // A frame that is not a cluster event (keepalive or a newer format) changes nothing.
        }
      };
      source.onerror = () => {
        // EventSource would retry with the same ticket, which is spent: start over instead.
        source?.close();
        dispatch(streamChanged("connecting"));
        reconnect();
      };
    };

    dispatch(streamChanged("connecting"));
    // Asked like any other request, so an expired access token is refreshed first.
    const request = dispatch(
      clustersApi.endpoints.streamTicket.initiate(undefined, { fixedCacheKey: "cluster-stream" }),
    );
    request.unwrap().then(
      ({ ticket }) => {
        if (!stopped) open(ticket);
      },
      () => {
        if (stopped) return;
        dispatch(streamChanged("offline"));
        reconnect();
      },
    );
    return () => {
      stopped = true;
      clearTimeout(retry);
      source?.close();
    };
  }, [signedIn, attempt, dispatch]);
}
