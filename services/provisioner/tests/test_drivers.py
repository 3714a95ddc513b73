"""Drivers against the kind and k3d test doubles, which create real Docker containers (kwok:
test_kwok.py)."""

import subprocess
import time
from pathlib import Path

import pytest
import yaml

from pyk8s_contracts.clusters import Provider
from pyk8s_provisioner.drivers import (
    CliError,
    CreateSpec,
    K3dDriver,
    KindDriver,
    Timeouts,
    api_server_of,
)
from pyk8s_provisioner.drivers.process import CliResult, error_text
from pyk8s_provisioner.kubeconfigs import reachable_at
from pyk8s_provisioner.kubernetes import bindings_manifest

from .conftest import K3D_DOUBLE, KIND_DOUBLE, containers


def docker(*args: str) -> None:
    subprocess.run(["docker", *args], capture_output=True, check=True)


TIMEOUTS = Timeouts(wait_seconds=300, grace_seconds=60, short_seconds=60)


def drivers(timeouts: Timeouts = TIMEOUTS) -> dict[Provider, object]:
    return {
        Provider.KIND: KindDriver(KIND_DOUBLE, timeouts),
        Provider.K3D: K3dDriver(K3D_DOUBLE, timeouts),
    }


EXPECTED_NODES = {
    Provider.KIND: lambda n: [f"{n}-control-plane", f"{n}-worker", f"{n}-worker2"],
    Provider.K3D: lambda n: [
        f"k3d-{n}-agent-0",
        f"k3d-{n}-agent-1",
        f"k3d-{n}-server-0",
        f"k3d-{n}-serverlb",
    ],
}


@pytest.mark.parametrize("provider", [Provider.KIND, Provider.K3D])
async def test_create_list_kubeconfig_delete(provider, runtime_name, tmp_path: Path):
    driver = drivers()[provider]
    name = runtime_name()
    kubeconfig = await driver.create(CreateSpec(name, None, 2, tmp_path / name))

    assert containers(provider.value, name) == sorted(EXPECTED_NODES[provider](name))
    assert driver.node_container(name) in containers(provider.value, name)
    assert api_server_of(kubeconfig).startswith("https://127.0.0.1:")
    assert await driver.exists(name)
    assert await driver.missing_nodes(name, 2) == ()
    assert await driver.kubeconfig(name) == kubeconfig

    await driver.delete(name, tmp_path / name)
    assert containers(provider.value, name) == []
    assert not await driver.exists(name)


@pytest.mark.parametrize(
    "provider, gone, stopped, missing",
    [
        (
            Provider.KIND,
            "{n}-worker2",
            "{n}-control-plane",
            ["control-plane: 0 of 1 running", "worker: 1 of 2 running"],
        ),
        (
            Provider.K3D,
            "k3d-{n}-serverlb",
            "k3d-{n}-agent-0",
            ["agent: 1 of 2 running", "loadbalancer: 0 of 1 running"],
        ),
    ],
)
async def test_missing_nodes_names_what_is_absent_or_stopped(
    provider, gone, stopped, missing, runtime_name, tmp_path: Path
):
    driver = drivers()[provider]
    name = runtime_name()
    await driver.create(CreateSpec(name, None, 2, tmp_path / name))
    docker("rm", "-f", gone.format(n=name))
    docker("stop", "-t", "0", stopped.format(n=name))
    assert await driver.missing_nodes(name, 2) == tuple(missing)
    assert await driver.missing_nodes(name, 1) != ()


@pytest.mark.parametrize(
    "provider, node", [(Provider.KIND, "{n}-control-plane"), (Provider.K3D, "k3d-{n}-server-0")]
)
async def test_the_role_bindings_are_applied_in_the_server_node(
    provider, node, runtime_name, tmp_path: Path
):
    """With the node's kubectl and admin credential: the kubectl double there fails without
    one, and keeps what it applied."""
    driver = drivers()[provider]
    name = runtime_name()
    await driver.create(CreateSpec(name, None, 1, tmp_path / name))
    await driver.apply_bindings(name)
    await driver.apply_bindings(name)
    applied = subprocess.run(
        ["docker", "exec", node.format(n=name), "cat", "/var/lib/kubectl-double/applied.yaml"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert applied == f"---\n{bindings_manifest()}" * 2


def test_bindings_go_through_the_kubectl_of_the_server_node():
    assert KindDriver("kind", TIMEOUTS).bindings_argv("demo-1") == [
        "docker",
        "exec",
        "-i",
        "demo-1-control-plane",
        "kubectl",
        "--kubeconfig=/etc/kubernetes/admin.conf",
        "apply",
        "-f",
        "-",
    ]
    assert K3dDriver("k3d", TIMEOUTS).bindings_argv("demo-1") == [
        "docker",
        "exec",
        "-i",
        "k3d-demo-1-server-0",
        "kubectl",
        "apply",
        "-f",
        "-",
    ]


async def test_kind_writes_the_per_cluster_kubeconfig_file(runtime_name, tmp_path: Path):
    driver = drivers()[Provider.KIND]
    name = runtime_name()
    kubeconfig = await driver.create(CreateSpec(name, None, 0, tmp_path / name))
    assert (tmp_path / name / "kubeconfig").read_text() == kubeconfig
    assert "--kubeconfig" in driver.create_argv(CreateSpec(name, None, 0, tmp_path / name))


@pytest.mark.parametrize(
    "provider, text",
    [
        (Provider.KIND, r"node\(s\) already exist for a cluster with the name"),
        (Provider.K3D, "already exists"),
    ],
)
async def test_second_create_of_a_name_fails_with_the_cli_message(
    provider, text, runtime_name, tmp_path: Path
):
    driver = drivers()[provider]
    name = runtime_name()
    await driver.create(CreateSpec(name, None, 0, tmp_path / name))
    first = containers(provider.value, name)
    with pytest.raises(CliError, match=text):
        await driver.create(CreateSpec(name, None, 0, tmp_path / name))
    assert containers(provider.value, name) == first


@pytest.mark.parametrize(
    "provider, image",
    [
        (Provider.KIND, "kindest/node:v1.99.0"),
        (Provider.K3D, "rancher/k3s:v1.99.0-k3s1"),
    ],
)
async def test_an_image_that_cannot_be_pulled_fails_with_the_cli_message(
    provider, image, runtime_name, tmp_path
):
    driver = drivers()[provider]
    name = runtime_name()
    with pytest.raises(CliError) as failure:
        await driver.create(CreateSpec(name, "v1.99.0", 0, tmp_path / name))
    assert image in str(failure.value)
    assert containers(provider.value, name) == []


@pytest.mark.parametrize("provider", [Provider.KIND, Provider.K3D])
async def test_a_cli_that_overruns_its_deadline_is_killed(
    provider, runtime_name, tmp_path, monkeypatch
):
    monkeypatch.setenv("PYK8S_DOUBLE_CREATE_DELAY", "30")
    driver = drivers(Timeouts(wait_seconds=1, grace_seconds=1, short_seconds=30))[provider]
    name = runtime_name()
    started = time.monotonic()
    with pytest.raises(CliError, match="did not finish within 2s"):
        await driver.create(CreateSpec(name, None, 0, tmp_path / name))
    assert time.monotonic() - started < 10


async def test_a_missing_binary_is_a_cli_error(tmp_path):
    driver = KindDriver(str(tmp_path / "no-such-kind"), TIMEOUTS)
    with pytest.raises(CliError, match="command not found"):
        await driver.list()


def test_argv_of_kind_create():
    spec = CreateSpec("demo-1a2b3c4d", "v1.31.0", 2, Path("/w/demo"))
    assert KindDriver("kind", TIMEOUTS).create_argv(spec) == [
        "kind",
        "create",
        "cluster",
        "--name",
        "demo-1a2b3c4d",
        "--kubeconfig",
        "/w/demo/kubeconfig",
        "--wait",
        "300s",
        "--image",
        "kindest/node:v1.31.0",
        "--config",
        "/w/demo/kind-config.yaml",
    ]


def test_argv_of_k3d_create():
    spec = CreateSpec("demo-1a2b3c4d", "v1.31.0", 2, Path("/w/demo"))
    assert K3dDriver("k3d", TIMEOUTS).create_argv(spec) == [
        "k3d",
        "cluster",
        "create",
        "demo-1a2b3c4d",
        "--kubeconfig-update-default=false",
        "--kubeconfig-switch-context=false",
        "--timeout",
        "300s",
        "--agents",
        "2",
        "--image",
        "rancher/k3s:v1.31.0-k3s1",
    ]


def test_error_text_keeps_the_cli_error_lines():
    result = CliResult(
        1, "", "Creating cluster ...\n\x1b[31mERROR\x1b[0m: failed to create cluster: boom\n"
    )
    assert error_text(result) == "ERROR: failed to create cluster: boom"
    k3d = CliResult(
        1,
        "",
        "INFO[0000] Prep\nERRO[0001] Failed to pull image 'x'\nFATA[0001] "
        "Cluster creation FAILED\n",
    )
    assert (
        error_text(k3d) == "ERRO[0001] Failed to pull image 'x'\nFATA[0001] Cluster creation FAILED"
    )
    assert error_text(CliResult(2, "", "")) == "exited with status 2"


async def test_every_cli_call_gets_a_kubeconfig_of_ours(tmp_path, monkeypatch):
    """KUBECONFIG points into the provisioner's work folder for every call, so nothing a CLI
    does to "the" kubeconfig reaches the host user's ~/.kube/config."""
    seen = tmp_path / "seen"
    recorder = tmp_path / "recorder"
    recorder.write_text(f'#!/bin/sh\necho "$KUBECONFIG" >> {seen}\necho "[]"\n')
    recorder.chmod(0o755)
    work = tmp_path / "work"
    driver = K3dDriver(str(recorder), TIMEOUTS, scratch_dir=work / "cli")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "host-kubeconfig"))
    await driver.list()
    await driver.delete("demo-1", work / "demo-1")
    with pytest.raises(CliError):
        await driver.kubeconfig("demo-1")  # the recorder prints no kubeconfig
    assert seen.read_text().split() == [
        str(work / "cli" / "kubeconfig"),
        str(work / "demo-1" / "kubeconfig"),
        str(work / "cli" / "kubeconfig"),
    ]


def test_a_host_with_an_address_publishes_api_servers_for_other_machines(tmp_path):
    """kind: on every interface with the address among the certificate's names (a config
    even without workers); k3d: the address added to the server's names."""
    spec = CreateSpec("demo-1a2b3c4d", None, 0, tmp_path / "demo")
    kind = KindDriver("kind", TIMEOUTS, host_address="engine-b.example")
    kind.prepare(spec)
    assert kind.create_argv(spec)[-2:] == ["--config", str(tmp_path / "demo/kind-config.yaml")]
    config = yaml.safe_load((tmp_path / "demo/kind-config.yaml").read_text())
    assert config["networking"] == {"apiServerAddress": "0.0.0.0"}
    patch = yaml.safe_load(config["kubeadmConfigPatches"][0])
    assert patch["apiServer"]["certSANs"] == ["localhost", "127.0.0.1", "engine-b.example"]
    assert "--config" not in KindDriver("kind", TIMEOUTS).create_argv(spec)
    k3d = K3dDriver("k3d", TIMEOUTS, host_address="engine-b.example")
    assert k3d.create_argv(spec)[-2:] == ["--k3s-arg", "--tls-san=engine-b.example@server:*"]
    assert "--k3s-arg" not in K3dDriver("k3d", TIMEOUTS).create_argv(spec)


def test_stored_kubeconfigs_name_the_hosts_address():
    config = (
        "clusters:\n- cluster:\n    server: https://127.0.0.1:41234\n  name: a\n"
        "- cluster:\n    server: https://0.0.0.0:6443\n  name: b\n"
        "- cluster:\n    server: https://10.1.2.3:6443\n  name: c\n"
    )
    servers = [
        cluster["cluster"]["server"]
        for cluster in yaml.safe_load(reachable_at(config, "engine-b.example"))["clusters"]
    ]
    assert servers == [
        "https://engine-b.example:41234",
        "https://engine-b.example:6443",
        "https://10.1.2.3:6443",
    ]
