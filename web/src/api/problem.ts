import type { FetchBaseQueryError } from "@reduxjs/toolkit/query";
import type { SerializedError } from "@reduxjs/toolkit";

/** RFC 9457 problem details as the gateway sends them, with its stable `code`. */
export interface Problem {
  status: number;
  code?: string;
  title?: string;
  detail?: string;
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

export function problemCode(error: unknown): string | undefined {
  return isFetchError(error) ? (error.data as Problem | undefined)?.code : undefined;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
