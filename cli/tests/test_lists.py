"""`pyk8s cluster list` (and the other lists) page through the gateway's lists: every page
by default, `--limit` for the newest N, and the filters, against the real platform with
clusters stored through the provisioner's own model (no runtime behind them)."""

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from cli.tests.support import Users, fails
from pyk8s_cli.errors import EXIT_NOT_FOUND, EXIT_USAGE
from pyk8s_contracts.common import utcnow
from pyk8s_provisioner.models import Cluster


@pytest.fixture
def users(platform, tmp_path) -> Iterator[Users]:
    yield Users(platform.url, tmp_path)


def seed(
    platform, owner_id: str, count: int, team_id: str | None = None, prefix: str = "c", **fields
) -> None:
    """`count` clusters named `<prefix>0000`..., a second apart, stored as the provisioner
    stores them."""
    now = utcnow()

    async def store() -> None:
        async with platform.runtimes["provisioner"].db.session() as session:
            for n in range(count):
                cluster_id = uuid.uuid4()
                values = {"provider": "kind", "status": "ready", **fields}
                session.add(
                    Cluster(
                        id=cluster_id,
                        name=f"{prefix}{n:04d}",
                        team_id=uuid.UUID(team_id) if team_id else None,
                        owner_id=uuid.UUID(owner_id),
                        workers=0,
                        runtime_name=f"r-{cluster_id.hex[:12]}",
                        created_at=now - timedelta(seconds=n),
                        expires_at=now + timedelta(hours=1),
                        **values,
                    )
                )

    platform.run(store())


def test_cluster_list_fetches_every_page_or_the_newest_n(platform, users):
    ada = users.signed_up("ada")
    seed(platform, ada.json("whoami")["id"], 230)  # more than the gateway's largest page
    listed = ada.json("cluster", "list")
    assert [c["name"] for c in listed] == [f"c{n:04d}" for n in range(230)]
    newest = ada.json("cluster", "list", "--limit", "3")
    assert [c["name"] for c in newest] == ["c0000", "c0001", "c0002"]
    fails(ada.run("cluster", "list", "--limit", "0"), EXIT_USAGE)


def test_cluster_list_filters_and_created_by_column(platform, users):
    ada, bob = users.signed_up("ada"), users.signed_up("bob")
    ada.ok("team", "create", "platform")
    ada.ok("team", "invite", "platform", "bob", "--role", "member")
    [invitation] = bob.json("team", "invitations")
    bob.ok("team", "accept", invitation["id"])
    [team] = ada.json("team", "list")
    ada_id, bob_id = ada.json("whoami")["id"], bob.json("whoami")["id"]
    seed(platform, ada_id, 1)
    seed(platform, ada_id, 2, team["id"], provider="k3d")
    seed(platform, bob_id, 3, team["id"], prefix="b", status="failed")

    def names(*args: str) -> list[tuple[str, str]]:
        return sorted((c["owner_id"], c["status"]) for c in ada.json("cluster", "list", *args))

    assert len(names()) == 6
    assert len(names("--team", "platform")) == 5
    assert names("--mine") == [(ada_id, "ready")] * 3
    assert names("--team", "platform", "--created-by", "bob") == [(bob_id, "failed")] * 3
    assert names("--created-by", bob_id) == [(bob_id, "failed")] * 3
    assert len(names("--provider", "k3d")) == 2
    assert len(names("--status", "failed")) == 3
    assert names("--status", "deleted") == []

    table = ada.ok("cluster", "list", "--team", "platform").stdout
    assert "Created by" in table and "you" in table and "bob" in table
    fails(ada.run("cluster", "list", "--created-by", "bob"), EXIT_USAGE, "--team")
    fails(ada.run("cluster", "list", "--mine", "--created-by", bob_id), EXIT_USAGE)
    fails(ada.run("cluster", "list", "--team", "nope"), EXIT_NOT_FOUND)
    fails(ada.run("cluster", "list", "--status", "sleeping"), EXIT_USAGE)
