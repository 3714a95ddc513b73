"""Names to ids: teams by name, members by username, clusters by name or id."""

from typing import Any
from uuid import UUID

from .client import ApiClient
from .errors import EXIT_NOT_FOUND, CliError


def is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def teams(api: ApiClient) -> list[dict[str, Any]]:
    return api.all_pages("/teams", "teams")


def team(api: ApiClient, name: str) -> dict[str, Any]:
    """The caller's team named `name` (or with that id)."""
    for found in teams(api):
        if found.get("name") == name or str(found.get("id")) == name:
            return found
    raise CliError(
        f"no team named {name!r} among your teams (see `pyk8s team list`)", exit_code=EXIT_NOT_FOUND
    )


def team_id(api: ApiClient, name: str | None) -> str | None:
    return None if name is None else str(team(api, name)["id"])


def members(api: ApiClient, team_id_: str) -> list[dict[str, Any]]:
    return api.all_pages(f"/teams/{team_id_}/members", "members")


def member(api: ApiClient, team_: dict[str, Any], who: str) -> dict[str, Any]:
    for found in members(api, str(team_["id"])):
        if who in (found.get("username"), found.get("email"), str(member_id(found))):
            return found
    raise CliError(f"{who!r} is not a member of team {team_['name']!r}", exit_code=EXIT_NOT_FOUND)


def member_id(found: dict[str, Any]) -> Any:
    return found.get("user_id") or found.get("id")


def clusters(
    api: ApiClient, team_id_: str | None = None, limit: int | None = None, **filters: Any
) -> list[dict[str, Any]]:
    """Visible clusters, newest first: every page, or the first `limit`; `filters` are the
    list's other query parameters (status, provider, created_by)."""
    return api.all_pages("/clusters", "clusters", {"team_id": team_id_, **filters}, limit)


def cluster(api: ApiClient, name: str, team_name: str | None = None) -> dict[str, Any]:
    """A visible cluster by id, or by name (narrowed to one team with `team_name`)."""
    if is_uuid(name):
        return api.get(f"/clusters/{name}")
    found = [
        c
        for c in clusters(api, team_id(api, team_name))
        if c.get("name") == name and c.get("status") != "deleted"
    ]
    if not found:
        raise CliError(
            f"no cluster named {name!r} (see `pyk8s cluster list`)", exit_code=EXIT_NOT_FOUND
        )
    if len(found) > 1:
        raise CliError(
            f"{len(found)} clusters are named {name!r}: pass --team or the cluster id", exit_code=2
        )
    return found[0]
