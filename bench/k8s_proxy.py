"""The Kubernetes API proxy's overhead: a kwok cluster (a real kube-apiserver) asked the same
thing through the gateway, as a team member with the platform's own token and impersonation,
and directly with the cluster's admin certificate, in turns, in one run. Prints each pair's
p50/p99 and the ratio through/direct.

- `GET /api/v1/namespaces` over a kept-alive HTTPS connection (the proxy's own cost: token
  check, the provisioner's per-request role check over NATS, the second TLS hop);
- `kubectl get namespaces` as a whole process, with a kubeconfig holding the token, and with
  the handed-out kubeconfig whose exec plugin (`pyk8s kube-credential`) gets it.

The platform is `make up`'s runner (scripts/up.py) on free ports with a throwaway data folder;
kwok comes from .tools (scripts/install-k8s-tools.sh).

    uv run python bench/k8s_proxy.py [requests] [kubectl_runs]
"""

import base64
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from platform_runner import ROOT, Platform, delete, percentile, sign_up, wait_settled

KUBECTL = ROOT / ".tools" / "bin" / "kubectl"


def compare(label: str, through: list[float], direct: list[float]) -> str:
    a, b = statistics.median(through), statistics.median(direct)
    return (
        f"{label:<34} through p50 {a * 1e3:7.1f} ms p99 {percentile(through, 0.99) * 1e3:7.1f} ms"
        f" | direct p50 {b * 1e3:7.1f} ms p99 {percentile(direct, 0.99) * 1e3:7.1f} ms"
        f" | ratio p50 {a / b:5.2f}"
    )


def ready_kwok_cluster(api: httpx.Client, headers: dict[str, str]) -> str:
    team = api.post("/teams", json={"name": "bench"}, headers=headers).json()["id"]
    body = {"name": "bench", "provider": "kwok", "team_id": team, "workers": 1}
    cluster = api.post("/clusters", json=body, headers=headers)
    cluster.raise_for_status()
    cluster_id = cluster.json()["id"]
    if (status := wait_settled(api, headers, cluster_id)) != "ready":
        raise SystemExit(f"the kwok cluster is {status}: is kwok installed?")
    return cluster_id


def write(folder: Path, name: str, config: dict) -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def pem(config: dict, section: str, key: str) -> bytes:
    return base64.b64decode(config[section][0][section[:-1]][key])


def direct_client(admin: dict, folder: Path) -> tuple[httpx.Client, str]:
    """The API server with the admin certificate, as the proxy's upstream is reached."""
    cert, key = folder / "admin.pem", folder / "admin-key.pem"
    cert.write_bytes(pem(admin, "users", "client-certificate-data"))
    key.write_bytes(pem(admin, "users", "client-key-data"))
    context = ssl.create_default_context(
        cadata=pem(admin, "clusters", "certificate-authority-data").decode()
    )
    context.load_cert_chain(cert, key)
    return httpx.Client(verify=context), admin["clusters"][0]["cluster"]["server"]


def http_pairs(through, direct, count: int) -> tuple[list[float], list[float]]:
    """Alternating requests, after a warm-up of each."""
    samples: tuple[list[float], list[float]] = ([], [])
    for index in range(count + 20):
        for (client, url, headers), bucket in zip((through, direct), samples, strict=True):
            started = time.perf_counter()
            client.get(url, headers=headers).raise_for_status()
            if index >= 20:
                bucket.append(time.perf_counter() - started)
    return samples


def kubectl_seconds(kubeconfig: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kubeconfig), "get", "namespaces", "-o", "name"],
        check=True,
        capture_output=True,
        env=env,
        timeout=60,
    )
    return time.perf_counter() - started


def kubectl_pairs(first, second, runs: int) -> tuple[list[float], list[float]]:
    samples: tuple[list[float], list[float]] = ([], [])
    for index in range(runs + 2):
        for (kubeconfig, env), bucket in zip((first, second), samples, strict=True):
            seconds = kubectl_seconds(kubeconfig, env)
            if index >= 2:
                bucket.append(seconds)
    return samples


def measure(http: str, https: str, ca: Path, work: Path, requests: int, runs: int) -> None:
    with httpx.Client(base_url=f"{http}/api/v1", timeout=30) as api:
        headers = sign_up(api)
        cluster_id = ready_kwok_cluster(api, headers)
        try:
            handed_out, admin = (
                yaml.safe_load(api.get(path, headers=headers).json()["kubeconfig"])
                for path in (
                    f"/clusters/{cluster_id}/kubeconfig",
                    f"/clusters/{cluster_id}/kubeconfig/admin",
                )
            )
            token = api.post("/auth/tokens", json={"name": "bench"}, headers=headers).json()
            proxy = (f"{https}/k8s/clusters/{cluster_id}", headers)
            compare_requests(proxy, admin, ca, work, requests)
            compare_kubectl(handed_out, admin, token["token"], ca, work, runs)
        finally:
            delete(api, headers, cluster_id)


def compare_requests(proxy, admin: dict, ca: Path, work: Path, requests: int) -> None:
    url, headers = proxy
    through = httpx.Client(verify=ssl.create_default_context(cafile=str(ca)))
    direct, server = direct_client(admin, work)
    with through, direct:
        pairs = http_pairs(
            (through, f"{url}/api/v1/namespaces", headers),
            (direct, f"{server}/api/v1/namespaces", {}),
            requests,
        )
    print(compare("GET /api/v1/namespaces (HTTPS)", *pairs))


def compare_kubectl(
    handed_out: dict, admin: dict, token: str, ca: Path, work: Path, runs: int
) -> None:
    with_token = {
        **handed_out,
        "users": [{"name": handed_out["users"][0]["name"], "user": {"token": token}}],
    }
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYK8S_TOKEN": token,
        "XDG_CONFIG_HOME": str(work / "config"),
        "SSL_CERT_FILE": str(ca),
    }
    direct = (write(work, "admin.yaml", admin), env)
    for label, name, config in (
        ("kubectl get namespaces (token)", "token.yaml", with_token),
        ("kubectl get namespaces (exec plugin)", "exec.yaml", handed_out),
    ):
        print(compare(label, *kubectl_pairs((write(work, name, config), env), direct, runs)))


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    if not KUBECTL.exists():
        raise SystemExit("no kubectl in .tools/bin: run scripts/install-k8s-tools.sh")
    work = Path(tempfile.mkdtemp(prefix="pyk8s-bench-"))
    platform = Platform(work / "data").start()
    try:
        ca = work / "data" / "tls" / "ca.pem"
        measure(platform.http, platform.https, ca, work, requests, runs)
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
