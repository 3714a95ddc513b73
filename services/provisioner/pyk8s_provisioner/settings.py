from ipaddress import IPv4Address
from pathlib import Path

from pydantic import Field, IPvAnyAddress, model_validator
from pydantic_settings import SettingsConfigDict

from pyk8s_contracts.clusters import KubernetesVersion
from pyk8s_contracts.hosts import DEFAULT_HOST_ID, HostId
from pyk8s_kit.settings import ServiceSettings

from .crypto import fernet_keys

# A well-known key, accepted only in development and tests.
DEVELOPMENT_KUBECONFIG_KEY = "cHlrOHMtbGFiLWRldmVsb3BtZW50LWtleS0wMDAwMDA="

# The longest a replicated stream (the hosts bucket is one) goes without a leader after the
# NATS node leading it dies: nats-server's followers wait a random 4 to 9 s without
# heartbeats before they campaign (minElectionTimeoutDefault, maxElectionTimeoutDefault in
# server/raft.go, fixed in the server, not configurable), then campaign for up to 0.8 s
# (maxCampaignTimeoutDefault). Clients reconnect to another node meanwhile (0.5 s apart).
NATS_FAILOVER_SECONDS = 10.0


def host_deadline_floor(announce_interval_seconds: float, stream_replicas: int) -> float:
    """The shortest host deadline that outlasts a NATS failover: the latest announcement
    before it may be one interval old when the leader dies, and the first one after it comes
    up to one interval after the new leader is elected. Streams on one replica have no
    failover (their server is back or not): then one late announcement must fit, no more."""
    one_late = 2 * announce_interval_seconds
    return NATS_FAILOVER_SECONDS + one_late if stream_replicas > 1 else one_late


class ProvisionerSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PROVISIONER_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/pyk8s_provisioner"
    kind_bin: str = "kind"
    k3d_bin: str = "k3d"
    # kwok: kwokctl runs etcd, the kwok controller and the Kubernetes binaries of the version
    # asked for as local processes. The versions offered are the subfolders of
    # kwok_versions_dir (v1.34.4/) that hold kube-apiserver, kube-controller-manager,
    # kube-scheduler and kubectl; unset, kwok is not offered.
    kwokctl_bin: str = "kwokctl"
    kwok_etcd_bin: str = "etcd"
    kwok_controller_bin: str = "kwok"
    kwok_versions_dir: Path | None = None
    # Where each kwok cluster's API server listens (client certificates and RBAC guard it, as
    # any cluster's); etcd and the other components always listen on loopback only. Terminal
    # shells reach it from their container network, so loopback alone leaves them without.
    kwok_apiserver_bind_address: IPvAnyAddress = IPv4Address("0.0.0.0")
    # The container a terminal of a kwok cluster attaches to, with kubectl pointed at the
    # cluster. Never "host": a shell there reaches the host's loopback services.
    kwok_shell_image: str = "pyk8s-lab/node:local"
    kwok_shell_network: str = "bridge"
    # Fernet key (urlsafe base64 of 32 bytes) that encrypts kubeconfigs at rest; to rotate,
    # list the new key first and the old one after it, comma-separated.
    kubeconfig_key: str = DEVELOPMENT_KUBECONFIG_KEY
    # Where the CLIs write a cluster's kubeconfig before it is encrypted into the database,
    # and kwokctl keeps its clusters (<work_dir>/kwok): it must outlive a restart.
    work_dir: Path = Path("/tmp/pyk8s-provisioner")
    # What kind's --wait and k3d's --timeout are given; the process gets a grace on top.
    cli_wait_seconds: int = 300
    cli_grace_seconds: int = 60
    # Short CLI calls (list, kubeconfig, delete).
    cli_short_timeout_seconds: int = 120
    max_concurrent_creates: int = 2
    workers: int = 4
    team_quota: int = 5
    personal_quota: int = 3
    default_ttl_hours: int = 8
    max_ttl_hours: int = 72
    sweep_interval_seconds: float = 30.0
    # JetStream work consumer: unacknowledged work is redelivered after ack_wait (the worker
    # heartbeats with in_progress() while a CLI runs), at most max_deliver times.
    work_ack_wait_seconds: float = 30.0
    work_max_deliver: int = 5
    work_retry_delay_seconds: float = 5.0
    # The Docker host this process's workers serve (its CLIs reach the engine of DOCKER_HOST,
    # TLS by DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, as the docker CLI does; unset, the local
    # socket). Every replica with the same id serves the same engine.
    host_id: HostId = DEFAULT_HOST_ID
    # Where other machines reach this host's published ports (an IPv4 address or DNS name).
    # kind and k3d publish a cluster's API server on the engine's machine and name it
    # 127.0.0.1 or 0.0.0.0 in the kubeconfig. Set, the API server is published on every
    # interface, its certificate names this address too, and the stored kubeconfig (read by
    # the Kubernetes API proxy and admin kubeconfig reads) names it: for an engine on another
    # machine than the gateway. Unset: the gateway runs on the engine's machine.
    host_address: str | None = Field(None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$")
    # What the host takes: at most this many clusters not deleted, and clusters whose
    # estimated memory fits in host_memory_mb (unset: the engine's total memory).
    host_max_clusters: int = Field(20, ge=0)
    host_memory_mb: int | None = Field(None, ge=0)
    # The host announces itself every announce_interval; one silent for host_deadline is
    # unreachable (its announcement leaves the hosts bucket by itself then).
    host_announce_interval_seconds: float = Field(5.0, gt=0)
    host_deadline_seconds: float = Field(30.0, gt=0)
    # Default images when no version is asked for (None: the CLI's own default: what
    # `k3d version` names, and the image kind's binary carries).
    kind_node_image: str | None = None
    k3d_node_image: str | None = None
    # The Kubernetes versions kind and k3d offer, as JSON lists (["v1.33.1", "v1.34.0"]): set
    # them to what a registry or mirror the nodes pull from holds. Unset: the versions whose
    # node image (kindest/node:<version>, rancher/k3s:<version>-k3sN) the local Docker engine
    # holds. The default version is offered either way; any other version is refused.
    kind_versions: tuple[KubernetesVersion, ...] | None = None
    k3d_versions: tuple[KubernetesVersion, ...] | None = None
    # How long what the providers offer (their CLIs' answers) is reused before asking again.
    provider_probe_fresh_seconds: float = 15.0

    @model_validator(mode="after")
    def _checks(self) -> "ProvisionerSettings":
        if not self.is_development and self.kubeconfig_key == DEVELOPMENT_KUBECONFIG_KEY:
            raise ValueError(
                "set PROVISIONER_KUBECONFIG_KEY: the development key is refused outside development"
            )
        try:
            if not fernet_keys(self.kubeconfig_key):
                raise ValueError("no key")
        except ValueError:
            raise ValueError(
                "PROVISIONER_KUBECONFIG_KEY is not a Fernet key (urlsafe base64 of 32 bytes)"
            ) from None
        if self.kwok_shell_network == "host":
            raise ValueError(
                "PROVISIONER_KWOK_SHELL_NETWORK may not be host: a terminal there reaches every "
                "loopback service of the host"
            )
        if self.default_ttl_hours > self.max_ttl_hours:
            raise ValueError("PROVISIONER_DEFAULT_TTL_HOURS exceeds PROVISIONER_MAX_TTL_HOURS")
        if self.max_concurrent_creates < 1 or self.workers < 1:
            raise ValueError(
                "PROVISIONER_MAX_CONCURRENT_CREATES and PROVISIONER_WORKERS must be >= 1"
            )
        self._check_host_deadline()
        return self

    def _check_host_deadline(self) -> None:
        interval = self.host_announce_interval_seconds
        floor = host_deadline_floor(interval, self.nats_stream_replicas)
        if self.host_deadline_seconds >= floor:
            return
        if self.nats_stream_replicas == 1:
            raise ValueError(
                "PROVISIONER_HOST_DEADLINE_SECONDS must be at least twice "
                "PROVISIONER_HOST_ANNOUNCE_INTERVAL_SECONDS: one late announcement is no outage"
            )
        raise ValueError(
            f"PROVISIONER_HOST_DEADLINE_SECONDS must be at least {floor:g} with "
            f"PROVISIONER_NATS_STREAM_REPLICAS={self.nats_stream_replicas}: a NATS failover "
            f"({NATS_FAILOVER_SECONDS:g} s until a replicated stream has a new leader) plus "
            "twice PROVISIONER_HOST_ANNOUNCE_INTERVAL_SECONDS; shorter, losing one NATS node "
            "turns every host's clusters unreachable"
        )
