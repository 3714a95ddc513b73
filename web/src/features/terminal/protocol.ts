// Frames between the browser and the gateway's terminal WebSocket (docs/terminal.md):
// the first message is the ticket; keystrokes and output travel as binary frames;
// control messages are JSON text frames.

export type ControlFrame =
  | { type: "data"; data: string }
  | { type: "resize"; cols: number; rows: number }
  | { type: "ping" }
  | { type: "pong" }
  | { type: "exit"; code: number | null }
  | { type: "error"; message: string };

export function ticketFrame(ticket: string): string {
  return JSON.stringify({ type: "auth", ticket });
}

export function resizeFrame(cols: number, rows: number): string {
  return JSON.stringify({ type: "resize", cols, rows });
}

const encoder = new TextEncoder();

export function inputFrame(data: string): Uint8Array {
  return encoder.encode(data);
}

export function parseControl(text: string): ControlFrame | null {
  try {
    const frame = JSON.parse(text) as ControlFrame;
    return typeof frame === "object" && frame !== null && "type" in frame ? frame : null;
  } catch {
    return null;
  }
}

/** The WebSocket URL on this origin for a path like `/ws/terminal/<id>`. */
export function socketUrl(pathOrUrl: string): string {
  const url = new URL(pathOrUrl, window.location.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  return url.toString();
}

const CLOSE_REASONS: Record<number, string> = {
  1000: "The session ended.",
  1001: "The server is going away.",
  1006: "The connection was lost.",
  1008: "The server refused the session (ticket, origin or rights).",
  1011: "The server hit an error.",
  1013: "Too many sessions; try again later.",
};

export function closeReason(code: number, reason: string): string {
  const known = CLOSE_REASONS[code] ?? `Closed with code ${code}.`;
  return reason ? `${reason} (${code})` : known;
}
