"""The Helm chart's NATS credentials: the Job completes the Secret's data without ever
changing a seed, and the authorization file written from public keys alone admits exactly the
identities, with a real server that `include`s it as the chart's NATS does."""

import json

import pytest
from nats.errors import Error as NatsError

from pyk8s_contracts.identities import ALL_IDENTITIES
from pyk8s_kit import natsauth_k8s
from pyk8s_kit.embedded import EmbeddedNats
from pyk8s_kit.natsauth import new_seed


def test_missing_seeds_are_made_and_existing_ones_kept():
    first = natsauth_k8s.completed({})
    assert {f"{i}.nk" for i in ALL_IDENTITIES} <= set(first)
    assert natsauth_k8s.completed(first) == {}

    without_teams = {k: v for k, v in first.items() if k not in ("teams.nk", "teams.pub")}
    again = natsauth_k8s.completed(without_teams)
    assert set(again) == {"teams.nk", "teams.pub", "authorization.json"}
    assert again["teams.nk"] != first["teams.nk"]


def test_the_authorization_block_lists_each_identity_by_its_public_key():
    data = natsauth_k8s.completed({})
    users = json.loads(data["authorization.json"])["authorization"]["users"]
    assert sorted(u["nkey"] for u in users) == sorted(
        data[f"{i}.pub"].decode() for i in ALL_IDENTITIES
    )
    assert all(u["nkey"].startswith("U") for u in users)


async def test_a_server_including_the_file_admits_the_identities_only(tmp_path):
    data = natsauth_k8s.completed({})
    keys, seeds = tmp_path / "keys", tmp_path / "seeds"
    keys.mkdir()
    seeds.mkdir()
    for identity in ALL_IDENTITIES:
        (keys / f"{identity}.pub").write_bytes(data[f"{identity}.pub"])
        (seeds / f"{identity}.nk").write_bytes(data[f"{identity}.nk"])
    server = EmbeddedNats(tmp_path / "nats", {})
    (server.store_dir / "auth").mkdir(parents=True)
    out = server.store_dir / "auth" / "authorization.json"
    natsauth_k8s.main(["authorization", "--public-keys", str(keys), "--out", str(out)])
    # As the chart's nats.conf: includes are relative to the configuration's folder.
    server.prepare = lambda: server.config_file.write_text(
        f"port: {server.port}\nhost: 127.0.0.1\njetstream {{ store_dir: {server.store_dir} }}\n"
        'include "auth/authorization.json"\n'
    )
    server.start()
    try:
        server.seeds = {i: seeds / f"{i}.nk" for i in ALL_IDENTITIES}
        client = await server.connect("gateway", allow_reconnect=False)
        assert client.is_connected
        await client.close()
        stranger = tmp_path / "stranger.nk"
        stranger.write_bytes(new_seed())
        server.seeds["gateway"] = stranger
        with pytest.raises(NatsError):
            await server.connect("gateway", allow_reconnect=False, connect_timeout=2)
    finally:
        server.stop()
