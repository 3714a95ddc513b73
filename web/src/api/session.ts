// The session (token pair) survives reloads in localStorage.
import type { TokenPair } from "./types";

const KEY = "pyk8s.session";

export interface Session {
  accessToken: string;
  refreshToken: string;
}

export function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(KEY);
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Session>;
    return parsed.accessToken && parsed.refreshToken
      ? { accessToken: parsed.accessToken, refreshToken: parsed.refreshToken }
      : null;
  } catch {
    return null;
  }
}

export function saveSession(session: Session | null): void {
  if (session) localStorage.setItem(KEY, JSON.stringify(session));
  else localStorage.removeItem(KEY);
}

/** The claims of an access token (a JWT), read without checking its signature: they only
 * decide what the interface shows. Anything unreadable has no claims. */
export function claimsOf(token: string | null | undefined): Record<string, unknown> {
  const payload = token?.split(".")[1];
  if (!payload) return {};
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims: unknown = JSON.parse(json);
    return claims && typeof claims === "object" ? (claims as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

export function sessionFrom(pair: TokenPair): Session {
  return { accessToken: pair.access_token, refreshToken: pair.refresh_token };
}
