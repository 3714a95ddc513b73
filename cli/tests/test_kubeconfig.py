"""`cluster kubeconfig`: merging into an existing ~/.kube/config on a temporary HOME, and the
command against the gateway double."""

import os
import stat

import pytest
import yaml

from cli.tests.support import CliUser, fails
from pyk8s_cli import kubeconfig
from pyk8s_cli.errors import EXIT_AUTH, EXIT_NOT_FOUND, EXIT_USAGE, CliError


def cluster_kubeconfig(server: str, runtime: str = "kind-t1-demo") -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": runtime,
            "clusters": [
                {
                    "name": runtime,
                    "cluster": {"server": server, "certificate-authority-data": "Q0E="},
                }
            ],
            "users": [
                {
                    "name": runtime,
                    "user": {"client-certificate-data": "Q0VSVA==", "client-key-data": "S0VZ"},
                }
            ],
            "contexts": [{"name": runtime, "context": {"cluster": runtime, "user": runtime}}],
        }
    )


EXISTING = {
    "apiVersion": "v1",
    "kind": "Config",
    "current-context": "work",
    "preferences": {"colors": True},
    "clusters": [{"name": "work", "cluster": {"server": "https://work.example.com"}}],
    "users": [{"name": "work", "user": {"token": "secret-work-token"}}],
    "contexts": [
        {"name": "work", "context": {"cluster": "work", "user": "work", "namespace": "apps"}}
    ],
}


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return tmp_path


def names(config, section):
    return [entry["name"] for entry in config[section]]


def test_merge_keeps_existing_entries_and_replaces_its_own(home):
    path = kubeconfig.default_path()
    assert path == home / ".kube" / "config"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(EXISTING))

    kubeconfig.merge_into(path, cluster_kubeconfig("https://127.0.0.1:6443"), "pyk8s-demo")
    kubeconfig.merge_into(path, cluster_kubeconfig("https://127.0.0.1:7443"), "pyk8s-demo")

    merged = yaml.safe_load(path.read_text())
    for section in ("clusters", "users", "contexts"):
        assert names(merged, section) == ["work", "pyk8s-demo"]
    assert merged["clusters"][0] == EXISTING["clusters"][0]
    assert merged["users"][0] == EXISTING["users"][0]
    assert merged["contexts"][0] == EXISTING["contexts"][0]
    assert merged["preferences"] == {"colors": True}
    assert merged["clusters"][1]["cluster"]["server"] == "https://127.0.0.1:7443"
    assert merged["contexts"][1]["context"] == {"cluster": "pyk8s-demo", "user": "pyk8s-demo"}
    assert merged["current-context"] == "pyk8s-demo"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["config"]  # no temporary file left


def test_merge_without_switching_keeps_the_current_context(home):
    path = home / ".kube" / "config"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(EXISTING))
    kubeconfig.merge_into(
        path, cluster_kubeconfig("https://127.0.0.1:6443"), "pyk8s-demo", switch_context=False
    )
    assert yaml.safe_load(path.read_text())["current-context"] == "work"


def test_merge_creates_the_file_when_there_is_none(home):
    path = kubeconfig.default_path()
    kubeconfig.merge_into(path, cluster_kubeconfig("https://127.0.0.1:6443"), "pyk8s-demo")
    merged = yaml.safe_load(path.read_text())
    assert merged["kind"] == "Config" and merged["current-context"] == "pyk8s-demo"
    assert names(merged, "users") == ["pyk8s-demo"]
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_kubeconfig_env_names_the_target(home, monkeypatch):
    first, second = home / "a.yaml", home / "b.yaml"
    monkeypatch.setenv("KUBECONFIG", f"{first}:{second}")
    assert kubeconfig.default_path() == first


def test_a_broken_existing_file_is_refused_and_left_alone(home):
    path = home / ".kube" / "config"
    path.parent.mkdir()
    path.write_text("clusters: [unclosed\n")
    with pytest.raises(CliError, match="not valid YAML"):
        kubeconfig.merge_into(path, cluster_kubeconfig("https://127.0.0.1:6443"), "pyk8s-demo")
    assert path.read_text() == "clusters: [unclosed\n"


def test_a_kubeconfig_without_context_is_refused(home):
    with pytest.raises(CliError, match="no usable context"):
        kubeconfig.merge_into(home / "config", "apiVersion: v1\nkind: Config\n", "pyk8s-demo")


# `pyk8s cluster kubeconfig` against the gateway double, which answers as the gateway does:
# the exec-plugin kubeconfig for anyone who sees the cluster, the admin one for admins.


def signed_in(double, tmp_path, role="member") -> CliUser:
    user = CliUser(tmp_path / "home", double.url)
    double.sign_in(user.credentials, role)
    return user


def test_the_kubeconfig_runs_the_plugin_and_holds_no_secret(double, tmp_path):
    user = signed_in(double, tmp_path)
    result = user.ok("cluster", "kubeconfig", "demo")
    printed = yaml.safe_load(result.stdout)
    cluster_id = double.cluster["id"]
    [entry] = printed["users"]
    assert entry["name"] == "pyk8s-demo" and set(entry["user"]) == {"exec"}
    plugin = entry["user"]["exec"]
    assert plugin["command"] == "pyk8s" and plugin["interactiveMode"] == "Never"
    assert plugin["args"] == ["--server", double.url, "kube-credential", "--cluster", cluster_id]
    assert printed["clusters"][0]["cluster"]["server"] == f"{double.url}/k8s/clusters/{cluster_id}"
    assert "pyk8s_" not in result.stdout and "token" not in result.stdout
    assert result.stderr == ""  # pyk8s is on PATH and the server is https: nothing to warn

    target = tmp_path / "demo.yaml"
    user.ok("cluster", "kubeconfig", "demo", "--file", str(target))
    assert yaml.safe_load(target.read_text()) == printed
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_merge_adds_the_exec_context_under_the_servers_name(double, tmp_path):
    user = signed_in(double, tmp_path)
    path = user.home / ".kube" / "config"
    path.parent.mkdir(parents=True)
    path.write_text(yaml.safe_dump(EXISTING))
    for _ in range(2):
        merged = user.ok("cluster", "kubeconfig", "demo", "--merge")
        assert f"merged context pyk8s-demo into {path}" in merged.stderr
    merged = yaml.safe_load(path.read_text())
    assert names(merged, "contexts") == ["work", "pyk8s-demo"]
    assert merged["current-context"] == "pyk8s-demo"
    assert merged["users"][0] == EXISTING["users"][0]
    assert set(merged["users"][1]["user"]) == {"exec"}
    stored = yaml.safe_load(user.credentials.read_text())["servers"][double.url]
    assert stored["access_token"] not in path.read_text()
    assert stored["refresh_token"] not in path.read_text()

    path.write_text(yaml.safe_dump(EXISTING))
    user.ok("cluster", "kubeconfig", "demo", "--merge", "--no-switch-context")
    assert yaml.safe_load(path.read_text())["current-context"] == "work"


def test_merge_writes_the_first_file_of_kubeconfig(double, tmp_path):
    user = signed_in(double, tmp_path)
    first = tmp_path / "first.yaml"
    env = {"KUBECONFIG": f"{first}{os.pathsep}{tmp_path / 'second.yaml'}"}
    user.ok("cluster", "kubeconfig", "demo", "--merge", env=env)
    assert names(yaml.safe_load(first.read_text()), "contexts") == ["pyk8s-demo"]
    assert not (tmp_path / "second.yaml").exists()


def test_admin_kubeconfig_warns_that_it_is_break_glass(double, tmp_path):
    admin = signed_in(double, tmp_path, role="admin")
    result = admin.ok("cluster", "kubeconfig", "demo", "--admin")
    assert yaml.safe_load(result.stdout)["users"][0]["user"] == {"client-key-data": "S0VZ"}
    assert "break-glass" in result.stderr and "cluster-admin" in result.stderr
    assert "audit" in result.stderr
    assert double.calls[f"GET /api/v1/clusters/{double.cluster['id']}/kubeconfig/admin"] == 1

    admin.ok("cluster", "kubeconfig", "demo", "--admin", "--merge", "--no-switch-context")
    merged = yaml.safe_load((admin.home / ".kube" / "config").read_text())
    assert names(merged, "contexts") == ["pyk8s-demo-admin"]


def test_admin_kubeconfig_is_refused_below_admin(double, tmp_path):
    member = signed_in(double, tmp_path, role="member")
    result = member.run("cluster", "kubeconfig", "demo", "--admin")
    fails(result, EXIT_NOT_FOUND, "admin role")
    assert result.stdout == "" and "break-glass" not in result.stderr


def test_kubeconfig_bad_input_and_no_login(double, tmp_path):
    user = signed_in(double, tmp_path)
    merge_and_file = user.run("cluster", "kubeconfig", "demo", "--merge", "--file", "x.yaml")
    fails(merge_and_file, EXIT_USAGE, "--file")
    fails(user.run("cluster", "kubeconfig", "nope"), EXIT_NOT_FOUND, "no cluster named 'nope'")
    nobody = CliUser(tmp_path / "nobody", double.url)
    fails(nobody.run("cluster", "kubeconfig", "demo"), EXIT_AUTH, "not signed in")


def test_kubectl_problems_are_warned_about(double, tmp_path):
    user = signed_in(double, tmp_path)
    result = user.ok("cluster", "kubeconfig", "demo", env={"PATH": str(tmp_path)})
    assert "`pyk8s`" in result.stderr and "not on PATH" in result.stderr
    plain = double.exec_kubeconfig().replace("https://", "http://")
    [problem] = kubeconfig.kubectl_problems(plain)
    assert "no credentials" in problem and "https" in problem
    assert kubeconfig.kubectl_problems(cluster_kubeconfig("http://127.0.0.1:6443")) == []


def test_the_plugin_asks_the_server_the_cli_is_signed_in_to():
    """The server names its public URL (https, for kubectl); the CLI may be signed in to
    another address of the platform (http under `make up`), where its login is."""
    handed_out = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "users": [
                {
                    "name": "pyk8s-demo",
                    "user": {
                        "exec": {
                            "command": "pyk8s",
                            "args": ["--server", "https://lab:8443", "kube-credential"],
                        }
                    },
                }
            ],
        }
    )
    rewritten = yaml.safe_load(kubeconfig.plugin_signed_in_to(handed_out, "http://lab:8080"))
    assert rewritten["users"][0]["user"]["exec"]["args"] == [
        "--server",
        "http://lab:8080",
        "kube-credential",
    ]
