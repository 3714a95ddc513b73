"""`cluster kubeconfig --merge` into an existing ~/.kube/config on a temporary HOME."""

import stat

import pytest
import yaml

from pyk8s_cli import kubeconfig
from pyk8s_cli.errors import CliError


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
