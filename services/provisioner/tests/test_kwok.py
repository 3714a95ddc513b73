"""The kwok driver for real: kwokctl's binary runtime with the etcd, Kubernetes and kwok
binaries of .tools (scripts/install-k8s-tools.sh). Each cluster costs about 3-5 s and 550 MB,
so one cluster serves the read-only checks and two more the lifecycle ones; every one is
removed after its test."""

import asyncio
import json
import ssl
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
import pytest

from conftest import KWOK_SETTINGS, kwok_processes, remove_kwok, require_kwok
from pyk8s_contracts.rbac import KUBERNETES_ROLES
from pyk8s_provisioner.drivers import (
    CreateSpec,
    KwokDriver,
    KwokTools,
    Shell,
    Timeouts,
    api_server_of,
)
from pyk8s_provisioner.drivers.kwok import COMPONENTS, installed_versions
from pyk8s_provisioner.kubeconfigs import admin_credential, reachable_at
from pyk8s_provisioner.kubernetes import group

TIMEOUTS = Timeouts(wait_seconds=60, grace_seconds=30, short_seconds=60)
NODE_IMAGE = "pyk8s-lab/node:local"
LOOPBACK = {"127.0.0.1", "::1"}


def kwok_driver(root: Path, apiserver_address: str = "127.0.0.1") -> KwokDriver:
    require_kwok()
    tools = KwokTools(
        KWOK_SETTINGS["kwokctl_bin"],
        KWOK_SETTINGS["kwok_etcd_bin"],
        KWOK_SETTINGS["kwok_controller_bin"],
        KWOK_SETTINGS["kwok_versions_dir"],
    )
    return KwokDriver(
        tools, TIMEOUTS, root / "kwok", apiserver_address, Shell(NODE_IMAGE, "bridge"), root / "cli"
    )


def kubectl(driver: KwokDriver, name: str, *args: str) -> str:
    done = subprocess.run(
        driver.kubectl_argv(name, *args), capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def listening(process: psutil.Process) -> set[tuple[str, int]]:
    return {
        (conn.laddr.ip, conn.laddr.port)
        for conn in process.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    }


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """One kwok cluster with two fake nodes and the role bindings, made as the provisioner
    makes it."""
    root = tmp_path_factory.mktemp("kwok")
    driver = kwok_driver(root)
    name = "t-kwok-shared"
    try:
        started = time.monotonic()
        kubeconfig = asyncio.run(driver.create(CreateSpec(name, None, 2, root / name)))
        asyncio.run(driver.apply_bindings(name))
        print(f"kwok cluster with 2 nodes and bindings in {time.monotonic() - started:.2f}s")
        yield driver, name, kubeconfig
    finally:
        remove_kwok(driver.workdir, name)


def test_the_cluster_runs_every_component_and_its_nodes_are_ready(cluster):
    driver, name, kubeconfig = cluster
    nodes = json.loads(kubectl(driver, name, "get", "nodes", "-o", "json"))["items"]
    assert sorted(node["metadata"]["name"] for node in nodes) == ["node-000000", "node-000001"]
    for node in nodes:
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready[0]["status"] == "True"
    assert sorted(p.info["cmdline"][0].rsplit("/", 1)[1] for p in driver.processes(name)) == sorted(
        COMPONENTS
    )
    assert api_server_of(kubeconfig).startswith("https://127.0.0.1:")
    # Self-contained: the stored kubeconfig names no file of kwokctl's.
    assert "certificate-authority-data" in kubeconfig and "client-key-data" in kubeconfig
    version = kubectl(driver, name, "version", "-o", "json")
    assert json.loads(version)["serverVersion"]["gitVersion"] == driver.versions()[0]


async def test_it_is_complete_for_its_workers_only(cluster):
    driver, name, _ = cluster
    assert await driver.missing_nodes(name, 2) == ()
    assert await driver.missing_nodes(name, 3) == ("nodes: 2 of 3 ready",)
    assert await driver.exists(name)


def test_no_component_listens_beyond_loopback(cluster):
    driver, name, _ = cluster
    processes = driver.processes(name)
    assert len(processes) == len(COMPONENTS)
    addresses = {
        (process.info["cmdline"][0].rsplit("/", 1)[1], ip)
        for process in processes
        for ip, _ in listening(process)
    }
    assert {component for component, _ in addresses} == set(COMPONENTS)
    assert {ip for _, ip in addresses} <= LOOPBACK, addresses


async def test_the_team_roles_are_bound(cluster):
    driver, name, _ = cluster
    for role, cluster_role in KUBERNETES_ROLES.items():
        binding = json.loads(
            kubectl(driver, name, "get", "clusterrolebinding", group(role), "-o", "json")
        )
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": cluster_role,
        }
        assert binding["subjects"][0]["name"] == group(role)
    viewer = kubectl(driver, name, "get", "clusterrolebinding", "pyk8s:viewer", "-o", "yaml")
    assert "  name: view\n" in viewer
    await driver.apply_bindings(name)  # again: kubectl apply leaves them as they are


async def test_lifecycle_leaves_no_process_no_file_and_no_shell(tmp_path):
    """The API server on every address when asked (etcd and the rest still on loopback only);
    a shell container whose kubectl reaches the cluster; a stopped component makes the
    cluster incomplete; delete leaves nothing."""
    driver = kwok_driver(tmp_path, apiserver_address="0.0.0.0")
    name = "t-kwok-life"
    try:
        started = time.monotonic()
        await driver.create(CreateSpec(name, None, 1, tmp_path / name))
        created = time.monotonic() - started
        by_component = {p.info["cmdline"][0].rsplit("/", 1)[1]: p for p in driver.processes(name)}
        # Go listens on 0.0.0.0 with one dual-stack socket, which shows as "::".
        apiserver = {ip for ip, _ in listening(by_component["kube-apiserver"])}
        assert apiserver and apiserver <= {"0.0.0.0", "::"}, apiserver
        others = [p for component, p in by_component.items() if component != "kube-apiserver"]
        assert {ip for p in others for ip, _ in listening(p)} <= LOOPBACK

        # Two replicas asking at once, then again once it runs: one container.
        both = await asyncio.gather(
            driver.terminal_container(name), driver.terminal_container(name)
        )
        shell = f"pyk8s-kwok-{name}"
        assert both == [shell, shell]
        assert await driver.terminal_container(name) == shell
        same_name = ["docker", "ps", "--all", "--quiet", "--filter", f"name=^{shell}$"]
        assert len(subprocess.run(same_name, capture_output=True, text=True).stdout.split()) == 1
        nodes = subprocess.run(
            ["docker", "exec", shell, "kubectl", "get", "nodes", "-o", "name"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert nodes.stdout.split() == ["node/node-000000"], nodes.stderr

        by_component["kube-scheduler"].kill()
        by_component["kube-scheduler"].wait(10)
        assert await driver.missing_nodes(name, 1) == ("kube-scheduler: not running",)

        started = time.monotonic()
        await driver.delete(name, tmp_path / name)
        deleted = time.monotonic() - started
        print(f"kwok create (1 node) {created:.2f}s, delete {deleted:.2f}s")
        assert kwok_processes(driver.workdir, name) == []
        assert not driver.cluster_dir(name).exists()
        assert not await driver.exists(name)
        assert await driver.list() == set()
        gone = subprocess.run(["docker", "inspect", shell], capture_output=True, check=False)
        assert gone.returncode != 0
    finally:
        remove_kwok(driver.workdir, name)


async def test_creates_at_once_get_apart_ports_and_their_own_etcd(tmp_path):
    """kwokctl tries ports from 32766 down: two creates at once would take the same ones and
    one API server would serve from the other's etcd. The driver makes them one at a time."""
    driver = kwok_driver(tmp_path)
    names = ["t-kwok-a", "t-kwok-b"]
    try:
        await asyncio.gather(
            *(driver.create(CreateSpec(name, None, 0, tmp_path / name)) for name in names)
        )
        ports = {}
        for name in names:
            assert await driver.missing_nodes(name, 0) == ()
            etcd = next(p for p in driver.processes(name) if p.info["cmdline"][0].endswith("etcd"))
            apiserver = next(
                p for p in driver.processes(name) if "kube-apiserver" in p.info["cmdline"][0]
            )
            served = {port for _, port in listening(etcd)}
            used = next(a for a in apiserver.cmdline() if a.startswith("--etcd-servers="))
            assert int(used.rsplit(":", 1)[1]) in served
            ports[name] = served | {port for _, port in listening(apiserver)}
        assert not ports[names[0]] & ports[names[1]]
    finally:
        for name in names:
            remove_kwok(driver.workdir, name)


async def test_leftovers_kwokctl_does_not_list_are_listed_and_removed(tmp_path):
    """A crash can leave a shell container without its cluster, or a cluster folder without
    the configuration kwokctl lists clusters by: either still exists for the provisioner, so
    a delete or the reconciliation removes it."""
    driver = kwok_driver(tmp_path)
    name, cut = "t-kwok-shell", "t-kwok-cut"
    shell = driver.node_container(name)
    label = f"pyk8s-lab.kwok-cluster={name}"
    subprocess.run(
        ["docker", "run", "-d", "--name", shell, "--label", label, NODE_IMAGE],
        capture_output=True,
        check=True,
    )
    (driver.cluster_dir(cut) / "pids").mkdir(parents=True)
    try:
        assert await driver.list() == {name, cut}
        await driver.delete(name, tmp_path / name)
        await driver.delete(cut, tmp_path / cut)
        assert await driver.list() == set()
        assert not driver.cluster_dir(cut).exists()
    finally:
        subprocess.run(["docker", "rm", "-f", shell], capture_output=True, check=False)


def test_versions_are_the_folders_holding_every_binary(tmp_path):
    for version in ("v1.33.9", "v1.34.4", "v1.9.0"):
        folder = tmp_path / version
        folder.mkdir()
        for binary in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"):
            (folder / binary).write_text("#!/bin/sh\n")
            (folder / binary).chmod(0o755)
    (tmp_path / "v1.35.0").mkdir()  # empty: not installed
    (tmp_path / "v1.34.4" / "kubectl").chmod(0o644)  # not executable: not installed
    (tmp_path / "latest").symlink_to(tmp_path / "v1.33.9")  # not a version name
    assert installed_versions(tmp_path) == ("v1.33.9", "v1.9.0")
    assert installed_versions(tmp_path / "absent") == ()
    assert installed_versions(None) == ()


def test_the_real_kwokctl_takes_every_flag_the_driver_passes(tmp_path):
    driver = kwok_driver(tmp_path)
    spec = CreateSpec("demo-1a2b3c4d", None, 2, tmp_path / "demo")
    driver.prepare(spec)  # the configuration file, which kwokctl reads before anything
    argvs = [
        driver.create_argv(spec),
        driver.scale_argv("demo-1a2b3c4d", 2),
        driver.delete_argv("demo-1a2b3c4d", tmp_path / "demo"),
        driver.list_argv(),
        driver.kubeconfig_argv("demo-1a2b3c4d"),
    ]
    for argv in argvs:
        done = subprocess.run(
            [*argv, "--help"], capture_output=True, text=True, timeout=30, check=False
        )
        assert done.returncode == 0 and "Usage" in done.stdout, (argv, done.stderr)
        flags = [word.split("=", 1)[0] for word in argv if word.startswith("--")]
        for flag in flags:
            assert f"{flag} " in done.stdout, f"{' '.join(argv[:3])} does not know {flag}"


async def test_a_host_address_is_where_the_api_server_is_reached_and_what_its_certificate_names(
    tmp_path,
):
    """With PROVISIONER_HOST_ADDRESS (here 127.0.0.2, loopback, where the API server listening
    on every interface answers), the stored kubeconfig names the address and a client that
    checks the certificate's names, as the proxy does, is answered there."""
    driver = kwok_driver(tmp_path, apiserver_address="0.0.0.0")
    driver.host_address = "127.0.0.2"
    name = "t-kwok-address"
    try:
        kubeconfig = reachable_at(
            await driver.create(CreateSpec(name, None, 0, tmp_path / name)), "127.0.0.2"
        )
        credential = admin_credential(kubeconfig)
        assert urlsplit(credential.server).hostname == "127.0.0.2"
        key = tmp_path / "client.pem"
        key.write_text(credential.client_certificate + credential.client_key)
        context = ssl.create_default_context(cadata=credential.certificate_authority)
        context.load_cert_chain(key)
        async with httpx.AsyncClient(verify=context) as client:
            version = await client.get(f"{credential.server}/version", timeout=10)
        assert version.status_code == 200 and version.json()["major"] == "1"
    finally:
        remove_kwok(driver.workdir, name)
