import type { FetchBaseQueryError } from "@reduxjs/toolkit/query";
import type { SerializedError } from "@reduxjs/toolkit";

/** RFC 9457 problem details as the gateway sends them, with its stable `code`. */
export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
  /** The request field a refusal is about (a duplicate team name: "name"). */
  field?: string;
  errors?: { loc: (string | number)[]; msg: string }[];
}

function isFetchError(error: unknown): error is FetchBaseQueryError {
  return typeof error === "object" && error !== null && "status" in error;
}

/** A sentence a person can read, from whatever an RTK Query call failed with. */
export function problemMessage(error: unknown): string {
  if (isFetchError(error)) {
    if (error.status === "FETCH_ERROR") return "The server cannot be reached. Check your connection.";
    if (error.status === "TIMEOUT_ERROR") return "The server took too long to answer.";
    if (error.status === "PARSING_ERROR") return `Unexpected answer from the server (${error.originalStatus}).`;
    const body = error.data as Problem | undefined;
    if (body?.errors?.length) {
      return body.errors.map((e) => `${e.loc.filter((p) => p !== "body").join(".")}: ${e.msg}`).join("; ");
    }
    if (body?.detail) return capitalize(body.detail);
    return `Request failed (${String(error.status)}).`;
  }
  const serialized = error as SerializedError | undefined;
  return serialized?.message ?? "Something went wrong.";
}

/** What the problem says about each request field, by field name: the `field` of a refusal
 * (409 duplicate name, 404 unknown invitee) or each body field of a validation error (422).
 * Empty when the problem names no field. */
export function problemFields(error: unknown): Record<string, string> {
  if (!isFetchError(error)) return {};
  const body = error.data as Problem | undefined;
  const fields: Record<string, string> = {};
  for (const e of body?.errors ?? []) {
    const path = e.loc[0] === "body" ? e.loc.slice(1) : [];
    if (path.length > 0) fields[path.join(".")] = capitalize(e.msg);
  }
  if (body?.field && body.detail) fields[body.field] = capitalize(body.detail);
  return fields;
}

/** The HTTP status a call failed with, when it got an answer. */
export function problemStatus(error: unknown): number | undefined {
  return isFetchError(error) && typeof error.status === "number" ? error.status : undefined;
}

export function problemCode(error: unknown): string | undefined {
  return isFetchError(error) ? (error.data as Problem | undefined)?.code : undefined;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
