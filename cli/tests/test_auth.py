"""signup, login, whoami, logout, stored credentials and error paths, against the real
platform."""

import json
import stat

import pytest
import yaml

from cli.tests.support import PASSWORD, Users, fails
from pyk8s_cli.errors import EXIT_AUTH, EXIT_ERROR, EXIT_USAGE


@pytest.fixture
def users(platform, tmp_path) -> Users:
    return Users(platform.url, tmp_path)


def test_signup_logs_in_and_whoami_parses_back_as_json_and_yaml(users):
    ada = users.signed_up("ada")
    me = ada.json("whoami")
    assert me["username"] == "ada" and me["email"] == "ada@example.com"
    as_yaml = yaml.safe_load(ada.ok("whoami", "--output", "yaml").stdout)
    assert as_yaml == me
    table = ada.ok("whoami").stdout
    assert "ada@example.com" in table and me["id"] in table


def test_login_with_prompts_then_whoami(users, api, person):
    grace = person("grace")
    cli = users.new("grace")
    result = cli.ok("login", input=f"{grace.username}\n{PASSWORD}\n")
    assert "logged in as grace" in result.stderr
    assert PASSWORD not in result.stdout + result.stderr
    assert cli.json("whoami")["id"] == grace.id


def test_login_by_email_with_options(users, person):
    alan = person("alan")
    cli = users.new("alan")
    cli.ok("login", "-u", alan.email, "--password", PASSWORD)
    assert cli.json("whoami")["username"] == "alan"


def test_credentials_are_private_and_kept_per_server(users, platform):
    ada = users.signed_up("ada")
    assert stat.S_IMODE(ada.credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(ada.credentials.parent.stat().st_mode) == 0o700
    stored = json.loads(ada.credentials.read_text())
    assert stored["current_server"] == platform.url
    assert set(stored["servers"]) == {platform.url}
    assert stored["servers"][platform.url]["username"] == "ada"
    # Another server never receives these tokens: the CLI is simply not signed in there.
    fails(ada.run("whoami", env={"PYK8S_SERVER": "http://127.0.0.1:9"}), EXIT_AUTH, "not signed in")


def test_server_of_the_last_login_is_remembered(users):
    ada = users.signed_up("ada")
    assert ada.json("whoami")["username"] == "ada"
    without_env = ada.run("whoami", "-o", "json", env={"PYK8S_SERVER": None})
    assert without_env.exit_code == 0, without_env.stderr
    assert json.loads(without_env.stdout)["username"] == "ada"


def test_wrong_password_exits_with_the_auth_code(users, person):
    grace = person("grace")
    cli = users.new("grace")
    fails(cli.run("login", "-u", grace.username, "--password", "not the password"), EXIT_AUTH)
    assert not cli.credentials.exists()


def test_commands_need_a_login(users):
    fails(users.new("nobody").run("whoami"), EXIT_AUTH, "not signed in", "pyk8s login")


def test_no_server_configured_says_how_to_set_one(users):
    cli = users.new("lost")
    fails(cli.run("whoami", env={"PYK8S_SERVER": None}), EXIT_AUTH, "PYK8S_SERVER")


def test_logout_revokes_the_refresh_token_and_forgets_it(users, api):
    ada = users.signed_up("ada")
    stored = json.loads(ada.credentials.read_text())["servers"][ada.server]
    assert "logged out" in ada.ok("logout").stderr
    assert json.loads(ada.credentials.read_text())["servers"] == {}
    fails(ada.run("whoami"), EXIT_AUTH)
    refresh = api.post("/auth/refresh", json={"refresh_token": stored["refresh_token"]})
    assert refresh.status_code == 401


def test_expired_access_token_is_refreshed_silently(users):
    ada = users.signed_up("ada")
    data = json.loads(ada.credentials.read_text())
    old = data["servers"][ada.server]
    data["servers"][ada.server]["access_token"] = "expired.or.garbage"
    ada.credentials.write_text(json.dumps(data))
    assert ada.json("whoami")["username"] == "ada"
    renewed = json.loads(ada.credentials.read_text())["servers"][ada.server]
    assert renewed["access_token"] not in ("expired.or.garbage", old["access_token"])
    assert renewed["refresh_token"] != old["refresh_token"]
    assert stat.S_IMODE(ada.credentials.stat().st_mode) == 0o600


def test_failed_refresh_asks_to_log_in_again(users):
    ada = users.signed_up("ada")
    data = json.loads(ada.credentials.read_text())
    data["servers"][ada.server].update(access_token="garbage", refresh_token="garbage")
    ada.credentials.write_text(json.dumps(data))
    fails(ada.run("whoami"), EXIT_AUTH, "pyk8s login")
    assert json.loads(ada.credentials.read_text())["servers"] == {}


def test_api_token_from_the_environment_and_login_token(users, person):
    grace = person("grace")
    created = grace.post("/auth/tokens", json={"name": "ci"})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    cli = users.new("ci")
    me = cli.ok("whoami", "-o", "json", env={"PYK8S_TOKEN": token})
    assert json.loads(me.stdout)["username"] == "grace"
    assert not cli.credentials.exists()
    cli.ok("login", "--token", token)
    assert cli.json("whoami")["username"] == "grace"
    fails(users.new("bad").run("login", "--token", "pyk8s_pat_wrong"), EXIT_AUTH)


def test_duplicate_signup_is_one_clear_error(users):
    users.signed_up("ada")
    again = users.new("ada2").run(
        "signup", "-u", "ada", "--email", "other@example.com", "--password", PASSWORD
    )
    fails(again, EXIT_ERROR)


def test_invalid_signup_names_the_field(users):
    result = users.new("bad").run(
        "signup", "-u", "Not_A_Label", "--email", "x@example.com", "--password", PASSWORD
    )
    fails(result, EXIT_ERROR, "username")


def test_unreachable_server_is_one_line(users):
    result = users.new("offline").run(
        "login", "--server", "http://127.0.0.1:9", "-u", "x", "--password", "y"
    )
    fails(result, EXIT_ERROR, "cannot reach")


def test_usage_errors_exit_2(users):
    cli = users.new("typo")
    assert cli.run("whoami", "--output", "xml").exit_code == EXIT_USAGE
    assert cli.run("cluster", "create", "demo", "--workers", "9").exit_code == EXIT_USAGE
    assert cli.run("login", "--server", "ftp://example.com").exit_code == EXIT_USAGE
