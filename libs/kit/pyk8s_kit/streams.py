"""JetStream streams every service relies on; created or updated idempotently at start-up,
with the number of replicas the deployment asks for (`*_NATS_STREAM_REPLICAS`): 1 on a single
server, 3 on a cluster of three or more, where losing a node then loses no message."""

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from pyk8s_contracts import subjects

DAY = 24 * 3600


def events_stream(replicas: int) -> StreamConfig:
    # Limits retention: every external subscriber sees every event.
    return StreamConfig(
        name=subjects.EVENTS_STREAM,
        subjects=[subjects.EVENTS_ALL],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=7 * DAY,
        duplicate_window=300,
        num_replicas=replicas,
    )


def work_stream(replicas: int) -> StreamConfig:
    return StreamConfig(
        name=subjects.WORK_STREAM,
        subjects=[f"{subjects.WORK_PREFIX}.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=300,
        num_replicas=replicas,
    )


def signups_stream(replicas: int) -> StreamConfig:
    # Work queue: each invited sign-up is redeemed once, then removed.
    return StreamConfig(
        name=subjects.SIGNUPS_STREAM,
        subjects=[f"{subjects.SIGNUPS_PREFIX}.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        max_age=30 * DAY,
        duplicate_window=300,
        num_replicas=replicas,
    )


# Each stream has one owner, the only identity allowed to create or change it (see
# pyk8s_contracts.identities). The auth service owns the events stream because every
# deployment starts it first: the others need its keys.
OWNED_STREAMS = {
    subjects.SERVICE_AUTH: (events_stream, signups_stream),
    subjects.SERVICE_PROVISIONER: (work_stream,),
}


async def ensure_streams(js: JetStreamContext, owner: str, replicas: int) -> None:
    """Creates `owner`'s streams, or brings existing ones to this configuration, replica
    count included: JetStream moves a stream to its new peers itself, and the durable
    consumers that inherit the stream's replica count follow it."""
    for make in OWNED_STREAMS.get(owner, ()):
        config = make(replicas)
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
