from collections import Counter
from pathlib import Path

from pyk8s_contracts.clusters import Provider

from .base import ContainerDriver, CreateSpec

KIND_IMAGE = "kindest/node"


def kind_config(workers: int, host_address: str | None = None) -> str:
    nodes = ["- role: control-plane"] + ["- role: worker"] * workers
    config = "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n" + "\n".join(nodes) + "\n"
    if host_address:
        # Published on every interface, with the address among the certificate's names.
        # kind's kubeadm patches are merge patches, which replace lists: the names kind gives
        # by itself are listed again.
        config += (
            "networking:\n"
            '  apiServerAddress: "0.0.0.0"\n'
            "kubeadmConfigPatches:\n"
            "- |\n"
            "  kind: ClusterConfiguration\n"
            "  apiServer:\n"
            "    certSANs:\n"
            '    - "localhost"\n'
            '    - "127.0.0.1"\n'
            f'    - "{host_address}"\n'
        )
    return config


class KindDriver(ContainerDriver):
    provider = Provider.KIND
    cluster_label = "io.x-k8s.kind.cluster"
    role_label = "io.x-k8s.kind.role"

    @staticmethod
    def kubeconfig_path(work_dir: Path) -> Path:
        # kind writes here instead of the host user's ~/.kube/config.
        return work_dir / "kubeconfig"

    @staticmethod
    def config_path(work_dir: Path) -> Path:
        return work_dir / "kind-config.yaml"

    def image(self, version: str | None) -> str | None:
        return f"{KIND_IMAGE}:{version}" if version else self.node_image

    def prepare(self, spec: CreateSpec) -> None:
        super().prepare(spec)
        if self._configured(spec):
            config = kind_config(spec.workers, self.host_address)
            self.config_path(spec.work_dir).write_text(config)

    def _configured(self, spec: CreateSpec) -> bool:
        return bool(spec.workers or self.host_address)

    def create_argv(self, spec: CreateSpec) -> list[str]:
        argv = [
            self.binary,
            "create",
            "cluster",
            "--name",
            spec.runtime_name,
            "--kubeconfig",
            str(self.kubeconfig_path(spec.work_dir)),
            "--wait",
            f"{self.timeouts.wait_seconds}s",
        ]
        image = self.image(spec.kubernetes_version)
        if image:
            argv += ["--image", image]
        if self._configured(spec):
            argv += ["--config", str(self.config_path(spec.work_dir))]
        return argv

    def delete_argv(self, runtime_name: str, work_dir: Path) -> list[str]:
        return [
            self.binary,
            "delete",
            "cluster",
            "--name",
            runtime_name,
            "--kubeconfig",
            str(self.kubeconfig_path(work_dir)),
        ]

    def list_argv(self) -> list[str]:
        return [self.binary, "get", "clusters"]

    def kubeconfig_argv(self, runtime_name: str) -> list[str]:
        return [self.binary, "get", "kubeconfig", "--name", runtime_name]

    def parse_list(self, stdout: str) -> set[str]:
        return {line.strip() for line in stdout.splitlines() if line.strip()}

    def node_container(self, runtime_name: str) -> str:
        return f"{runtime_name}-control-plane"

    def node_kubectl(self) -> list[str]:
        # As kind itself applies its storage class: the control plane's kubeadm admin.conf.
        return ["kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "apply", "-f", "-"]

    def expected_roles(self, workers: int) -> Counter[str]:
        return Counter({"control-plane": 1, "worker": workers})
