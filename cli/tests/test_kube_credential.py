"""`pyk8s kube-credential`, kubectl's exec plugin: the ExecCredential it prints, the stored
login renewed near its expiry, API tokens traded for short-lived tokens and cached, and its
errors. Against the real platform, and against the gateway double where a test counts the
server's calls or runs kubectl itself."""

import json
import os
import shutil
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from cli.tests.gateway_double import fake_jwt
from cli.tests.support import CliUser, Users, fails
from pyk8s_cli.credential import CACHE_NAME, expiry
from pyk8s_cli.errors import EXIT_AUTH, EXIT_ERROR, EXIT_USAGE

CLUSTER = "6f1c2d3e-0000-4000-8000-000000000001"
RFC3339 = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture
def users(platform, tmp_path) -> Users:
    return Users(platform.url, tmp_path)


def credential(user: CliUser, env: dict | None = None) -> dict:
    return json.loads(user.ok("kube-credential", "--cluster", CLUSTER, env=env).stdout)


def stored(user: CliUser) -> dict:
    return json.loads(user.credentials.read_text())["servers"][user.server]


def set_access_token(user: CliUser, token: str) -> None:
    data = json.loads(user.credentials.read_text())
    data["servers"][user.server]["access_token"] = token
    user.credentials.write_text(json.dumps(data))


def username(server: str, token: str) -> str:
    me = httpx.get(f"{server}/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    return me.json()["username"]


def api_token(person) -> str:
    created = person.post("/auth/tokens", json={"name": "kubectl"})
    assert created.status_code == 201, created.text
    return created.json()["token"]


def test_the_login_gives_an_exec_credential(users):
    ada = users.signed_up("ada")
    answer = credential(ada)
    assert answer["apiVersion"] == "client.authentication.k8s.io/v1"
    assert answer["kind"] == "ExecCredential"
    assert set(answer["status"]) == {"token", "expirationTimestamp"}
    token = answer["status"]["token"]
    assert token == stored(ada)["access_token"]
    assert username(ada.server, token) == "ada"
    # kubectl is told a minute early, so it never sends a token about to expire.
    reported = datetime.strptime(answer["status"]["expirationTimestamp"], RFC3339)
    assert reported.replace(tzinfo=UTC) == expiry(token) - timedelta(seconds=60)


def test_a_login_about_to_expire_is_renewed_first(users):
    ada = users.signed_up("ada")
    before = stored(ada)
    set_access_token(ada, fake_jwt(30))
    token = credential(ada)["status"]["token"]
    after = stored(ada)
    assert token == after["access_token"] and username(ada.server, token) == "ada"
    assert after["refresh_token"] != before["refresh_token"]
    assert expiry(token) > datetime.now(UTC) + timedelta(minutes=10)


def test_processes_renewing_at_once_spend_the_refresh_token_once(users):
    """kubectl runs exec plugins in parallel; a refresh token spent twice would revoke the
    login, so they take turns and the later ones use the pair the first stored."""
    ada = users.signed_up("ada")
    set_access_token(ada, fake_jwt(30))
    env = {
        **os.environ,
        "HOME": str(ada.home),
        "XDG_CONFIG_HOME": str(ada.home / ".config"),
        "PYK8S_SERVER": ada.server,
    }
    env.pop("PYK8S_TOKEN", None)
    command = [sys.executable, "-m", "pyk8s_cli", "kube-credential", "--cluster", CLUSTER]
    running = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=60) for process in running]
    assert all(process.returncode == 0 for process in running), outputs
    tokens = {json.loads(out)["status"]["token"] for out, _ in outputs}
    assert tokens == {stored(ada)["access_token"]}
    # The stored login still works: nobody replayed a spent refresh token.
    assert ada.json("whoami")["username"] == "ada"
    renewed = httpx.post(
        f"{ada.server}/api/v1/auth/refresh", json={"refresh_token": stored(ada)["refresh_token"]}
    )
    assert renewed.status_code == 200, renewed.text


def test_an_api_token_is_traded_and_never_given_to_kubectl(users, person):
    grace = person("grace")
    long_lived = api_token(grace)
    ci = users.new("ci")
    env = {"PYK8S_TOKEN": long_lived}
    token = credential(ci, env)["status"]["token"]
    assert not token.startswith("pyk8s_pat_") and expiry(token) is not None
    assert expiry(token) < datetime.now(UTC) + timedelta(minutes=16)
    assert username(ci.server, token) == "grace"
    # Cached: the server mints a new token on every trade, so the same one means no call.
    assert credential(ci, env)["status"]["token"] == token
    cache = ci.credentials.with_name(CACHE_NAME)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert long_lived not in cache.read_text()
    assert not ci.credentials.exists()  # PYK8S_TOKEN is never stored


def test_login_with_an_api_token_trades_it_too(users, person):
    grace = person("grace")
    long_lived = api_token(grace)
    ci = users.new("ci")
    ci.ok("login", "--token", long_lived)
    token = credential(ci)["status"]["token"]
    assert token != long_lived and username(ci.server, token) == "grace"


def test_a_revoked_api_token_gets_no_credential(users, person):
    grace = person("grace")
    long_lived = api_token(grace)
    [listed] = grace.get("/auth/tokens").json()["tokens"]
    assert grace.delete(f"/auth/tokens/{listed['id']}").status_code == 204
    result = users.new("ci").run(
        "kube-credential", "--cluster", CLUSTER, env={"PYK8S_TOKEN": long_lived}
    )
    fails(result, EXIT_AUTH, f"no token for cluster {CLUSTER}", "pyk8s login")
    assert result.stdout == ""


def test_without_a_login_it_says_so(users):
    result = users.new("nobody").run("kube-credential", "--cluster", CLUSTER)
    fails(result, EXIT_AUTH, "not signed in", users.server)
    assert result.stdout == ""


def test_an_expired_access_token_given_explicitly_is_refused(users):
    result = users.new("ci").run(
        "kube-credential", "--cluster", CLUSTER, env={"PYK8S_TOKEN": fake_jwt(10)}
    )
    fails(result, EXIT_AUTH, "about to expire", "API token")


def test_a_server_that_is_down_is_one_line(tmp_path):
    offline = CliUser(tmp_path, "http://127.0.0.1:9")
    fails(
        offline.run("kube-credential", "--cluster", CLUSTER, env={"PYK8S_TOKEN": "pyk8s_pat_x"}),
        EXIT_ERROR,
        "cannot reach http://127.0.0.1:9",
    )


def test_a_renewal_with_the_server_down_is_one_line(tmp_path, double):
    user = CliUser(tmp_path, double.url)
    double.sign_in(user.credentials, ttl=30)
    double.stop()
    fails(user.run("kube-credential", "--cluster", CLUSTER), EXIT_ERROR, "cannot reach")


def test_it_answers_in_the_version_kubectl_asks_for(tmp_path, double):
    user = CliUser(tmp_path, double.url)
    double.sign_in(user.credentials)
    beta = {"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential"}
    answer = credential(user, {"KUBERNETES_EXEC_INFO": json.dumps(beta)})
    assert answer["apiVersion"] == beta["apiVersion"]
    alpha = {**beta, "apiVersion": "client.authentication.k8s.io/v1alpha1"}
    unknown = user.run(
        "kube-credential", "--cluster", CLUSTER, env={"KUBERNETES_EXEC_INFO": json.dumps(alpha)}
    )
    fails(unknown, EXIT_USAGE, "v1alpha1")
    fails(user.run("kube-credential"), EXIT_USAGE)


def test_the_cache_saves_calls_until_its_token_nears_expiry(tmp_path, double):
    user = CliUser(tmp_path, double.url)
    env = {"PYK8S_TOKEN": double.api_token()}
    first = credential(user, env)["status"]["token"]
    assert [credential(user, env)["status"]["token"] for _ in range(3)] == [first] * 3
    assert double.calls["POST /api/v1/auth/access-token"] == 1
    # Another API token, or another server, never gets this one.
    other = credential(user, {"PYK8S_TOKEN": double.api_token()})["status"]["token"]
    assert other != first and double.calls["POST /api/v1/auth/access-token"] == 2

    # With under a minute left, the cached token is traded again.
    cache_path = user.credentials.with_name(CACHE_NAME)
    cache = json.loads(cache_path.read_text())
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    cache_path.write_text(json.dumps({k: {**v, "expires_at": soon} for k, v in cache.items()}))
    renewed = credential(user, env)["status"]["token"]
    assert renewed not in (first, other) and double.calls["POST /api/v1/auth/access-token"] == 3


def kubectl_path() -> str | None:
    built = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "kubectl"
    return str(built) if built.exists() else shutil.which("kubectl")


@pytest.mark.skipif(kubectl_path() is None, reason="no kubectl: run scripts/install-k8s-tools.sh")
def test_kubectl_runs_the_plugin_and_sends_only_short_lived_tokens(tmp_path, double):
    user = CliUser(tmp_path, double.url)
    session = double.sign_in(user.credentials, ttl=30)
    user.ok("cluster", "kubeconfig", "demo", "--merge")
    kubeconfig = user.home / ".kube" / "config"
    assert session.access_token not in kubeconfig.read_text()
    assert session.refresh_token not in kubeconfig.read_text()

    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "HOME": str(user.home),
        "XDG_CONFIG_HOME": str(user.home / ".config"),
        "KUBECONFIG": str(kubeconfig),
        "SSL_CERT_FILE": str(double.certificate),
    }
    done = subprocess.run(
        [kubectl_path(), "--context", "pyk8s-demo", "version", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["serverVersion"]["gitVersion"] == "v1.34.4"
    # The login, near its expiry, was renewed by the plugin before kubectl used it.
    assert set(double.proxied) == {stored(user)["access_token"]}
