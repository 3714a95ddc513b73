import json
import re
from collections import Counter
from pathlib import Path

from pyk8s_contracts.clusters import Provider

from .base import ContainerDriver, CreateSpec
from .process import CliError, run_checked, run_cli

K3S_IMAGE = "rancher/k3s"
# `k3d version` prints its own version and the k3s image tag it creates by default:
#   k3d version v5.8.3
#   k3s version v1.31.5-k3s1 (default)
K3D_VERSION = re.compile(r"^k3d version (v\S+)", re.MULTILINE)
K3S_DEFAULT = re.compile(r"^k3s version (\S+) \(default\)", re.MULTILINE)
K3S_TAG = re.compile(r"^(v1\.[0-9]{1,2}\.[0-9]{1,2})-k3s[0-9]+$")


class K3dDriver(ContainerDriver):
    provider = Provider.K3D
    cluster_label = "k3d.cluster"
    role_label = "k3d.role"
    image_repository = K3S_IMAGE

    async def ask_cli(self) -> tuple[str, str | None]:
        result = await run_checked([self.binary, "version"], self.timeouts.short_seconds)
        found = K3D_VERSION.search(result.stdout)
        if found is None:
            raise CliError(f"k3d version printed no version: {result.stdout[:200]}")
        default = K3S_DEFAULT.search(result.stdout)
        return found.group(1), self.version_of_tag(default.group(1)) if default else None

    def version_of_tag(self, tag: str) -> str | None:
        found = K3S_TAG.match(tag)
        return found.group(1) if found else None

    def tag_of(self, version: str) -> str:
        return f"{version}-k3s1"

    def create_argv(self, spec: CreateSpec) -> list[str]:
        argv = [
            self.binary,
            "cluster",
            "create",
            spec.runtime_name,
            # k3d keeps the host user's ~/.kube/config untouched.
            "--kubeconfig-update-default=false",
            "--kubeconfig-switch-context=false",
            "--timeout",
            f"{self.timeouts.wait_seconds}s",
            "--agents",
            str(spec.workers),
        ]
        image = self.image(spec.kubernetes_version)
        if image:
            argv += ["--image", image]
        if self.host_address:
            # k3d publishes the API server on every interface already.
            argv += ["--k3s-arg", f"--tls-san={self.host_address}@server:*"]
        return argv

    async def discard(self, runtime_name: str, work_dir: Path) -> None:
        await super().discard(runtime_name, work_dir)
        # When the image pull fails k3d's own rollback leaves the cluster network behind, and
        # `k3d cluster delete` finds no nodes to go by; the network is removed directly.
        await run_cli(
            ["docker", "network", "rm", f"k3d-{runtime_name}"], self.timeouts.short_seconds
        )

    def delete_argv(self, runtime_name: str, work_dir: Path) -> list[str]:
        return [self.binary, "cluster", "delete", runtime_name]

    def list_argv(self) -> list[str]:
        return [self.binary, "cluster", "list", "-o", "json"]

    def kubeconfig_argv(self, runtime_name: str) -> list[str]:
        return [self.binary, "kubeconfig", "get", runtime_name]

    def parse_list(self, stdout: str) -> set[str]:
        try:
            clusters = json.loads(stdout or "[]")
        except json.JSONDecodeError:
            raise CliError(f"k3d cluster list printed no JSON: {stdout[:200]}") from None
        return {c["name"] for c in clusters or [] if isinstance(c, dict) and "name" in c}

    def node_container(self, runtime_name: str) -> str:
        return f"k3d-{runtime_name}-server-0"

    def node_kubectl(self) -> list[str]:
        # As k3d itself applies its registry ConfigMap: k3s's kubectl finds the server's
        # admin kubeconfig (/etc/rancher/k3s/k3s.yaml) by itself.
        return ["kubectl", "apply", "-f", "-"]

    def expected_roles(self, workers: int) -> Counter[str]:
        return Counter({"server": 1, "agent": workers, "loadbalancer": 1})
