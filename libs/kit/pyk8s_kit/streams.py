"""JetStream streams every service relies on; created or updated idempotently at start-up."""

from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError

from pyk8s_contracts import subjects

DAY = 24 * 3600


def events_stream() -> StreamConfig:
    # Limits retention: every external subscriber sees every event.
    return StreamConfig(
        name=subjects.EVENTS_STREAM,
        subjects=[subjects.EVENTS_ALL],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=7 * DAY,
        duplicate_window=300,
    )


def work_stream() -> StreamConfig:
    return StreamConfig(
        name=subjects.WORK_STREAM,
        subjects=[f"{subjects.WORK_PREFIX}.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=300,
    )


def signups_stream() -> StreamConfig:
    # Work queue: each invited sign-up is redeemed once, then removed.
    return StreamConfig(
        name=subjects.SIGNUPS_STREAM,
        subjects=[f"{subjects.SIGNUPS_PREFIX}.>"],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        max_age=30 * DAY,
        duplicate_window=300,
    )


# Each stream has one owner, the only identity allowed to create or change it (see
# pyk8s_contracts.identities). The auth service owns the events stream because every
# deployment starts it first: the others need its keys.
OWNED_STREAMS = {
    subjects.SERVICE_AUTH: (events_stream, signups_stream),
    subjects.SERVICE_PROVISIONER: (work_stream,),
}


async def ensure_streams(js: JetStreamContext, owner: str) -> None:
    for make in OWNED_STREAMS.get(owner, ()):
        config = make()
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
