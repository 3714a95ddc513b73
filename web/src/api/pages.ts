// The gateway's paging: every list takes `limit` and `cursor` and names the next page in
// `next_cursor` (null on the last page). One home for how the web follows it.
import type { BaseQueryFn, FetchArgs, FetchBaseQueryError } from "@reduxjs/toolkit/query";

/** Items per page of a list shown with "Load more" (the gateway's default). */
export const PAGE_SIZE = 50;
/** The gateway's largest page: used when every item is needed at once. */
export const MAX_PAGE_SIZE = 200;

interface Page {
  next_cursor?: string | null;
}

/** The query parameters of one page, after any filters. */
export function pageParams(cursor: string | null, limit = PAGE_SIZE, filters: Record<string, string | undefined> = {}) {
  const params: Record<string, string | number> = { limit };
  for (const [key, value] of Object.entries(filters)) if (value) params[key] = value;
  if (cursor) params.cursor = cursor;
  return params;
}

/** `infiniteQueryOptions` of a list paged by cursor: the first page has none, each page names the next. */
export function cursorPages<P extends Page>() {
  return {
    initialPageParam: null as string | null,
    getNextPageParam: (lastPage: P) => lastPage.next_cursor ?? undefined,
  };
}

type BaseQuery = BaseQueryFn<string | FetchArgs, unknown, FetchBaseQueryError>;

/** Every item of a list: follows `next_cursor` with the largest page until the last one. */
export async function fetchAllPages<P extends Page, Item>(
  baseQuery: (args: string | FetchArgs) => ReturnType<BaseQuery>,
  url: string,
  items: (page: P) => Item[],
): Promise<{ data: Item[] } | { error: FetchBaseQueryError }> {
  const all: Item[] = [];
  let cursor: string | null = null;
  do {
    const result = await baseQuery({ url, params: pageParams(cursor, MAX_PAGE_SIZE) });
    if (result.error) return { error: result.error };
    const page = result.data as P;
    all.push(...items(page));
    cursor = page.next_cursor ?? null;
  } while (cursor);
  return { data: all };
}
