"""HTTP client for the gateway's `/api/v1`: bearer auth, silent refresh on 401, and
problem+json answers turned into `ApiError`s."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from .config import Config, Session
from .errors import ApiError, CliError, NotSignedIn

API_PREFIX = "/api/v1"
# The gateway's largest page: the fewest round trips when every item is wanted.
MAX_PAGE = 200
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def normalize_server(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise CliError(f"server must be an http:// or https:// URL, got {url!r}", exit_code=2)
    return url.removesuffix(API_PREFIX)


def problem_of(response: httpx.Response) -> ApiError:
    code, detail = "error", response.reason_phrase or f"HTTP {response.status_code}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = str(body.get("code") or code)
        detail = str(body.get("detail") or body.get("title") or detail)
        errors = body.get("errors")
        if isinstance(errors, list) and errors:
            detail = f"{detail}: {describe_errors(errors)}"
    return ApiError(response.status_code, code, detail)


def describe_errors(errors: list[Any]) -> str:
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            loc = [str(p) for p in error.get("loc", []) if p not in ("body", "query", "path")]
            where = ".".join(loc)
            parts.append(f"{where}: {error.get('msg', '')}" if where else str(error.get("msg", "")))
        else:
            parts.append(str(error))
    return "; ".join(parts)


class ApiClient:
    def __init__(
        self,
        server: str,
        config: Config,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.server = server
        self.config = config
        # An explicit token (PYK8S_TOKEN / --token) wins and is never refreshed or stored.
        self.explicit_token = token
        self.http = httpx.Client(
            base_url=server + API_PREFIX,
            timeout=TIMEOUT,
            transport=transport,
            headers={"User-Agent": "pyk8s-cli"},
        )

    def close(self) -> None:
        self.http.close()

    @property
    def session(self) -> Session | None:
        return None if self.explicit_token else self.config.session_for(self.server)

    def _auth_headers(self) -> dict[str, str]:
        token = self.explicit_token or (self.session.access_token if self.session else None)
        if not token:
            raise NotSignedIn()
        return {"Authorization": f"Bearer {token}"}

    def request(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> Any:
        response = self._send(method, path, auth, **kw)
        if auth and response.status_code == 401 and self._refresh():
            response = self._send(method, path, auth, **kw)
        return self._result(response, auth)

    def _send(self, method: str, path: str, auth: bool, **kw: Any) -> httpx.Response:
        headers = {**kw.pop("headers", {}), **(self._auth_headers() if auth else {})}
        try:
            return self.http.request(method, path, headers=headers, **kw)
        except httpx.TransportError as error:
            raise CliError(f"cannot reach {self.server}: {error or type(error).__name__}") from None

    def _result(self, response: httpx.Response, auth: bool) -> Any:
        if response.is_success:
            if response.status_code == 204 or not response.content:
                return None
            if "json" not in response.headers.get("content-type", "json"):
                return response.text
            return response.json()
        error = problem_of(response)
        if auth and response.status_code == 401:
            raise NotSignedIn(f"{error.detail}: run `pyk8s login`")
        raise error

    def _refresh(self) -> bool:
        """Trade the stored refresh token for a new pair; False when that is not possible."""
        try:
            return self.refresh_session()
        except CliError:  # the server is unreachable: the caller reports the 401 it has
            return False

    def refresh_session(self) -> bool:
        """Trade the stored refresh token for a new pair and store it. False when there is
        none or the server refuses it (the login is then forgotten); a CliError when the
        server cannot be reached."""
        stale = self.session
        if stale is None or not stale.refresh_token:
            return False
        # A refresh token is single-use and spending one twice revokes the whole login, so
        # pyk8s processes (kubectl runs several exec plugins at once) renew one at a time,
        # and one that waited takes the pair the other stored.
        with self.config.locked():
            self.config.reload()
            session = self.session
            if session is None or not session.refresh_token:
                return False
            if session.refresh_token != stale.refresh_token:
                return True
            return self._renew(session)

    def _renew(self, session: Session) -> bool:
        response = self._send(
            "POST", "/auth/refresh", False, json={"refresh_token": session.refresh_token}
        )
        if not response.is_success:
            self.config.forget(self.server)
            return False
        pair = response.json()
        self.config.set_session(
            self.server, Session(pair["access_token"], pair["refresh_token"], session.username)
        )
        return True

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def all_pages(
        self, path: str, key: str, params: dict[str, Any] | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The items of a paged list under `key`, following `next_cursor` (with the same
        filters) to the last page, or until `limit` items."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        found: list[dict[str, Any]] = []
        while True:
            wanted = MAX_PAGE if limit is None else min(MAX_PAGE, limit - len(found))
            answer = self.get(path, params={**query, "limit": wanted})
            found += answer.get(key, [])
            cursor = answer.get("next_cursor")
            if cursor is None or (limit is not None and len(found) >= limit):
                return found
            query["cursor"] = cursor

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("POST", path, json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    @contextmanager
    def stream(self, path: str, timeout: httpx.Timeout, **kw: Any) -> Iterator[httpx.Response]:
        """An authenticated streaming GET (refreshing once on 401); raises ApiError on error
        answers and lets httpx transport errors through for the caller to handle."""
        headers = kw.pop("headers", {})
        for attempt in (0, 1):
            with self.http.stream(
                "GET", path, headers={**headers, **self._auth_headers()}, timeout=timeout, **kw
            ) as response:
                if response.status_code == 401 and attempt == 0 and self._refresh():
                    continue
                if not response.is_success:
                    response.read()
                    self._result(response, auth=True)
                yield response
                return
