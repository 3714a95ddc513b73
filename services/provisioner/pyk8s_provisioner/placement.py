"""Where a new cluster goes: the least-loaded announcing Docker host that offers its provider
and version, is not drained, and has room for it by cluster count and by memory."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyk8s_contracts.clusters import Provider
from pyk8s_contracts.hosts import HostAnnouncement

MIB = 1024 * 1024
# What one node takes at rest, an estimate that placement reserves: a kind node (kubeadm's
# control plane in a container) about 700 MiB, a k3s node about 500 MiB. A kwok cluster is
# its five processes whatever its fake nodes, 550 MB measured (docs/architecture.md).
NODE_MEMORY_BYTES = {Provider.KIND: 700 * MIB, Provider.K3D: 500 * MIB}
KWOK_CLUSTER_MEMORY_BYTES = 550 * MIB


def cluster_memory(provider: Provider, workers: int) -> int:
    if provider == Provider.KWOK:
        return KWOK_CLUSTER_MEMORY_BYTES
    return NODE_MEMORY_BYTES[provider] * (1 + workers)


@dataclass
class Load:
    clusters: int = 0
    memory_bytes: int = 0


def loads(clusters: Iterable[tuple[str, str, int]]) -> dict[str, Load]:
    """Each host's load from its clusters that hold resources: (host, provider, workers)."""
    found: dict[str, Load] = {}
    for host_id, provider, workers in clusters:
        load = found.setdefault(host_id, Load())
        load.clusters += 1
        load.memory_bytes += cluster_memory(Provider(provider), workers)
    return found


class NoHost(Exception):
    """No host can take the cluster now; the message says why for each host."""


def place(
    announced: Mapping[str, HostAnnouncement],
    drained: set[str],
    current: Mapping[str, Load],
    provider: Provider,
    version: str | None,
    workers: int,
) -> str:
    needed = cluster_memory(provider, workers)
    wanted = f"{provider.value} {version}" if version else provider.value
    fitting: list[tuple[float, float, str]] = []
    reasons: list[str] = []
    for host in sorted(announced.values(), key=lambda a: a.host_id):
        load = current.get(host.host_id, Load())
        if host.host_id in drained:
            reasons.append(f"{host.host_id} is drained")
        elif not host.offers(provider, version):
            reasons.append(f"{host.host_id} has no {wanted}")
        elif load.clusters >= host.max_clusters:
            reasons.append(f"{host.host_id} is full ({load.clusters} of {host.max_clusters})")
        elif load.memory_bytes + needed > host.memory_bytes:
            free = max(host.memory_bytes - load.memory_bytes, 0) // MIB
            reasons.append(f"{host.host_id} has {free} MiB left, {needed // MIB} MiB needed")
        else:
            fitting.append(
                (
                    load.clusters / max(host.max_clusters, 1),
                    load.memory_bytes / max(host.memory_bytes, 1),
                    host.host_id,
                )
            )
    if not fitting:
        why = "; ".join(reasons) if reasons else "no host announces itself"
        raise NoHost(f"no Docker host can take a {wanted} cluster now: {why}")
    return min(fitting)[2]
