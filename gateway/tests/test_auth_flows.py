"""Sign-up, login, refresh, logout and API tokens over HTTP, against the real services."""

from datetime import UTC, datetime, timedelta

import pytest

from conftest import unique
from pyk8s_kit.testing import wait_until

PASSWORD = "correct horse battery"
WRONG = "wrong password"
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


def signup(api, username=None, email=None, password=PASSWORD, **extra):
    username = username or unique()
    body = {
        "username": username,
        "email": email or f"{username}@example.com",
        "password": password,
        **extra,
    }
    return api.post("/auth/signup", json=body)


def login(api, login_name, password=PASSWORD):
    return api.post("/auth/login", json={"login": login_name, "password": password})


def assert_problem(answer, status, code):
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body = answer.json()
    assert body["status"] == status and body["code"] == code, body
    return body


def test_signup_returns_the_user_without_secrets(api):
    answer = signup(api, username="ada-l", display_name="Ada Lovelace")
    assert answer.status_code == 201, answer.text
    user = answer.json()
    assert user["username"] == "ada-l" and user["display_name"] == "Ada Lovelace"
    assert "password" not in str(user) and "hash" not in str(user)


def test_display_name_defaults_to_username(api):
    assert signup(api, username="grace").json()["display_name"] == "grace"


def test_email_is_stored_lowercase_and_login_by_email_works(api):
    name = unique()
    signup(api, username=name, email=f"{name.upper()}@Example.COM")
    assert login(api, f"{name}@example.com").status_code == 200


@pytest.mark.parametrize("field", ["username", "email"])
def test_duplicate_username_or_email_is_409(api, field):
    first = unique()
    signup(api, username=first)
    again = signup(
        api,
        username=first if field == "username" else unique(),
        email=f"{first}@example.com" if field == "email" else None,
    )
    body = assert_problem(again, 409, "conflict")
    assert body["field"] == field


@pytest.mark.parametrize(
    "override",
    [
        {"password": "short"},
        {"password": "x" * 129},
        {"username": "Not_A_Label"},
        {"username": "-leading"},
        {"username": "a" * 40},
        {"email": "not-an-email"},
        {"display_name": "x" * 101},
        {"unexpected": "field"},
    ],
)
def test_bad_signup_input_is_422(api, override):
    assert_problem(signup(api, **override), 422, "validation_error")


@pytest.mark.parametrize(
    "body", [None, "not json", [], {"login": 5}, {"login": "", "password": "x"}]
)
def test_bad_login_input_is_422(api, body):
    answer = (
        api.post("/auth/login", content=body, headers={"content-type": "application/json"})
        if isinstance(body, str)
        else api.post("/auth/login", json=body)
    )
    assert_problem(answer, 422, "validation_error")


def test_unknown_user_and_wrong_password_get_the_same_answer(api):
    name = unique()
    signup(api, username=name)
    wrong = login(api, name, "wrong password")
    unknown = login(api, unique("nobody"), "wrong password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"


def test_login_returns_a_bearer_pair(api):
    name = unique()
    signup(api, username=name)
    pair = login(api, name).json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == 15 * 60
    assert pair["access_token"].count(".") == 2
    assert pair["refresh_token"].startswith("pyk8s_rt_")


def test_me_needs_a_token(api):
    assert_problem(api.get("/auth/me"), 401, "unauthorized")


def test_refresh_rotates_and_reuse_is_rejected(api):
    name = unique()
    signup(api, username=name)
    first = login(api, name).json()
    second = api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    second = second.json()
    assert second["refresh_token"] != first["refresh_token"]
    reuse = api.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert_problem(reuse, 401, "invalid_token")
    # Reuse means a copy leaked: the token rotated from it stops working too.
    assert_problem(
        api.post("/auth/refresh", json={"refresh_token": second["refresh_token"]}),
        401,
        "invalid_token",
    )
    me = api.get("/auth/me", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert me.status_code == 200


def test_logout_revokes_the_refresh_token(api, person):
    alice = person()
    refresh = alice.tokens["refresh_token"]
    assert alice.post("/auth/logout", json={"refresh_token": refresh}).status_code == 204
    assert_problem(api.post("/auth/refresh", json={"refresh_token": refresh}), 401, "invalid_token")


def test_logout_needs_sign_in_and_own_token(api, person):
    alice, bob = person(), person()
    assert_problem(
        api.post("/auth/logout", json={"refresh_token": alice.tokens["refresh_token"]}),
        401,
        "unauthorized",
    )
    assert_problem(
        bob.post("/auth/logout", json={"refresh_token": alice.tokens["refresh_token"]}),
        401,
        "invalid_token",
    )
    assert (
        api.post("/auth/refresh", json={"refresh_token": alice.tokens["refresh_token"]}).status_code
        == 200
    )


def test_unknown_refresh_token_is_401(api):
    assert_problem(
        api.post("/auth/refresh", json={"refresh_token": "pyk8s_rt_nope"}), 401, "invalid_token"
    )


def test_api_token_lifecycle(api, person):
    alice = person()
    created = alice.post("/auth/tokens", json={"name": "ci", "expires_in_days": 7})
    assert created.status_code == 201, created.text
    token = created.json()
    assert token["token"].startswith("pyk8s_pat_")
    auth = {"Authorization": f"Bearer {token['token']}"}
    assert api.get("/auth/me", headers=auth).json()["username"] == alice.username

    listed = alice.get("/auth/tokens").json()["tokens"]
    assert [t["name"] for t in listed] == ["ci"]
    assert "token" not in listed[0]  # shown once, at creation only

    assert alice.delete(f"/auth/tokens/{token['id']}").status_code == 204
    # Revocation clears the gateway's cache: refused at once, not after the cache expires.
    assert_problem(api.get("/auth/me", headers=auth), 401, "invalid_token")
    assert alice.get("/auth/tokens").json()["tokens"] == []


def test_api_tokens_are_private_to_their_owner(person):
    alice, bob = person(), person()
    token = alice.post("/auth/tokens", json={"name": "ci"}).json()
    assert bob.get("/auth/tokens").json()["tokens"] == []
    assert_problem(bob.delete(f"/auth/tokens/{token['id']}"), 404, "not_found")


def test_an_api_token_is_traded_for_a_short_lived_access_token(api, person):
    alice = person()
    token = alice.post("/auth/tokens", json={"name": "kubectl"}).json()
    auth = {"Authorization": f"Bearer {token['token']}"}
    before = datetime.now(UTC)
    answer = api.post("/auth/access-token", headers=auth)
    assert answer.status_code == 200, answer.text
    traded = answer.json()
    assert traded["access_token"].count(".") == 2 and "pyk8s_pat_" not in traded["access_token"]
    # Minutes, not the API token's days.
    lifetime = datetime.fromisoformat(traded["expires_at"]) - before
    assert timedelta(minutes=1) < lifetime <= timedelta(minutes=15, seconds=5)
    me = api.get("/auth/me", headers={"Authorization": f"Bearer {traded['access_token']}"})
    assert me.json()["username"] == alice.username


def test_an_access_token_gets_itself_back(person):
    alice = person()
    traded = alice.post("/auth/access-token").json()
    assert traded["access_token"] == alice.tokens["access_token"]


def test_a_revoked_api_token_trades_for_nothing(api, person):
    alice = person()
    token = alice.post("/auth/tokens", json={"name": "kubectl"}).json()
    assert alice.delete(f"/auth/tokens/{token['id']}").status_code == 204
    refused = api.post("/auth/access-token", headers={"Authorization": f"Bearer {token['token']}"})
    assert_problem(refused, 401, "invalid_token")
    assert_problem(api.post("/auth/access-token"), 401, "unauthorized")


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x" * 65},
        {"name": "ci", "expires_in_days": 0},
        {"name": "ci", "expires_in_days": 366},
    ],
)
def test_bad_api_token_input_is_422(person, body):
    assert_problem(person().post("/auth/tokens", json=body), 422, "validation_error")


def test_bad_token_id_is_422(person):
    assert_problem(person().delete("/auth/tokens/not-a-uuid"), 422, "validation_error")


def throttling(**auth):
    """Platform settings for a throttling test: addresses come from X-Forwarded-For, and the
    delays are short enough to wait out for real."""
    return {"auth": auth, "gateway": {"trusted_proxy_hops": 1}}


def login_from(api, address, login_name, password=WRONG):
    return api.post(
        "/auth/login",
        json={"login": login_name, "password": password},
        headers={"X-Forwarded-For": address},
    )


def checked_login(api, address, login_name, password=WRONG):
    """Try until the throttle lets the attempt be checked; its answer."""

    def answer():
        tried = login_from(api, address, login_name, password)
        return tried if tried.status_code != 429 else None

    return wait_until(answer, timeout=10, interval=0.01)


@pytest.mark.parametrize(
    "platform_overrides",
    [throttling(login_first_delay_seconds=0.01, login_pair_max_delay_seconds=0.05)],
)
def test_an_attacker_failing_elsewhere_does_not_lock_the_owner_out(api):
    name = unique()
    signup(api, username=name)
    for _ in range(20):
        assert checked_login(api, ATTACKER, name).status_code == 401
    assert login_from(api, OWNER, name, PASSWORD).status_code == 200


@pytest.mark.parametrize("platform_overrides", [throttling(login_first_delay_seconds=0.25)])
def test_a_failing_address_waits_longer_after_each_failure(api):
    name = unique()
    signup(api, username=name)
    for _ in range(3):
        assert login_from(api, ATTACKER, name).status_code == 401
    # While it waits, not even the right password is checked.
    refused = login_from(api, ATTACKER, name, PASSWORD)
    first = assert_problem(refused, 429, "rate_limited")
    assert refused.headers["Retry-After"] == "1"
    assert checked_login(api, ATTACKER, name).status_code == 401
    second = assert_problem(login_from(api, ATTACKER, name), 429, "rate_limited")
    assert 0 < first["retry_after"] <= 0.25 < second["retry_after"] <= 0.5


@pytest.mark.parametrize("platform_overrides", [throttling(login_first_delay_seconds=0.25)])
def test_a_successful_login_clears_the_address_failures(api):
    name = unique()
    signup(api, username=name)
    for _ in range(3):
        assert login_from(api, ATTACKER, name).status_code == 401
    assert checked_login(api, ATTACKER, name, PASSWORD).status_code == 200
    assert [login_from(api, ATTACKER, name).status_code for _ in range(3)] == [401] * 3


@pytest.mark.parametrize(
    "platform_overrides",
    [
        throttling(
            login_account_free_failures=4,
            login_first_delay_seconds=0.25,
            login_account_max_delay_seconds=0.5,
        )
    ],
)
def test_failures_from_many_addresses_slow_the_owner_but_never_lock_out(api):
    name = unique()
    signup(api, username=name)
    botnet = [f"10.0.0.{n}" for n in range(4)]
    for address in botnet:
        assert login_from(api, address, name).status_code == 401
    slowed = assert_problem(login_from(api, OWNER, name, PASSWORD), 429, "rate_limited")
    assert 0 < slowed["retry_after"] <= 0.5

    def owner_gets_in_while_the_attack_goes_on():
        for address in botnet:
            login_from(api, address, name)
        return login_from(api, OWNER, name, PASSWORD).status_code == 200

    wait_until(owner_gets_in_while_the_attack_goes_on, timeout=10, interval=0.01)


@pytest.mark.parametrize("platform_overrides", [throttling(login_max_failures_per_client=6)])
def test_one_address_failing_on_many_accounts_is_refused(api):
    for _ in range(6):
        assert login_from(api, ATTACKER, unique("spray")).status_code == 401
    name = unique()
    signup(api, username=name)
    refused = login_from(api, ATTACKER, name, PASSWORD)
    assert assert_problem(refused, 429, "rate_limited")["retry_after"] == 900
    assert refused.headers["Retry-After"] == "900"
    assert login_from(api, OWNER, name, PASSWORD).status_code == 200


@pytest.mark.parametrize("platform_overrides", [throttling()])
def test_throttling_does_not_reveal_whether_the_account_exists(api):
    name = unique()
    signup(api, username=name)

    def answers(address, login_name):
        return [login_from(api, address, login_name).status_code for _ in range(5)]

    assert answers(ATTACKER, name) == answers(OWNER, unique("ghost")) == [401] * 3 + [429] * 2
