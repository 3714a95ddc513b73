"""Paging at the edge: the `limit` and `cursor` query parameters every list takes, and the
`Link: <...>; rel="next"` header (RFC 8288) that repeats the query with the next cursor. The
cursor itself is made and checked by the service that owns the list (pyk8s_kit.pages)."""

from typing import Annotated

from fastapi import Depends, Query, Request, Response
from starlette.datastructures import URL

from pyk8s_contracts.common import DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, Cursor, PageRequest


def page_request(
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_PAGE_LIMIT, description="How many items per page."),
    ] = DEFAULT_PAGE_LIMIT,
    cursor: Annotated[
        Cursor | None,
        Query(description="`next_cursor` of the previous page, unchanged; the same filters."),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageQuery = Annotated[PageRequest, Depends(page_request)]


def link_next(request: Request, response: Response, next_cursor: str | None) -> None:
    """Sets the `Link` header to the next page: this request's path and query with the next
    cursor (a relative reference, right behind any proxy)."""
    if next_cursor is None:
        return
    query = {**request.query_params, "cursor": next_cursor}
    target = URL(request.url.path).include_query_params(**query)
    response.headers["Link"] = f'<{target}>; rel="next"'
