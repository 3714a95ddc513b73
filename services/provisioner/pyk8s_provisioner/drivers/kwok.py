"""kwok (sigs.k8s.io/kwok): a real kube-apiserver with etcd, kube-controller-manager,
kube-scheduler and the kwok controller, run as local processes by kwokctl's binary runtime
from binaries installed on this machine, with fake nodes that the kwok controller keeps
Ready. The cluster needs no container; a terminal gets a shell container with kubectl
pointed at the cluster."""

import asyncio
import fcntl
import io
import json
import logging
import os
import re
import shutil
import tarfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path

import psutil

from pyk8s_contracts.clusters import KUBERNETES_VERSION_PATTERN, Provider, ProviderInfo

from .base import CreateSpec, Driver, Timeouts, Unavailable, version_key
from .process import CliError, error_text, run_checked, run_cli

log = logging.getLogger(__name__)

# The processes kwokctl starts for every cluster, by the names of their pid files.
COMPONENTS = (
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok-controller",
)
# What one installed Kubernetes version is: a folder named after it holding these.
KUBERNETES_BINARIES = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
VERSION_NAME = re.compile(KUBERNETES_VERSION_PATTERN)
INSTALL_HINT = "run scripts/install-k8s-tools.sh"
# `kwokctl --version`: kwokctl version v0.8.0 go1.24.6 (linux/amd64)
KWOKCTL_VERSION = re.compile(r"^kwokctl version (v\S+)", re.MULTILINE)
SHELL_LABEL = "pyk8s-lab.kwok-cluster"
SHELL_KUBECONFIG = ".kube/config"  # under /root, where kubectl looks by default
GONE_POLL_SECONDS = 0.05
LOCK_POLL_SECONDS = 0.1


@dataclass(frozen=True)
class KwokTools:
    kwokctl: str
    etcd: str
    # The kwok controller (the `kwok` binary).
    controller: str
    # One subfolder per Kubernetes version (v1.34.4/) with KUBERNETES_BINARIES.
    versions_dir: Path | None


SHELL_API_HOST = "kubernetes"


@dataclass(frozen=True)
class Shell:
    """The container a terminal of a kwok cluster attaches to."""

    image: str
    # A network of its own, never the host's: there a shell would reach every loopback
    # service of the host, other clusters' etcd included. It reaches the API server at the
    # host's address on that network (Docker's host-gateway), named `kubernetes` as the API
    # server's certificate names it.
    network: str


def lives(process: psutil.Process) -> bool:
    """Running, and not a zombie: one that its parent has not reaped yet is gone too."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def installed_versions(versions_dir: Path | None) -> tuple[str, ...]:
    """The versions whose folder holds every Kubernetes binary, newest first."""
    if versions_dir is None or not versions_dir.is_dir():
        return ()
    found = [
        folder.name
        for folder in versions_dir.iterdir()
        if VERSION_NAME.match(folder.name)
        and all(os.access(folder / binary, os.X_OK) for binary in KUBERNETES_BINARIES)
    ]
    return tuple(sorted(found, key=version_key, reverse=True))


def kwokctl_config(apiserver_address: str, host_address: str | None = None) -> str:
    """KwokctlConfiguration (JSON is YAML). kwokctl's default binds every component to
    0.0.0.0, etcd included, which serves plain HTTP without authentication: anyone on the
    network could rewrite the cluster. Everything listens on loopback; the API server on
    the address asked for, with `host_address` (where other machines reach it) among its
    certificate's names besides kwokctl's own."""
    options: dict[str, object] = {"bindAddress": "127.0.0.1"}
    if host_address:
        options["kubeApiserverCertSANs"] = [host_address]
    return json.dumps(
        {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokctlConfiguration",
            "options": options,
            "componentsPatches": [
                {
                    "name": "kube-apiserver",
                    "extraArgs": [
                        {"key": "bind-address", "value": apiserver_address, "override": True}
                    ],
                }
            ],
        },
        indent=2,
    )


def kubeconfig_archive(kubeconfig: str) -> bytes:
    """A tar stream with `.kube/config`, for `docker cp -` into the shell's home."""
    data = kubeconfig.encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        folder = tarfile.TarInfo(".kube")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o700
        archive.addfile(folder)
        entry = tarfile.TarInfo(SHELL_KUBECONFIG)
        entry.size, entry.mode = len(data), 0o600
        archive.addfile(entry, io.BytesIO(data))
    return buffer.getvalue()


class KwokDriver(Driver):
    provider = Provider.KWOK

    def __init__(
        self,
        tools: KwokTools,
        timeouts: Timeouts,
        workdir: Path,
        apiserver_address: str,
        shell: Shell,
        scratch_dir: Path | None = None,
        host_address: str | None = None,
    ) -> None:
        super().__init__(tools.kwokctl, timeouts, scratch_dir)
        self.tools = tools
        self.host_address = host_address
        # KWOK_WORKDIR: kwokctl keeps every cluster there (configuration, certificates,
        # etcd data, pid files), so it outlives the provisioner process.
        self.workdir = workdir
        self.apiserver_address = apiserver_address
        self.shell = shell

    def env(self, work_dir: Path) -> dict[str, str]:
        return {**super().env(work_dir), "KWOK_WORKDIR": str(self.workdir)}

    def cluster_dir(self, runtime_name: str) -> Path:
        return self.workdir / "clusters" / runtime_name

    def admin_kubeconfig(self, runtime_name: str) -> Path:
        """The kubeconfig kwokctl writes for the cluster, with its admin certificate."""
        return self.cluster_dir(runtime_name) / "kubeconfig.yaml"

    @staticmethod
    def config_path(work_dir: Path) -> Path:
        return work_dir / "kwokctl.yaml"

    # versions

    def versions(self) -> tuple[str, ...]:
        return installed_versions(self.tools.versions_dir)

    def missing(self) -> str | None:
        """Why kwok cannot create clusters here (a binary or every Kubernetes version is
        missing), or None."""
        tools = {
            "kwokctl": self.tools.kwokctl,
            "etcd": self.tools.etcd,
            "kwok": self.tools.controller,
        }
        missing = [f"{name} ({path})" for name, path in tools.items() if not shutil.which(path)]
        if missing:
            return f"{', '.join(missing)} not found; {INSTALL_HINT}"
        if not self.versions():
            where = self.tools.versions_dir or "PROVISIONER_KWOK_VERSIONS_DIR (not set)"
            return f"no Kubernetes binaries in {where}; {INSTALL_HINT}"
        return None

    async def probe(self) -> ProviderInfo:
        reason = self.missing()
        if reason:
            return self.unavailable(reason)
        try:
            result = await run_checked([self.binary, "--version"], self.timeouts.short_seconds)
        except CliError as error:
            return self.unavailable(f"kwokctl --version failed: {error}")
        found = KWOKCTL_VERSION.search(result.stdout)
        versions = self.versions()
        return ProviderInfo(
            provider=self.provider,
            available=True,
            cli_version=found.group(1) if found else None,
            versions=list(versions),
            default_version=versions[0],
        )

    def version_dir(self, version: str) -> Path:
        return (self.tools.versions_dir or Path()) / version

    # create

    def prepare(self, spec: CreateSpec) -> None:
        super().prepare(spec)
        config = kwokctl_config(self.apiserver_address, self.host_address)
        self.config_path(spec.work_dir).write_text(config)

    def create_argv(self, spec: CreateSpec) -> list[str]:
        version_dir = self.version_dir(spec.kubernetes_version or self.versions()[0])
        return [
            self.binary,
            "create",
            "cluster",
            "--name",
            spec.runtime_name,
            "--runtime",
            "binary",
            "--config",
            str(self.config_path(spec.work_dir)),
            "--etcd-binary",
            shutil.which(self.tools.etcd) or self.tools.etcd,
            "--kube-apiserver-binary",
            str(version_dir / "kube-apiserver"),
            "--kube-controller-manager-binary",
            str(version_dir / "kube-controller-manager"),
            "--kube-scheduler-binary",
            str(version_dir / "kube-scheduler"),
            "--kwok-controller-binary",
            shutil.which(self.tools.controller) or self.tools.controller,
            "--kubeconfig",
            str(spec.work_dir / "kubeconfig"),
            "--wait",
            f"{self.timeouts.wait_seconds}s",
        ]

    def scale_argv(self, runtime_name: str, workers: int) -> list[str]:
        return [self.binary, "--name", runtime_name, "scale", "node", "--replicas", str(workers)]

    async def create(self, spec: CreateSpec) -> str:
        try:
            version = await self.version_for(spec.kubernetes_version)
            spec = replace(spec, kubernetes_version=version)
        except Unavailable as error:
            raise CliError(str(error)) from None
        self.prepare(spec)
        env = self.env(spec.work_dir)
        # kwokctl runs the first `kubectl` on PATH to see the API server serve: ours.
        version_dir = self.version_dir(spec.kubernetes_version)
        env["PATH"] = f"{version_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        async with self.one_create_at_a_time():
            await run_checked(self.create_argv(spec), self.timeouts.create_seconds, env)
        if spec.workers:
            await run_checked(
                self.scale_argv(spec.runtime_name, spec.workers), self.timeouts.short_seconds, env
            )
            await self._kubectl(
                spec.runtime_name,
                "wait",
                "--for=condition=Ready",
                "node",
                "--all",
                f"--timeout={self.timeouts.short_seconds}s",
            )
        # kwokctl calls a cluster ready once its API server answers, even if a component
        # failed to start (an etcd whose port was taken would leave the API server on another
        # cluster's etcd): a cluster is made only when whole.
        missing = await self.missing_nodes(spec.runtime_name, spec.workers)
        if missing:
            raise CliError(f"kwok cluster {spec.runtime_name} is not whole: {', '.join(missing)}")
        return await self.kubeconfig(spec.runtime_name)

    @asynccontextmanager
    async def one_create_at_a_time(self) -> AsyncIterator[None]:
        """kwokctl picks each component's port by trying them from 32766 down, so two
        creates at once pick the same ones. A lock file in KWOK_WORKDIR serializes them on
        this host (the kernel releases it if its holder dies; kwokctl does not inherit it)."""
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeouts.create_seconds
        with (self.workdir / "create.lock").open("w") as lock:
            while True:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if loop.time() > deadline:
                        raise CliError("another kwok cluster took too long to be created") from None
                    await asyncio.sleep(LOCK_POLL_SECONDS)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def kubectl_of(self, runtime_name: str) -> str:
        """kubectl of the cluster's own Kubernetes version (kwokctl links the binaries it was
        given into the cluster's folder), else of the newest version installed."""
        with suppress(OSError):
            given = Path(os.readlink(self.cluster_dir(runtime_name) / "bin" / "kube-apiserver"))
            kubectl = given.parent / "kubectl"
            if os.access(kubectl, os.X_OK):
                return str(kubectl)
        versions = self.versions()
        if not versions:
            raise CliError(f"no kubectl for kwok cluster {runtime_name}; {INSTALL_HINT}")
        return str(self.version_dir(versions[0]) / "kubectl")

    def kubectl_argv(self, runtime_name: str, *args: str) -> list[str]:
        kubeconfig = str(self.admin_kubeconfig(runtime_name))
        return [self.kubectl_of(runtime_name), "--kubeconfig", kubeconfig, *args]

    async def _kubectl(self, runtime_name: str, *args: str) -> str:
        argv = self.kubectl_argv(runtime_name, *args)
        return (await run_checked(argv, self.timeouts.short_seconds)).stdout

    def bindings_argv(self, runtime_name: str) -> list[str]:
        return self.kubectl_argv(runtime_name, "apply", "-f", "-")

    # state

    def list_argv(self) -> list[str]:
        return [self.binary, "get", "clusters"]

    def parse_list(self, stdout: str) -> set[str]:
        return {line.strip() for line in stdout.splitlines() if line.strip()}

    def kubeconfig_argv(self, runtime_name: str) -> list[str]:
        return [self.binary, "get", "kubeconfig", "--name", runtime_name]

    def component_running(self, runtime_name: str, component: str) -> bool:
        """The pid file names a live process started from the cluster's own binary (not a
        zombie, not another program that got the pid since)."""
        pid_file = self.cluster_dir(runtime_name) / "pids" / f"{component}.pid"
        binary = str(self.cluster_dir(runtime_name) / "bin" / component)
        try:
            process = psutil.Process(int(pid_file.read_text().strip()))
            return lives(process) and process.cmdline()[:1] == [binary]
        except (OSError, ValueError, psutil.Error):
            return False

    async def missing_nodes(self, runtime_name: str, workers: int) -> tuple[str, ...]:
        stopped = tuple(
            f"{component}: not running"
            for component in COMPONENTS
            if not self.component_running(runtime_name, component)
        )
        if stopped:
            return stopped
        ready = '{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}'
        try:
            out = await self._kubectl(
                runtime_name, "get", "nodes", "--request-timeout=10s", "-o", f"jsonpath={ready}"
            )
        except CliError as error:
            return (f"kube-apiserver: {error}",)
        count = out.split().count("True")
        return () if count == workers else (f"nodes: {count} of {workers} ready",)

    def processes(self, runtime_name: str) -> list[psutil.Process]:
        """Every process started from the cluster's binaries, with or without a pid file."""
        prefix = str(self.cluster_dir(runtime_name) / "bin") + os.sep
        found = []
        for process in psutil.process_iter(["cmdline"]):
            argv = process.info["cmdline"] or []
            if argv and argv[0].startswith(prefix):
                found.append(process)
        return found

    # delete

    def delete_argv(self, runtime_name: str, work_dir: Path) -> list[str]:
        return [
            self.binary,
            "delete",
            "cluster",
            "--name",
            runtime_name,
            "--kubeconfig",
            str(work_dir / "kubeconfig"),
        ]

    async def delete(self, runtime_name: str, work_dir: Path) -> None:
        await self._remove_shell(runtime_name)
        await super().delete(runtime_name, work_dir)
        # kwokctl kills the components it has pid files of and does not wait for them; a
        # create cut short may have started one before writing its pid file.
        left = self.processes(runtime_name)
        for process in left:
            with suppress(psutil.Error):
                process.kill()
        deadline = asyncio.get_running_loop().time() + self.timeouts.short_seconds
        while alive := [process for process in left if lives(process)]:
            if asyncio.get_running_loop().time() > deadline:
                raise CliError(f"kwok cluster {runtime_name}: still running after delete: {alive}")
            await asyncio.sleep(GONE_POLL_SECONDS)
        # What kwokctl does not know as a cluster (a create cut short before its
        # configuration was written) it leaves behind.
        shutil.rmtree(self.cluster_dir(runtime_name), ignore_errors=True)

    # the terminal's shell container

    def node_container(self, runtime_name: str) -> str:
        return f"pyk8s-kwok-{runtime_name}"

    async def terminal_container(self, runtime_name: str) -> str:
        """Made on demand and idempotent: replicas asking at once all end with the one
        running container (a create that loses the race finds the name taken)."""
        name = self.node_container(runtime_name)
        state = await run_cli(
            ["docker", "inspect", "--format", "{{.State.Running}}", name],
            self.timeouts.short_seconds,
        )
        if state.returncode == 0 and state.stdout.strip() == "true":
            return name
        kubeconfig = await self.shell_kubeconfig(runtime_name)
        created = await run_cli(
            [
                "docker",
                "create",
                # The image is built on this machine (scripts/node-image.sh), never pulled.
                "--pull",
                "never",
                "--name",
                name,
                "--hostname",
                name,
                "--network",
                self.shell.network,
                "--add-host",
                f"{SHELL_API_HOST}:host-gateway",
                "--label",
                f"{SHELL_LABEL}={runtime_name}",
                self.shell.image,
            ],
            self.timeouts.short_seconds,
        )
        if created.returncode != 0 and "is already in use" not in created.stderr:
            raise CliError(error_text(created))
        await run_checked(
            ["docker", "cp", "-", f"{name}:/root"],
            self.timeouts.short_seconds,
            stdin=kubeconfig_archive(kubeconfig),
        )
        await run_checked(["docker", "start", name], self.timeouts.short_seconds)
        return name

    async def shell_kubeconfig(self, runtime_name: str) -> str:
        result = await run_checked(
            [*self.kubeconfig_argv(runtime_name), "--host", SHELL_API_HOST],
            self.timeouts.short_seconds,
            self.env(self.scratch_dir),
        )
        return result.stdout

    async def _remove_shell(self, runtime_name: str) -> None:
        """The cluster does not need Docker: when it cannot be asked, the start-up
        reconciliation removes a shell container left behind."""
        try:
            result = await run_cli(
                ["docker", "rm", "--force", self.node_container(runtime_name)],
                self.timeouts.short_seconds,
            )
        except CliError as error:
            log.info("no shell container of %s removed: %s", runtime_name, error)
            return
        if result.returncode != 0 and "No such container" not in result.stderr:
            log.warning(
                "could not remove the shell container of %s: %s", runtime_name, error_text(result)
            )

    async def _shell_owners(self) -> set[str]:
        try:
            result = await run_cli(
                [
                    "docker",
                    "ps",
                    "--all",
                    "--filter",
                    f"label={SHELL_LABEL}",
                    "--format",
                    f'{{{{.Label "{SHELL_LABEL}"}}}}',
                ],
                self.timeouts.short_seconds,
            )
        except CliError:
            return set()
        if result.returncode != 0:
            return set()
        return {line.strip() for line in result.stdout.splitlines() if line.strip()}

    def _folders(self) -> set[str]:
        clusters = self.workdir / "clusters"
        return {entry.name for entry in clusters.iterdir()} if clusters.is_dir() else set()

    # Last in the class: below it, `list` in annotations would mean this method.
    async def list(self) -> set[str]:
        """kwokctl's clusters, and those of which only a folder kwokctl skips (a create cut
        short before its configuration was written) or a shell container is left."""
        return await super().list() | self._folders() | await self._shell_owners()
