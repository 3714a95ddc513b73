"""Bad input is a 422 problem, never a 500: NUL characters in any text (PostgreSQL refuses
them), and numbers or booleans that are not JSON numbers or booleans. The last two tests read
the gateway's own route table, so a new request body is checked as soon as it exists."""

import uuid

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import TypeAdapter, ValidationError

from conftest import unique
from pyk8s_contracts.common import Contract
from pyk8s_gateway.main import create_app
from pyk8s_gateway.settings import GatewaySettings

NUL = "a\u0000b"


@pytest.fixture
def platform_overrides():
    return {"auth": {"argon2_memory_kib": 1024, "argon2_time_cost": 1}}


def assert_refused(answer, error_type: str | None = None) -> None:
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["code"] == "validation_error"
    if error_type:
        assert error_type in [e["type"] for e in body["errors"]], body


def signup_body(**override) -> dict:
    name = unique()
    return {"username": name, "email": f"{name}@example.com", "password": "long enough", **override}


def test_nul_in_any_text_is_422(api, person, make_team):
    alice = person()
    team_id = make_team(alice)
    refused = [
        api.post("/auth/signup", json=signup_body(display_name=NUL)),
        api.post("/auth/signup", json=signup_body(password="long enough" + NUL)),
        api.post("/auth/signup", json=signup_body(invitation_token=NUL)),
        api.post("/auth/login", json={"login": unique() + NUL, "password": "whatever"}),
        api.post("/auth/login", json={"login": alice.username, "password": NUL}),
        api.post("/auth/refresh", json={"refresh_token": NUL}),
        alice.post("/auth/tokens", json={"name": NUL}),
        alice.post("/teams", json={"name": unique("team-"), "display_name": NUL}),
        alice.patch(f"/teams/{team_id}", json={"display_name": NUL}),
        alice.post(f"/teams/{team_id}/invitations", json={"login": NUL, "role": "member"}),
        alice.post(f"/teams/{team_id}/invitations", json={"login": f"x{NUL}@example.com"}),
    ]
    for answer in refused:
        assert_refused(answer, "nul_character")
    # Nothing was half done: the team kept its name, the account can still log in.
    assert alice.get(f"/teams/{team_id}").json()["display_name"] != NUL
    assert api.post(
        "/auth/login", json={"login": alice.username, "password": alice.password}
    ).is_success


@pytest.mark.parametrize("hours", [True, "8", 8.5, None])
def test_extend_hours_must_be_a_json_integer(person, hours):
    answer = person().post(f"/clusters/{uuid.uuid4()}/extend", json={"hours": hours})
    assert_refused(answer)


@pytest.mark.parametrize(
    "override", [{"workers": True}, {"workers": "1"}, {"ttl_hours": "8"}, {"ttl_hours": False}]
)
def test_cluster_numbers_must_be_json_integers(person, override):
    body = {"name": "demo", "provider": "kind", **override}
    assert_refused(person().post("/clusters", json=body))


@pytest.mark.parametrize("days", [True, "30"])
def test_token_lifetime_must_be_a_json_integer(person, days):
    assert_refused(person().post("/auth/tokens", json={"name": "ci", "expires_in_days": days}))


def test_uuids_and_enums_in_bodies_still_parse(person, make_team):
    alice = person()
    # A team the caller is not in: the body parsed (UUID string, enum), the role check said no.
    body = {"name": "demo", "provider": "k3d", "team_id": str(uuid.uuid4()), "workers": 1}
    answer = alice.post("/clusters", json={**body, "ttl_hours": 2})
    assert answer.status_code == 404, answer.text
    team_id = make_team(alice)
    invited = alice.post(
        f"/teams/{team_id}/invitations", json={"login": "new@example.com", "role": "viewer"}
    )
    assert invited.status_code == 201, invited.text


def request_bodies() -> list[tuple[str, type]]:
    app = create_app(GatewaySettings())
    return [
        (context.path, context.original_route.body_field.field_info.annotation)
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute)
        and context.original_route.body_field is not None
    ]


def test_every_request_body_is_a_contract():
    """Contracts refuse unknown fields and NUL characters."""
    bodies = request_bodies()
    assert bodies
    assert [path for path, model in bodies if not issubclass(model, Contract)] == []


def reads_as_number(adapter: TypeAdapter, value: object) -> bool:
    try:
        return isinstance(adapter.validate_python(value), int | float | bool)
    except ValidationError:
        return False


def lax_fields(model: type) -> list[str]:
    """Fields that would read `true` or `"1"` as a number or a boolean."""
    return [
        name
        for name, field in model.model_fields.items()
        if any(reads_as_number(TypeAdapter(field.rebuild_annotation()), v) for v in (True, "1"))
    ]


def test_every_number_and_boolean_in_a_body_is_strict():
    assert {path: lax_fields(model) for path, model in request_bodies() if lax_fields(model)} == {}
