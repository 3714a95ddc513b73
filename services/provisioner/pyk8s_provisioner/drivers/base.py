"""What every cluster driver does. Drivers run the provider's real CLI; each call has a
deadline and a failure carries the CLI's own error text."""

import asyncio
import re
import time
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pyk8s_contracts.clusters import KUBERNETES_VERSION_PATTERN, Provider, ProviderInfo

from ..kubernetes import bindings_manifest
from .process import CliError, run_checked

SERVER_LINE = re.compile(r"^\s*server:\s*(\S+)\s*$", re.MULTILINE)
VERSION = re.compile(KUBERNETES_VERSION_PATTERN)


@dataclass(frozen=True)
class CreateSpec:
    runtime_name: str
    kubernetes_version: str | None
    workers: int
    # Per-cluster scratch folder: the kubeconfig file and generated configs live here.
    work_dir: Path


@dataclass(frozen=True)
class Timeouts:
    wait_seconds: int
    grace_seconds: int
    short_seconds: int
    # How long what a provider offers (its CLI's answers) is taken as current: versions do
    # not change between requests, and a create should not wait for a CLI to say them.
    probe_fresh_seconds: float = 15.0

    @property
    def create_seconds(self) -> int:
        return self.wait_seconds + self.grace_seconds


@dataclass(frozen=True)
class Node:
    name: str
    role: str
    running: bool


class Unavailable(Exception):
    """The driver cannot create what was asked on this machine; `available` lists the
    Kubernetes versions it can create instead (empty when none)."""

    def __init__(self, message: str, available: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.available = available


def api_server_of(kubeconfig: str) -> str | None:
    found = SERVER_LINE.search(kubeconfig)
    return found.group(1) if found else None


def version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.removeprefix("v").split("."))


def newest_first(versions) -> list[str]:
    return sorted(set(versions), key=version_key, reverse=True)


class Driver(ABC):
    provider: Provider

    def __init__(self, binary: str, timeouts: Timeouts, scratch_dir: Path | None = None) -> None:
        self.binary = binary
        self.timeouts = timeouts
        self.scratch_dir = scratch_dir or Path("/tmp/pyk8s-provisioner")
        self._offer: ProviderInfo | None = None
        self._offer_at = 0.0
        self._probing = asyncio.Lock()

    def env(self, work_dir: Path) -> dict[str, str]:
        # Whatever a CLI would do to "the" kubeconfig (k3d's delete edits it) happens to a
        # file of ours, never to the host user's ~/.kube/config.
        work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        return {"KUBECONFIG": str(work_dir / "kubeconfig")}

    @abstractmethod
    def create_argv(self, spec: CreateSpec) -> list[str]: ...

    @abstractmethod
    def delete_argv(self, runtime_name: str, work_dir: Path) -> list[str]: ...

    @abstractmethod
    def list_argv(self) -> list[str]: ...

    @abstractmethod
    def kubeconfig_argv(self, runtime_name: str) -> list[str]: ...

    @abstractmethod
    def bindings_argv(self, runtime_name: str) -> list[str]:
        """A command that applies the manifest on its standard input with the cluster's
        admin credential, the way the provider's own tool does its set-up."""

    @abstractmethod
    def parse_list(self, stdout: str) -> set[str]: ...

    @abstractmethod
    def node_container(self, runtime_name: str) -> str:
        """The Docker container where a terminal attaches."""

    @abstractmethod
    async def missing_nodes(self, runtime_name: str, workers: int) -> tuple[str, ...]:
        """What keeps the runtime cluster from being the one asked for, e.g.
        `worker: 0 of 1 running`; empty when it is complete and running."""

    @abstractmethod
    async def probe(self) -> ProviderInfo:
        """Ask the CLI and the machine what this provider offers here now."""

    def unavailable(self, reason: str) -> ProviderInfo:
        return ProviderInfo(provider=self.provider, available=False, reason=reason)

    async def describe(self) -> ProviderInfo:
        """What the provider offers here, probed at most once per `probe_fresh_seconds`."""
        async with self._probing:
            fresh = time.monotonic() - self._offer_at < self.timeouts.probe_fresh_seconds
            if self._offer is None or not fresh:
                self._offer = await self.probe()
                self._offer_at = time.monotonic()
            return self._offer

    async def version_for(self, requested: str | None) -> str | None:
        """The version a cluster asked with `requested` (None: the default) will run; raises
        Unavailable when it cannot be created here, before anything is queued."""
        offer = await self.describe()
        if not offer.available:
            raise Unavailable(f"{self.provider.value} is not available here: {offer.reason}")
        if requested is None:
            return offer.default_version
        if requested not in offer.versions:
            raise Unavailable(
                f"Kubernetes {requested} is not offered by {self.provider.value} here; "
                f"available: {', '.join(offer.versions)}",
                tuple(offer.versions),
            )
        return requested

    async def terminal_container(self, runtime_name: str) -> str:
        """The container a terminal of a ready cluster attaches to, made ready first."""
        return self.node_container(runtime_name)

    def prepare(self, spec: CreateSpec) -> None:
        spec.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    async def create(self, spec: CreateSpec) -> str:
        """Create the cluster and return its kubeconfig."""
        self.prepare(spec)
        await run_checked(
            self.create_argv(spec), self.timeouts.create_seconds, self.env(spec.work_dir)
        )
        return await self.kubeconfig(spec.runtime_name)

    async def apply_bindings(self, runtime_name: str) -> None:
        """The team roles' ClusterRoleBindings; `kubectl apply` makes it safe to repeat."""
        await run_checked(
            self.bindings_argv(runtime_name),
            self.timeouts.short_seconds,
            self.env(self.scratch_dir),
            bindings_manifest().encode(),
        )

    async def delete(self, runtime_name: str, work_dir: Path) -> None:
        work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        await run_checked(
            self.delete_argv(runtime_name, work_dir),
            self.timeouts.short_seconds,
            self.env(work_dir),
        )

    async def discard(self, runtime_name: str, work_dir: Path) -> None:
        """Remove whatever a failed create left behind."""
        if await self.exists(runtime_name):
            await self.delete(runtime_name, work_dir)

    async def list(self) -> set[str]:
        result = await run_checked(
            self.list_argv(), self.timeouts.short_seconds, self.env(self.scratch_dir)
        )
        return self.parse_list(result.stdout)

    async def exists(self, runtime_name: str) -> bool:
        return runtime_name in await self.list()

    async def kubeconfig(self, runtime_name: str) -> str:
        result = await run_checked(
            self.kubeconfig_argv(runtime_name),
            self.timeouts.short_seconds,
            self.env(self.scratch_dir),
        )
        if "apiVersion" not in result.stdout:
            raise CliError(f"{self.provider.value} returned no kubeconfig for {runtime_name}")
        return result.stdout


class ContainerDriver(Driver):
    """A provider whose nodes are Docker containers that its CLI labels (kind, k3d), started
    from node images that carry the Kubernetes version in their tag."""

    # Docker labels the provider's CLI puts on every node container.
    cluster_label: str
    role_label: str
    # The node images' repository: its tags name the Kubernetes versions.
    image_repository: str

    def __init__(
        self,
        binary: str,
        timeouts: Timeouts,
        node_image: str | None = None,
        scratch_dir: Path | None = None,
        versions: tuple[str, ...] | None = None,
        host_address: str | None = None,
    ) -> None:
        """`node_image`: what a create without a version gets (None: the CLI's own default).
        `versions`: the Kubernetes versions offered (e.g. those a registry mirror holds);
        None: those whose node image is in the local Docker engine. The default is always
        offered."""
        super().__init__(binary, timeouts, scratch_dir)
        self.node_image = node_image
        self.configured_versions = versions
        # Set when the API server must be reached from other machines at this address: it is
        # published on every interface and its certificate names the address.
        self.host_address = host_address
        # From the latest probe: the default version and the local tag of each version.
        self.default_version: str | None = None
        self.tags: dict[str, str] = {}

    @abstractmethod
    async def ask_cli(self) -> tuple[str, str | None]:
        """The CLI's version and the Kubernetes version it creates when given no image."""

    @abstractmethod
    def version_of_tag(self, tag: str) -> str | None:
        """The Kubernetes version a node image tag carries; None for other tags."""

    @abstractmethod
    def tag_of(self, version: str) -> str:
        """The tag the provider publishes the node image of `version` under."""

    def version_of_image(self, image: str) -> str | None:
        tag = image.split("@", 1)[0].rpartition(":")[2]
        return self.version_of_tag(tag)

    def image(self, version: str | None) -> str | None:
        """The node image a create of `version` passes; None lets the CLI use its default."""
        if version is None or version == self.default_version:
            return self.node_image
        return f"{self.image_repository}:{self.tags.get(version) or self.tag_of(version)}"

    async def local_tags(self) -> dict[str, str]:
        """Each Kubernetes version whose node image the local Docker engine holds: its tag."""
        result = await run_checked(
            ["docker", "image", "ls", "--format", "{{.Tag}}", self.image_repository],
            self.timeouts.short_seconds,
        )
        tags = (line.strip() for line in result.stdout.splitlines())
        return {version: tag for tag in tags if (version := self.version_of_tag(tag))}

    async def probe(self) -> ProviderInfo:
        setting = f"PROVISIONER_{self.provider.value.upper()}_BIN"
        try:
            cli_version, cli_default = await self.ask_cli()
        except CliError as error:
            return self.unavailable(f"{error} ({setting}={self.binary})")
        if self.configured_versions is None:
            try:
                self.tags = await self.local_tags()
            except CliError as error:
                return self.unavailable(f"Docker does not answer: {error}")
        default = self.version_of_image(self.node_image) if self.node_image else cli_default
        self.default_version = default
        offered = self.tags if self.configured_versions is None else self.configured_versions
        return ProviderInfo(
            provider=self.provider,
            available=True,
            cli_version=cli_version,
            versions=newest_first([*offered, *([default] if default else [])]),
            default_version=default,
        )

    async def create(self, spec: CreateSpec) -> str:
        # The image for the version comes from the probe (local tag, default): a create
        # resumed after a restart probes first.
        await self.describe()
        return await super().create(spec)

    @abstractmethod
    def expected_roles(self, workers: int) -> Counter[str]:
        """How many node containers of each role a complete cluster has."""

    def bindings_argv(self, runtime_name: str) -> list[str]:
        return ["docker", "exec", "-i", self.node_container(runtime_name), *self.node_kubectl()]

    @abstractmethod
    def node_kubectl(self) -> list[str]:
        """kubectl inside the server node, with the admin credential the node keeps."""

    async def nodes(self, runtime_name: str) -> tuple[Node, ...]:
        """The cluster's node containers, found by the labels the CLI gives them."""
        fields = f'{{{{.Names}}}}\t{{{{.State}}}}\t{{{{.Label "{self.role_label}"}}}}'
        result = await run_checked(
            [
                "docker",
                "ps",
                "--all",
                "--filter",
                f"label={self.cluster_label}={runtime_name}",
                "--format",
                fields,
            ],
            self.timeouts.short_seconds,
        )
        rows = [line.split("\t") for line in result.stdout.splitlines() if line.strip()]
        return tuple(Node(name, role, state == "running") for name, state, role in rows)

    async def missing_nodes(self, runtime_name: str, workers: int) -> tuple[str, ...]:
        nodes = await self.nodes(runtime_name)
        running = Counter(node.role for node in nodes if node.running)
        found = Counter(node.role for node in nodes)
        expected = self.expected_roles(workers)
        return tuple(
            f"{role}: {running[role]} of {expected[role]} running"
            for role in sorted(expected.keys() | found.keys())
            if running[role] != expected[role] or found[role] != expected[role]
        )
