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


async def ensure_streams(js: JetStreamContext) -> None:
    for config in (events_stream(), work_stream()):
        try:
            await js.add_stream(config)
        except BadRequestError:
            await js.update_stream(config)
