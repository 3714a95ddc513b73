"""Provisioner contracts shared with the gateway and the terminal service."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StrictInt, StringConstraints

from .common import DNS_LABEL_PATTERN, ByUser, Contract, Page, PageRequest


class Provider(StrEnum):
    KIND = "kind"
    K3D = "k3d"
    KWOK = "kwok"


class ClusterStatus(StrEnum):
    PENDING = "pending"
    PROVISIONING = "provisioning"
    READY = "ready"
    FAILED = "failed"
    DELETING = "deleting"
    DELETED = "deleted"
    # Its Docker host stopped announcing itself: the cluster is kept, and turns ready again
    # once the host is back and its runtime cluster checks out.
    UNREACHABLE = "unreachable"


class Cluster(Contract):
    id: UUID
    name: str
    team_id: UUID | None
    owner_id: UUID
    provider: Provider
    kubernetes_version: str | None
    workers: int
    status: ClusterStatus
    status_message: str | None
    # Where the platform reaches the API server; gone once the cluster is deleted.
    api_server: str | None
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime
    # The Docker host it was placed on (see pyk8s_contracts.hosts).
    host_id: str | None = None
    # Who asked for the deletion (None when it expired or is not deleted), with their e-mail.
    deleted_by: UUID | None = None
    deleted_by_email: str | None = None
    # Where people reach the cluster's Kubernetes API: the gateway's proxy under its public
    # URL, once ready (the gateway fills it in).
    endpoint: str | None = None


class ClusterNodeRequest(Contract):
    cluster_id: UUID


class ClusterAccessRequest(Contract):
    """A peer asks whether `user_id` may `action` the cluster: `read` (see it), `use`
    (terminal, extend), `proxy` (the Kubernetes API through the gateway) or `delete`. The
    reply is the cluster, or the refusal."""

    cluster_id: UUID
    user_id: UUID
    action: Literal["read", "use", "proxy", "delete"]


class ClusterNode(Contract):
    """Where a terminal attaches: the Docker container of the cluster's first server node
    (kwok, whose nodes are not containers: a shell container with kubectl pointed at it), on
    the Docker engine of the cluster's host: `docker_host` as that host's provisioner reaches
    it (its DOCKER_HOST, or the local socket). None: a provisioner from before Docker hosts,
    whose engine is the terminal's own."""

    cluster_id: UUID
    status: ClusterStatus
    container: str
    host_id: str | None = None
    docker_host: str | None = None


# Kubernetes versions as the node images tag them: v1.31.0 (kindest/node:v1.31.0,
# rancher/k3s:v1.31.0-k3s1).
KUBERNETES_VERSION_PATTERN = r"^v1\.[0-9]{1,2}\.[0-9]{1,2}$"
KubernetesVersion = Annotated[str, StringConstraints(pattern=KUBERNETES_VERSION_PATTERN)]
# Short enough that the derived runtime name fits k3d's 32 characters.
ClusterName = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=DNS_LABEL_PATTERN)
]
# Strict: a body's `true` or `"8"` is refused rather than read as a number.
Workers = Annotated[StrictInt, Field(ge=0, le=5)]
Hours = Annotated[StrictInt, Field(ge=1, le=24 * 365)]


class ClusterCreateRequest(ByUser):
    name: ClusterName
    provider: Provider
    team_id: UUID | None = None
    kubernetes_version: KubernetesVersion | None = None
    workers: Workers = 0
    ttl_hours: Hours | None = None


class ClusterRequest(ByUser):
    cluster_id: UUID


class ClusterDeleteRequest(ClusterRequest):
    """`actor_email`: the actor's e-mail as the gateway read it from the auth service, shown
    to the cluster's other viewers as who deleted it."""

    actor_email: Annotated[str, StringConstraints(max_length=320)] | None = None


class ClusterListRequest(ByUser, PageRequest):
    """The actor's personal clusters and those of the actor's teams (the provisioner asks the
    teams service for the actor's teams, in one request), newest first. Each filter narrows
    the list: `team_id` to one team, `created_by` to one creator. Deleted clusters are left
    out unless `status` asks for them."""

    team_id: UUID | None = None
    status: ClusterStatus | None = None
    provider: Provider | None = None
    created_by: UUID | None = None


class ClusterList(Page):
    clusters: list[Cluster]


class ClusterExtendRequest(ClusterRequest):
    hours: Hours


class Kubeconfig(Contract):
    cluster_id: UUID
    kubeconfig: str


# An http(s) base URL without query or fragment: where people reach the gateway.
BASE_URL_PATTERN = r"^https?://[^\s/?#]+(/[^\s?#]*)?$"


class KubeconfigRequest(ClusterRequest):
    """The kubeconfig people use: it points at `server` (the gateway's public URL) and gets
    short-lived tokens from the `pyk8s kube-credential` exec plugin; no secret inside.
    `certificate_authority`: PEM of the CA that signed the gateway's certificate, when
    clients' system CAs do not know it."""

    server: Annotated[str, StringConstraints(max_length=2000, pattern=BASE_URL_PATTERN)]
    certificate_authority: Annotated[str, StringConstraints(max_length=100_000)] | None = None


class ClusterProxyRequest(ClusterRequest):
    """The gateway asks, on every Kubernetes API request, where the cluster's API server is,
    how to reach it and whom to impersonate: the caller's current team role decides."""


class ClusterProxy(Contract):
    cluster_id: UUID
    # How the platform reaches the API server (https://host:port).
    server: str
    # PEM: the cluster's CA, and the credential the proxy authenticates with.
    certificate_authority: str
    client_certificate: str
    client_key: str
    # Impersonate-User and Impersonate-Group for the caller (docs/kubernetes-access.md).
    user: str
    groups: list[str]


class ProvidersRequest(ByUser):
    """Any signed-in user may ask what the providers offer on this machine."""


class ProviderInfo(Contract):
    """What one provider offers here: `available`, or the `reason` why not (its CLI or
    binaries missing); the CLI's version; the Kubernetes versions a create may ask for,
    newest first, and the one a create that names none gets."""

    provider: Provider
    available: bool
    reason: str | None = None
    cli_version: str | None = None
    versions: list[str] = Field(default_factory=list)
    default_version: str | None = None


class ProviderList(Contract):
    providers: list[ProviderInfo]


class ClusterEventData(Contract):
    """`data` of every `pyk8s.events.cluster.*` CloudEvent."""

    cluster_id: UUID
    name: str
    team_id: UUID | None
    owner: UUID
    provider: Provider
    status: ClusterStatus
    status_message: str | None = None
    expires_at: datetime | None = None
    host_id: str | None = None
    # Who asked for the deletion (deleting, deleted); None when the cluster expired.
    deleted_by: UUID | None = None


class AdminKubeconfigReadData(ClusterEventData):
    """`data` of `pyk8s.events.cluster.admin_kubeconfig_read`: the cluster as for the lifecycle
    events, and who downloaded its admin kubeconfig."""

    actor_id: UUID


# Audit event verb: someone downloaded the cluster's admin kubeconfig (break-glass).
ADMIN_KUBECONFIG_READ = "admin_kubeconfig_read"

# Lifecycle event verbs: subjects `pyk8s.events.cluster.<verb>`, types `io.pyk8s.cluster.<verb>`.
CLUSTER_EVENT_VERBS = (
    "created",
    "provisioning",
    "ready",
    "failed",
    "deleting",
    "expired",
    "deleted",
    "unreachable",
)
