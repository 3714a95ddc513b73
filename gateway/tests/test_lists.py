"""Every list over HTTP against the real services: pages of `limit` items, newest first,
`next_cursor` in the body and the same in a `Link` header, filters, refused cursors and
limits (422 problem+json), a team filter for someone else's team refused (404), and the
caller's teams asked of the teams service once per cluster list, however many teams."""

from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import unique

PROBLEM = "application/problem+json"


def follow(person, path: str, key: str, **params) -> tuple[list[dict], int]:
    """Every item of a list, page by page through the `Link` header (checking that it
    carries the body's `next_cursor` and the same query)."""
    items, pages = [], 0
    response = person.get(path, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items += body[key]
        pages += 1
        if body["next_cursor"] is None:
            assert "link" not in response.headers
            return items, pages
        target, rel = response.headers["link"].split("; ")
        assert rel == 'rel="next"'
        url = urlsplit(target.strip("<>"))
        query = {name: values[0] for name, values in parse_qs(url.query).items()}
        assert url.path == f"/api/v1{path}"
        assert query == {**{k: str(v) for k, v in params.items()}, "cursor": body["next_cursor"]}
        response = person.get(path, params=query)


def refused(response, status: int = 422) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return response.json()


def test_clusters_page_newest_first_with_link_headers(person, add_cluster):
    alice = person()
    made = [add_cluster(alice.id) for _ in range(5)]
    items, pages = follow(alice, "/clusters", "clusters", limit=2)
    assert pages == 3
    assert [c["id"] for c in items] == made[::-1]  # newest first, each once
    whole = alice.get("/clusters").json()
    assert [c["id"] for c in whole["clusters"]] == made[::-1]
    assert whole["next_cursor"] is None


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten", ""])
def test_a_limit_out_of_range_is_refused(person, limit):
    problem = refused(person().get("/clusters", params={"limit": limit}))
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize("path", ["/clusters", "/teams", "/invitations", "/auth/tokens"])
def test_a_tampered_cursor_is_a_clear_422(person, path):
    problem = refused(person().get(path, params={"cursor": "eyJzIjoiMSJ9"}))
    assert problem["code"] == "validation_error"
    assert "cursor" in problem["detail"]


def test_a_cursor_is_bound_to_its_filters_and_caller(person, add_cluster):
    alice, bob = person(), person()
    for _ in range(3):
        add_cluster(alice.id)
    cursor = alice.get("/clusters", params={"limit": 1}).json()["next_cursor"]
    for who, params in (
        (alice, {"limit": 1, "cursor": cursor, "provider": "kind"}),
        (bob, {"limit": 1, "cursor": cursor}),
        (alice, {"cursor": cursor + "x"}),
    ):
        problem = refused(who.get("/clusters", params=params))
        assert "cursor" in problem["detail"], problem


def test_cluster_filters(person, add_cluster, make_team, join_team):
    alice, bob = person(), person()
    team = make_team(alice)
    join_team(alice, team, bob, "member")
    personal = add_cluster(alice.id)
    by_alice = add_cluster(alice.id, team_id=team)
    by_bob = add_cluster(bob.id, team_id=team)
    failed = add_cluster(bob.id, team_id=team, status="failed")
    add_cluster(bob.id)  # bob's personal cluster: never alice's to see

    def ids(**params) -> set[str]:
        return {c["id"] for c in follow(alice, "/clusters", "clusters", **params)[0]}

    assert ids() == {personal, by_alice, by_bob, failed}
    assert ids(team_id=team) == {by_alice, by_bob, failed}
    assert ids(team_id=team, created_by=bob.id) == {by_bob, failed}
    assert ids(created_by=alice.id) == {personal, by_alice}
    assert ids(status="failed") == {failed}
    assert ids(provider="k3d") == set()
    assert refused(alice.get("/clusters", params={"status": "sleeping"}))["code"] == (
        "validation_error"
    )


def test_a_team_filter_for_a_team_you_are_not_in_is_not_found(person, add_cluster, make_team):
    alice, outsider = person(), person()
    team = make_team(alice)
    add_cluster(alice.id, team_id=team)
    problem = refused(outsider.get("/clusters", params={"team_id": team}), 404)
    assert problem["code"] == "not_found"
    assert outsider.get("/clusters").json()["clusters"] == []


async def test_a_list_over_many_teams_asks_the_teams_service_once(
    platform, person, add_cluster, make_team
):
    alice = person()
    teams = [make_team(alice) for _ in range(12)]
    for team in teams:
        add_cluster(alice.id, team_id=team)
    # A plain subscription (no queue group) sees every request the teams service serves.
    spy = await platform.nats.connect("teams")
    seen: list[str] = []

    async def record(msg) -> None:
        seen.append(msg.subject)

    await spy.subscribe("teams.*", cb=record)
    await spy.flush()
    try:
        listed = alice.get("/clusters", params={"limit": 200})
        assert listed.status_code == 200, listed.text
        assert len(listed.json()["clusters"]) == 12
        await spy.flush()
        assert seen == ["teams.roles"]
    finally:
        await spy.close()


def test_teams_members_invitations_and_tokens_page_too(person, make_team, join_team):
    alice = person()
    teams = [make_team(alice) for _ in range(3)]
    listed, pages = follow(alice, "/teams", "teams", limit=2)
    assert [t["id"] for t in listed] == teams[::-1] and pages == 2
    assert follow(alice, "/teams", "teams", role="viewer")[0] == []

    others = [person() for _ in range(2)]
    for other in others:
        join_team(alice, teams[0], other, "viewer")
    members, pages = follow(alice, f"/teams/{teams[0]}/members", "members", limit=1)
    assert [m["user_id"] for m in members] == [o.id for o in others[::-1]] + [alice.id]
    assert pages == 3
    viewers, _ = follow(alice, f"/teams/{teams[0]}/members", "members", role="viewer")
    assert {m["user_id"] for m in viewers} == {o.id for o in others}

    invitee = person()
    for team in teams:
        invited = alice.post(f"/teams/{team}/invitations", json={"login": invitee.username})
        assert invited.status_code == 201, invited.text
    received, pages = follow(invitee, "/invitations", "invitations", limit=2)
    assert [i["team_id"] for i in received] == teams[::-1] and pages == 2
    for team in teams:
        alice.post(f"/teams/{team}/invitations", json={"login": f"{unique()}@example.com"})
    sent, pages = follow(alice, f"/teams/{teams[1]}/invitations", "invitations", limit=1)
    assert len(sent) == 2 and pages == 2

    for name in ("one", "two", "three"):
        assert alice.post("/auth/tokens", json={"name": name}).status_code == 201
    tokens, pages = follow(alice, "/auth/tokens", "tokens", limit=2)
    assert [t["name"] for t in tokens] == ["three", "two", "one"] and pages == 2
