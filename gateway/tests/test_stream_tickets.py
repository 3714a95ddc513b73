"""The stream-ticket bucket on a NATS cluster: created with the replicas asked for, and an
existing bucket brought to a new count at start-up without losing a ticket."""

from pyk8s_gateway import stream_tickets
from pyk8s_kit.testing import wait_until_async

STREAM = f"KV_{stream_tickets.BUCKET}"


async def on_three_nodes(js) -> bool:
    info = await js.stream_info(STREAM)
    followers = info.cluster.replicas or []
    return (
        info.config.num_replicas == 3
        and bool(info.cluster.leader)
        and len(followers) == 2
        and all(peer.current for peer in followers)
    )


async def test_an_existing_bucket_is_brought_to_three_replicas_and_keeps_its_tickets(
    nats_cluster,
):
    nc = await nats_cluster.connect("gateway")
    try:
        js = nc.jetstream()
        kv = await stream_tickets.ticket_bucket(js, 1)
        issued = await stream_tickets.issue(kv, "the-token")
        # A gateway started with GATEWAY_NATS_STREAM_REPLICAS=3, then another one.
        kv = await stream_tickets.ticket_bucket(js, 3)
        await stream_tickets.ticket_bucket(js, 3)
        await wait_until_async(lambda: on_three_nodes(js), timeout=30)
        assert await stream_tickets.redeem(kv, issued.ticket) == "the-token"
        assert await stream_tickets.redeem(kv, issued.ticket) is None
    finally:
        await nc.close()
