// Frames between the browser and the gateway's terminal WebSocket (docs/terminal.md):
// the first message is a hello carrying the ticket and the size; keystrokes and output
// travel as binary frames; control messages are JSON text frames. Output is credit-based:
// the browser acknowledges the bytes it has drawn, and the terminal sends more.

export type ControlFrame =
  | { type: "ready"; session_id: string }
  | { type: "pong"; t?: number }
  | { type: "exit"; code: number | null };

export function helloFrame(ticket: string, cols: number, rows: number): string {
  return JSON.stringify({ type: "hello", ticket, cols, rows });
}

export function ackFrame(bytes: number): string {
  return JSON.stringify({ type: "ack", bytes });
}

export function pingFrame(): string {
  return JSON.stringify({ type: "ping", t: Date.now() });
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
  1009: "A message was too large.",
  1011: "The server hit an error.",
  1013: "Too many sessions; try again later.",
};

export function closeReason(code: number, reason: string): string {
  const known = CLOSE_REASONS[code] ?? `Closed with code ${code}.`;
  return reason ? `${reason} (${code})` : known;
}
