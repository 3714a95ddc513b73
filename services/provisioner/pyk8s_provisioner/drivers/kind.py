import asyncio
import re
import shutil
from collections import Counter
from pathlib import Path

from pyk8s_contracts.clusters import Provider

from .base import VERSION, ContainerDriver, CreateSpec
from .process import CliError, run_checked

KIND_IMAGE = "kindest/node"
KIND_VERSION = re.compile(r"^kind (v\S+)", re.MULTILINE)
# kind prints its default node image nowhere but keeps it in its binary as
# `kindest/node:v1.34.0@sha256:...` (pkg/apis/config/defaults/image.go).
DEFAULT_IMAGE = re.compile(rb"kindest/node:(v1\.[0-9]{1,2}\.[0-9]{1,2})@sha256:")


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
    image_repository = KIND_IMAGE

    @staticmethod
    def kubeconfig_path(work_dir: Path) -> Path:
        # kind writes here instead of the host user's ~/.kube/config.
        return work_dir / "kubeconfig"

    @staticmethod
    def config_path(work_dir: Path) -> Path:
        return work_dir / "kind-config.yaml"

    async def ask_cli(self) -> tuple[str, str | None]:
        result = await run_checked([self.binary, "version"], self.timeouts.short_seconds)
        found = KIND_VERSION.search(result.stdout)
        if found is None:
            raise CliError(f"kind version printed no version: {result.stdout[:200]}")
        return found.group(1), await asyncio.to_thread(self.default_in_binary)

    def default_in_binary(self) -> str | None:
        path = shutil.which(self.binary)
        if path is None:
            return None
        found = DEFAULT_IMAGE.search(Path(path).read_bytes())
        return found.group(1).decode() if found else None

    def version_of_tag(self, tag: str) -> str | None:
        return tag if VERSION.match(tag) else None

    def tag_of(self, version: str) -> str:
        return version

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
