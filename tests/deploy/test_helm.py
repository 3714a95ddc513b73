"""The Helm chart against real tools: `helm lint --strict`, `helm template` with each values
file under helm/pyk8s-lab/ci, the rendered manifests accepted by a real kube-apiserver
(`kubectl apply --dry-run=server`), and install, upgrade and uninstall on that API server with
kwok's fake nodes. The binaries come from scripts/install-k8s-tools.sh (.tools/bin); kwokctl
runs etcd, the API server, controller manager, scheduler and kwok as local processes.

kwok marks pods Running and Ready without executing them, so no container runs here: the
NATS credentials Job's program runs from this test instead, against the same API server with
the Job's own ServiceAccount token, which also proves its Role is enough."""

import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import yaml

from pyk8s_contracts.identities import ALL_IDENTITIES

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "pyk8s-lab"
BIN = ROOT / ".tools" / "bin"
VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
# A pool of Docker hosts: one provisioner Deployment per host instead of one.
HOSTS_VALUES = Path(__file__).parent / "hosts-values.yaml"
TOOLS = (
    "helm",
    "kwokctl",
    "kwok",
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubectl",
)
COMPONENTS = ("gateway", "auth", "teams", "provisioner", "terminal")
NAMESPACE = "pyk8s"
RELEASE = "lab"

missing = [tool for tool in TOOLS if not (BIN / tool).exists()]
pytestmark = pytest.mark.skipif(
    bool(missing), reason=f"{missing} not built: run scripts/install-k8s-tools.sh"
)


def run(*args: str, env: dict | None = None, input: str | None = None, timeout: float = 120):
    """A tool from .tools/bin (or python); its output, or a failure that shows its stderr."""
    command = [str(BIN / args[0]) if (BIN / args[0]).exists() else args[0], *args[1:]]
    done = subprocess.run(
        command, env=env, input=input, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def render(values: Path | None = None, *extra: str) -> list[dict]:
    args = ["helm", "template", RELEASE, str(CHART), "--namespace", NAMESPACE, *extra]
    if values:
        args += ["-f", str(values)]
    return [doc for doc in yaml.safe_load_all(run(*args)) if doc]


def by_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in docs if doc["kind"] == kind}


@pytest.mark.parametrize("values", [*VALUES, HOSTS_VALUES], ids=lambda p: p.stem)
def test_lint_strict(values):
    run("helm", "lint", "--strict", str(CHART), "-f", str(values))


@pytest.mark.parametrize("values", VALUES, ids=lambda p: p.stem)
def test_every_component_is_probed_locked_down_and_reads_only_its_own_seed(values):
    deployments = by_kind(render(values), "Deployment")
    assert set(deployments) == {f"{RELEASE}-pyk8s-lab-{c}" for c in COMPONENTS}
    for component in COMPONENTS:
        pod = deployments[f"{RELEASE}-pyk8s-lab-{component}"]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["automountServiceAccountToken"] is False
        app = pod["containers"][0]
        assert app["command"] == ["python", "-m", f"pyk8s_{component}"]
        assert app["securityContext"]["allowPrivilegeEscalation"] is False
        assert app["securityContext"]["readOnlyRootFilesystem"] is True
        assert app["securityContext"]["capabilities"]["drop"] == ["ALL"]
        assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]
        port = app["ports"][0]
        assert app["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": port["name"]}
        assert app["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": port["name"]}
        env = {e["name"]: e.get("value") for e in app["env"]}
        if component != "gateway":
            assert env[f"{component.upper()}_HEALTH_PORT"] == str(port["containerPort"])
        seeds = [v["secret"] for v in pod["volumes"] if v["name"] == "nats-credentials"]
        assert seeds[0]["items"] == [{"key": f"{component}.nk", "path": f"{component}.nk"}]
        assert env[f"{component.upper()}_NATS_CREDENTIALS"] == f"/etc/pyk8s/nats/{component}.nk"


def test_the_bundled_nats_admits_every_identity_of_the_contracts():
    """The chart lists the identities whose public keys the NATS server mounts; that list must
    be pyk8s_contracts.identities.ALL_IDENTITIES."""
    nats = by_kind(render(), "StatefulSet")[f"{RELEASE}-pyk8s-lab-nats"]
    volumes = {v["name"]: v for v in nats["spec"]["template"]["spec"]["volumes"]}
    keys = [item["key"] for item in volumes["public-keys"]["secret"]["items"]]
    assert sorted(keys) == sorted(f"{identity}.pub" for identity in ALL_IDENTITIES)
    assert all(not key.endswith(".nk") for key in keys)


def test_the_job_completes_an_existing_credentials_secret_instead_of_a_generated_one():
    docs = render(None, "--set", "nats.credentials.existingSecret=our-seeds")
    assert f"{RELEASE}-pyk8s-lab-nats-credentials" not in by_kind(docs, "Secret")
    (role,) = by_kind(docs, "Role").values()
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["our-seeds"],
         "verbs": ["get", "patch"]}
    ]  # fmt: skip
    (job,) = by_kind(docs, "Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-2:] == [
        "--secret",
        "our-seeds",
    ]
    for deployment in by_kind(docs, "Deployment").values():
        volumes = deployment["spec"]["template"]["spec"]["volumes"]
        (seed,) = [v["secret"] for v in volumes if v["name"] == "nats-credentials"]
        assert seed["secretName"] == "our-seeds"


def nats_env(docs: list[dict]) -> dict[str, dict[str, str]]:
    """Each component's NATS_URL and NATS_STREAM_REPLICAS."""
    found = {}
    for component in COMPONENTS:
        deployment = by_kind(docs, "Deployment")[f"{RELEASE}-pyk8s-lab-{component}"]
        env = {
            e["name"]: e.get("value")
            for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        prefix = component.upper()
        found[component] = {
            "url": env[f"{prefix}_NATS_URL"],
            "replicas": env[f"{prefix}_NATS_STREAM_REPLICAS"],
        }
    return found


def test_every_component_gets_the_external_clusters_server_list_and_three_replicas():
    docs = render(CHART / "ci" / "production-values.yaml")
    assert f"{RELEASE}-pyk8s-lab-nats" not in by_kind(docs, "StatefulSet")
    servers = [f"tls://nats-{i}.nats-headless.pyk8s.svc:4222" for i in range(3)]
    assert nats_env(docs) == {c: {"url": ",".join(servers), "replicas": "3"} for c in COMPONENTS}


def test_the_bundled_single_server_keeps_one_replica_and_refuses_more():
    env = nats_env(render())
    assert {settings["replicas"] for settings in env.values()} == {"1"}
    args = ["template", RELEASE, str(CHART), "--set", "nats.streamReplicas=3"]
    refused = subprocess.run([str(BIN / "helm"), *args], capture_output=True, text=True)
    assert refused.returncode != 0
    assert "nats.streamReplicas above 1 needs a NATS cluster" in refused.stderr


def test_only_the_gateway_is_reachable_and_services_reach_only_nats_postgresql_and_dns():
    policies = by_kind(render(), "NetworkPolicy")
    deny = policies[f"{RELEASE}-pyk8s-lab-default-deny"]["spec"]
    assert deny["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny
    gateway = policies[f"{RELEASE}-pyk8s-lab-gateway"]["spec"]
    assert gateway["ingress"] == [{"ports": [{"protocol": "TCP", "port": "http"}]}]
    for service in ("auth", "teams", "provisioner", "terminal"):
        spec = policies[f"{RELEASE}-pyk8s-lab-{service}"]["spec"]
        assert "ingress" not in spec
        peers = [
            rule["to"][0]["podSelector"]["matchLabels"].get("app.kubernetes.io/component")
            or rule["to"][0]["podSelector"]["matchLabels"]["k8s-app"]
            for rule in spec["egress"]
            if "to" in rule
        ]
        assert peers == ["nats", "postgresql", "kube-dns"]
        # dind pulls kind's and k3d's images from registries: only the provisioner pod has it.
        open_ports = [rule for rule in spec["egress"] if "to" not in rule]
        assert bool(open_ports) == (service == "provisioner")


def container_env(deployment: dict) -> dict[str, str | None]:
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value") for e in container["env"]}


def test_a_pool_of_docker_hosts_has_one_provisioner_per_host_and_the_terminal_reaches_all():
    docs = render(HOSTS_VALUES)
    deployments = by_kind(docs, "Deployment")
    name = f"{RELEASE}-pyk8s-lab-provisioner"
    assert {n for n in deployments if n.startswith(name)} == {f"{name}-host-a", f"{name}-host-b"}
    a, b = deployments[f"{name}-host-a"], deployments[f"{name}-host-b"]
    env_a, env_b = container_env(a), container_env(b)
    assert {k: env_a[k] for k in env_a if k.startswith(("DOCKER_", "PROVISIONER_HOST"))} == {
        "PROVISIONER_HOST_ID": "host-a",
        "DOCKER_HOST": "tcp://engine-a.example:2376",
        "DOCKER_TLS_VERIFY": "1",
        "DOCKER_CERT_PATH": "/etc/pyk8s/docker-tls",
        "PROVISIONER_HOST_MAX_CLUSTERS": "30",
        "PROVISIONER_HOST_MEMORY_MB": "65536",
        "PROVISIONER_HOST_ADDRESS": "engine-a.example",
    }
    assert env_b["PROVISIONER_HOST_ID"] == "host-b" and "PROVISIONER_HOST_ADDRESS" not in env_b
    assert (a["spec"]["replicas"], b["spec"]["replicas"]) == (2, 1)
    selectors = [d["spec"]["selector"]["matchLabels"]["pyk8s-lab.io/docker-host"] for d in (a, b)]
    assert selectors == ["host-a", "host-b"]
    for deployment, secret in ((a, "engine-a-tls"), (b, "engine-b-tls")):
        pod = deployment["spec"]["template"]["spec"]
        assert [c["name"] for c in pod["containers"]] == ["provisioner"]  # no dind
        tls = next(v for v in pod["volumes"] if v["name"] == "docker-tls")
        assert tls["secret"]["secretName"] == secret
        assert "strategy" not in deployment["spec"]  # remote engines: rolling updates
    terminal = deployments[f"{RELEASE}-pyk8s-lab-terminal"]
    assert container_env(terminal)["TERMINAL_DOCKER_HOST"] == "tcp://engine-a.example:2376"
    assert container_env(terminal)["TERMINAL_DOCKER_CERT_PATH"] == "/etc/pyk8s/docker-tls"
    pod = terminal["spec"]["template"]["spec"]
    assert "affinity" not in pod
    tls = next(v for v in pod["volumes"] if v["name"] == "docker-tls")["projected"]["sources"]
    paths = {
        (source["secret"]["name"], item["path"])
        for source in tls
        for item in source["secret"]["items"]
    }
    assert {path for _, path in paths} == {
        f"{folder}{file}"
        for folder in ("", "host-a/", "host-b/")
        for file in ("ca.pem", "cert.pem", "key.pem")
    }
    assert ("engine-b-tls", "host-b/key.pem") in paths
    policy = by_kind(docs, "NetworkPolicy")[f"{RELEASE}-pyk8s-lab-provisioner"]["spec"]
    ports = [p["port"] for rule in policy["egress"] if "to" not in rule for p in rule["ports"]]
    assert sorted(ports) == [2376, 2377]
    hpa = render(HOSTS_VALUES, "--set", "provisioner.autoscaling.enabled=true")
    assert f"{name}" not in by_kind(hpa, "HorizontalPodAutoscaler")


def test_without_a_pool_the_one_provisioner_serves_the_default_host():
    deployments = by_kind(render(), "Deployment")
    provisioner = deployments[f"{RELEASE}-pyk8s-lab-provisioner"]
    assert "PROVISIONER_HOST_ID" not in container_env(provisioner)
    assert "pyk8s-lab.io/docker-host" not in provisioner["spec"]["selector"]["matchLabels"]


def test_ingress_carries_websocket_and_sse():
    docs = render(None, "--set", "ingress.enabled=true")
    ingress = by_kind(docs, "Ingress")[f"{RELEASE}-pyk8s-lab-gateway"]
    annotations = ingress["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffering"] == "off"
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    gateway = by_kind(docs, "Deployment")[f"{RELEASE}-pyk8s-lab-gateway"]
    env = {
        e["name"]: e.get("value")
        for e in gateway["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert json.loads(env["GATEWAY_PUBLIC_ORIGINS"]) == ["http://pyk8s-lab.local"]


def test_helm_test_hook_checks_readiness():
    pod = by_kind(render(), "Pod")[f"{RELEASE}-pyk8s-lab-test-ready"]
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    assert "/health/ready" in pod["spec"]["containers"][0]["command"][-1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[dict]:
    """A real API server with two fake nodes; deleted afterwards, with no process left."""
    work = tmp_path_factory.mktemp("kwok")
    name = f"helm-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "KWOK_WORKDIR": str(work), "KUBECONFIG": str(work / "kubeconfig")}
    started = time.monotonic()
    binaries = {
        "--etcd-binary": "etcd",
        "--kube-apiserver-binary": "kube-apiserver",
        "--kube-controller-manager-binary": "kube-controller-manager",
        "--kube-scheduler-binary": "kube-scheduler",
        "--kwok-controller-binary": "kwok",
    }
    flags = [arg for flag, tool in binaries.items() for arg in (flag, str(BIN / tool))]
    pids: list[int] = []
    try:
        run(
            "kwokctl",
            "create",
            "cluster",
            "--name",
            name,
            "--runtime",
            "binary",
            "--kubeconfig",
            env["KUBECONFIG"],
            *flags,
            "--wait",
            "120s",
            env=env,
            timeout=180,
        )
        up = time.monotonic() - started
        pid_dir = work / "clusters" / name / "pids"
        pids = [int(p.read_text().strip()) for p in pid_dir.glob("*.pid")]
        run("kwokctl", "--name", name, "scale", "node", "--replicas", "2", env=env)
        run("kubectl", "wait", "--for=condition=Ready", "node", "--all", "--timeout=60s", env=env)
        print(f"kwok cluster up in {up:.1f}s, {len(pids)} processes")
        yield {"env": env, "name": name, "work": work}
    finally:
        run("kwokctl", "delete", "cluster", "--name", name, env=env, timeout=60)
        _, alive = psutil.wait_procs([p for p in map(_process, pids) if p is not None], timeout=10)
        assert not alive, f"left running after the cluster was deleted: {alive}"


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def kubectl(cluster: dict, *args: str, input: str | None = None) -> str:
    return run("kubectl", *args, env=cluster["env"], input=input)


@pytest.mark.parametrize("values", [*VALUES, HOSTS_VALUES], ids=lambda p: p.stem)
def test_the_api_server_accepts_the_rendered_manifests(cluster, values):
    namespace = f"dry-{values.stem}"
    kubectl(cluster, "create", "namespace", namespace)
    template = (
        "helm",
        "template",
        RELEASE,
        str(CHART),
        "--namespace",
        namespace,
        "-f",
        str(values),
    )
    release = run(*template, "--skip-tests")
    out = kubectl(cluster, "apply", "--dry-run=server", "-n", namespace, "-f", "-", input=release)
    assert out.count("(server dry run)") == release.count("\nkind: ")
    # The test pod is admitted only once its ServiceAccount exists, as after an install.
    kubectl(cluster, "create", "serviceaccount", f"{RELEASE}-pyk8s-lab", "-n", namespace)
    hook = run(*template, "--show-only", "templates/tests/test-ready.yaml")
    out = kubectl(cluster, "apply", "--dry-run=server", "-n", namespace, "-f", "-", input=hook)
    assert out.strip() == f"pod/{RELEASE}-pyk8s-lab-test-ready created (server dry run)"


def secret(cluster: dict, name: str) -> dict[str, bytes]:
    doc = json.loads(kubectl(cluster, "get", "secret", name, "-n", NAMESPACE, "-o", "json"))
    return {key: base64.b64decode(value) for key, value in (doc.get("data") or {}).items()}


def run_credentials_job(cluster: dict, tmp_path: Path) -> str:
    """What the Job's pod would run, from here, as the Job's ServiceAccount."""
    config = json.loads(kubectl(cluster, "config", "view", "--raw", "--minify", "-o", "json"))
    server = config["clusters"][0]["cluster"]
    ca = tmp_path / "ca.crt"
    if "certificate-authority-data" in server:
        ca.write_bytes(base64.b64decode(server["certificate-authority-data"]))
    else:
        ca.write_bytes(Path(server["certificate-authority"]).read_bytes())
    token = tmp_path / "token"
    token.write_text(
        kubectl(
            cluster, "create", "token", f"{RELEASE}-pyk8s-lab-nats-credentials", "-n", NAMESPACE
        )
    )
    return run(
        sys.executable,
        "-m",
        "pyk8s_kit.natsauth_k8s",
        "ensure",
        "--secret",
        f"{RELEASE}-pyk8s-lab-nats-credentials",
        "--namespace",
        NAMESPACE,
        "--server",
        server["server"],
        "--token-file",
        str(token),
        "--ca-file",
        str(ca),
    )


WAIT = ("--wait", "--timeout", "120s")


def helm(cluster: dict, command: str, *args: str) -> str:
    started = time.monotonic()
    out = run("helm", "--namespace", NAMESPACE, command, *args, env=cluster["env"], timeout=150)
    print(f"helm {command}: {time.monotonic() - started:.1f}s")
    return out


def deployments_available(cluster: dict) -> dict[str, bool]:
    doc = json.loads(kubectl(cluster, "get", "deployments", "-n", NAMESPACE, "-o", "json"))
    return {
        d["metadata"]["name"]: d["status"].get("availableReplicas", 0) == d["spec"]["replicas"]
        and any(
            c["type"] == "Available" and c["status"] == "True"
            for c in d["status"].get("conditions", [])
        )
        for d in doc["items"]
    }


def test_install_upgrade_keeps_secrets_and_uninstall_leaves_nothing(cluster, tmp_path):
    # The bundled servers' volumes: no storage provisioner runs here, so two volumes wait for
    # their claims, which the real PersistentVolume controller binds.
    volumes = [
        {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"helm-test-{index}"},
            "spec": {
                "capacity": {"storage": "10Gi"},
                "accessModes": ["ReadWriteOnce"],
                "hostPath": {"path": f"/tmp/helm-test-{index}"},
            },
        }
        for index in range(2)
    ]
    kubectl(cluster, "apply", "-f", "-", input=yaml.safe_dump_all(volumes))
    notes = helm(cluster, "install", RELEASE, str(CHART), "--create-namespace", *WAIT)
    assert f"helm test {RELEASE} --namespace {NAMESPACE}" in notes
    assert "privileged container in the provisioner pod" in notes
    available = deployments_available(cluster)
    assert available == {f"{RELEASE}-pyk8s-lab-{c}": True for c in COMPONENTS}

    print(run_credentials_job(cluster, tmp_path))
    credentials = secret(cluster, f"{RELEASE}-pyk8s-lab-nats-credentials")
    assert {f"{i}.nk" for i in ALL_IDENTITIES} <= set(credentials)
    authorization = json.loads(credentials["authorization.json"])["authorization"]
    assert sorted(u["nkey"] for u in authorization["users"]) == sorted(
        credentials[f"{i}.pub"].decode() for i in ALL_IDENTITIES
    )
    kept = {
        name: secret(cluster, f"{RELEASE}-pyk8s-lab-{name}")
        for name in ("nats-credentials", "provisioner", "postgresql", "nats-tls")
    }
    assert len(kept["provisioner"]["kubeconfig-key"]) == 44  # Fernet: 32 bytes, base64

    helm(cluster, "upgrade", RELEASE, str(CHART), "--set", "logLevel=DEBUG", *WAIT)
    for name, data in kept.items():
        assert secret(cluster, f"{RELEASE}-pyk8s-lab-{name}") == data, name
    jobs = kubectl(cluster, "get", "jobs", "-n", NAMESPACE, "-o", "name").split()
    assert jobs == [f"job.batch/{RELEASE}-pyk8s-lab-nats-credentials-2"]
    assert "0 keys written" in run_credentials_job(cluster, tmp_path)
    assert all(deployments_available(cluster).values())

    helm(cluster, "uninstall", RELEASE, *WAIT)
    kubectl(cluster, "wait", "--for=delete", "pvc", "--all", "-n", NAMESPACE, "--timeout=60s")
    kubectl(cluster, "wait", "--for=delete", "pod", "--all", "-n", NAMESPACE, "--timeout=60s")
    left = kubectl(
        cluster,
        "get",
        "all,secrets,configmaps,pvc,serviceaccounts,roles,rolebindings,"
        "networkpolicies,poddisruptionbudgets,ingresses",
        "-n",
        NAMESPACE,
        "-o",
        "name",
    )
    # What Kubernetes itself puts in every namespace.
    assert set(left.split()) == {"configmap/kube-root-ca.crt", "serviceaccount/default"}


def test_the_chart_readme_lists_every_value():
    run(sys.executable, str(ROOT / "scripts" / "helm-values-table.py"), "--check")
