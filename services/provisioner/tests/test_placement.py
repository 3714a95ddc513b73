"""Placement rules: the least-loaded host that offers the provider and version, not drained,
within its cluster count and memory; otherwise a refusal that says why for each host."""

import pytest

from pyk8s_contracts.clusters import Provider
from pyk8s_contracts.common import utcnow
from pyk8s_contracts.hosts import HostAnnouncement, HostProvider
from pyk8s_provisioner.placement import MIB, Load, NoHost, cluster_memory, loads, place

GIB = 1024 * MIB


def host(host_id, max_clusters=10, memory=16 * GIB, kwok_versions=("v1.34.4",)):
    return HostAnnouncement(
        host_id=host_id,
        docker_host="unix:///var/run/docker.sock",
        max_clusters=max_clusters,
        memory_bytes=memory,
        providers=[
            HostProvider(name=Provider.KIND, available=True),
            HostProvider(name=Provider.K3D, available=False),
            HostProvider(
                name=Provider.KWOK, available=True, kubernetes_versions=list(kwok_versions)
            ),
        ],
        clusters=0,
        announced_at=utcnow(),
    )


def pool(*hosts):
    return {h.host_id: h for h in hosts}


def test_the_least_loaded_host_by_cluster_share_wins():
    hosts = pool(host("a", max_clusters=10), host("b", max_clusters=4))
    current = loads([("a", "kind", 0)] * 3 + [("b", "kind", 0)])
    assert place(hosts, set(), current, Provider.KIND, None, 0) == "b"  # 1/4 < 3/10
    current = loads([("a", "kind", 0)] * 3 + [("b", "kind", 0)] * 2)
    assert place(hosts, set(), current, Provider.KIND, None, 0) == "a"  # 3/10 < 2/4


def test_ties_go_by_memory_then_by_id():
    hosts = pool(host("b"), host("a"))
    assert place(hosts, set(), {}, Provider.KIND, None, 0) == "a"
    current = {"a": Load(1, 3 * GIB), "b": Load(1, 1 * GIB)}
    assert place(hosts, set(), current, Provider.KIND, None, 0) == "b"


def test_drained_hosts_and_hosts_without_the_provider_or_version_are_skipped():
    hosts = pool(host("a"), host("b", kwok_versions=("v1.33.0",)), host("c"))
    assert place(hosts, {"a"}, {}, Provider.KWOK, "v1.33.0", 0) == "b"
    assert place(hosts, {"a"}, {}, Provider.KWOK, "v1.34.4", 0) == "c"
    with pytest.raises(NoHost) as refused:
        place(hosts, {"a", "c"}, {}, Provider.K3D, None, 0)
    assert str(refused.value) == (
        "no Docker host can take a k3d cluster now: a is drained; b has no k3d; c is drained"
    )


def test_a_host_takes_no_more_clusters_than_its_capacity_or_memory():
    hosts = pool(host("a", max_clusters=2), host("b", memory=2 * GIB))
    current = {"a": Load(2, 0), "b": Load(1, cluster_memory(Provider.KIND, 1))}
    with pytest.raises(NoHost) as refused:
        place(hosts, set(), current, Provider.KIND, None, 1)
    assert str(refused.value) == (
        "no Docker host can take a kind cluster now: a is full (2 of 2); "
        "b has 648 MiB left, 1400 MiB needed"
    )
    assert place(hosts, set(), current, Provider.KWOK, None, 0) == "b"  # 550 MiB fits


def test_with_no_host_announcing_nothing_is_placed():
    with pytest.raises(NoHost, match="no host announces itself"):
        place({}, set(), {}, Provider.KIND, "v1.31.0", 0)
