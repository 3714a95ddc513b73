"""The pool of Docker hosts: what each provisioner worker announces about its host, and what
platform admins see and change (drain, undrain)."""

from datetime import datetime
from typing import Annotated

from pydantic import Field, StringConstraints

from .clusters import Provider
from .common import ByPlatformAdmin, Contract

# A host id is a NATS subject token and part of a durable consumer's name.
HOST_ID_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$"
HostId = Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=HOST_ID_PATTERN)]
# What a provisioner worker calls its host when nothing else is said: the one machine of a
# single-host installation.
DEFAULT_HOST_ID = "local"


class HostProvider(Contract):
    """One provider on one host: whether its CLI is there, and the Kubernetes versions it can
    create there (None: any version its provider publishes, pulled as node images)."""

    name: Provider
    available: bool
    kubernetes_versions: list[str] | None = None


class HostAnnouncement(Contract):
    """What a host's provisioner worker puts in the hosts bucket every few seconds."""

    host_id: HostId
    # Where the worker's CLIs reach the Docker engine (DOCKER_HOST, or the local socket).
    docker_host: str
    # Where other machines reach the clusters' published API servers (PROVISIONER_HOST_ADDRESS);
    # None: on the engine's machine only.
    address: str | None = None
    max_clusters: Annotated[int, Field(ge=0)]
    # Memory the host offers to clusters, in bytes.
    memory_bytes: Annotated[int, Field(ge=0)]
    providers: list[HostProvider]
    # Clusters placed on the host that are not deleted, when announced.
    clusters: Annotated[int, Field(ge=0)]
    announced_at: datetime

    def offers(self, provider: Provider, version: str | None) -> bool:
        for offered in self.providers:
            if offered.name == provider and offered.available:
                versions = offered.kubernetes_versions
                return version is None or versions is None or version in versions
        return False


class Host(Contract):
    """A host as platform admins see it: announcing itself or not (`announcement`, its
    latest), drained or not, and its clusters that are not deleted with their estimated
    memory."""

    id: str
    reachable: bool
    drained: bool
    clusters: int
    memory_used_bytes: int
    announcement: HostAnnouncement | None


class HostList(Contract):
    hosts: list[Host]


class HostListRequest(ByPlatformAdmin):
    pass


class HostRequest(ByPlatformAdmin):
    host_id: HostId
