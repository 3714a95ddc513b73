"""Consumes queued work from the WORK stream: one durable pull consumer per Docker host,
filtered to that host's work and shared by every replica serving the host, explicit acks,
in_progress() heartbeats while a CLI runs, bounded redeliveries."""

import asyncio
import json
import logging
import uuid

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import BadRequestError, NotFoundError

from pyk8s_contracts import subjects
from pyk8s_contracts.identities import LEGACY_WORK_CONSUMER

from .drivers import CliError
from .operations import Operations
from .settings import ProvisionerSettings

log = logging.getLogger(__name__)

FETCH_WAIT_SECONDS = 2.0


def durable_name(host_id: str) -> str:
    return f"provisioner-{host_id}"


def consumer_config(settings: ProvisionerSettings) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=durable_name(settings.host_id),
        filter_subject=subjects.host_work(settings.host_id),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=settings.work_ack_wait_seconds,
        max_deliver=settings.work_max_deliver,
        max_ack_pending=1000,
    )


class Worker:
    def __init__(
        self, js: JetStreamContext, ops: Operations, settings: ProvisionerSettings
    ) -> None:
        self.js = js
        self.ops = ops
        self.settings = settings
        self.durable = durable_name(settings.host_id)

    async def ensure_consumer(self) -> None:
        config = consumer_config(self.settings)
        await self._remove_legacy_consumer()
        try:
            await self.js.add_consumer(subjects.WORK_STREAM, config)
        except BadRequestError:  # it exists with other settings
            await self.js.update_consumer(subjects.WORK_STREAM, config)

    async def _remove_legacy_consumer(self) -> None:
        """The single-host layout's consumer took every work subject, and a work-queue stream
        refuses overlapping consumers. What it still held is queued again by the start-up
        reconciliation, on the hosts' subjects."""
        try:
            await self.js.delete_consumer(subjects.WORK_STREAM, LEGACY_WORK_CONSUMER)
        except NotFoundError:
            return
        log.info("removed the work consumer of the single-host layout")

    async def run(self) -> None:
        """One fetch loop per worker slot; each handles one message at a time."""
        await asyncio.gather(*(self._loop() for _ in range(self.settings.workers)))

    async def _loop(self) -> None:
        sub = await self.js.pull_subscribe_bind(self.durable, stream=subjects.WORK_STREAM)
        try:
            while True:
                try:
                    messages = await sub.fetch(1, timeout=FETCH_WAIT_SECONDS)
                except (TimeoutError, NatsTimeout):
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("fetching work failed")
                    await asyncio.sleep(1)
                    continue
                for msg in messages:
                    await self.handle(msg)
        finally:
            # Unacknowledged work goes back to the stream for another replica.
            await asyncio.shield(self._unsubscribe(sub))

    @staticmethod
    async def _unsubscribe(sub) -> None:
        try:
            await sub.unsubscribe()
        except Exception:
            log.debug("unsubscribing the work consumer failed", exc_info=True)

    async def handle(self, msg: Msg) -> None:
        action = msg.subject.rsplit(".", 1)[-1]
        try:
            cluster_id = uuid.UUID(json.loads(msg.data)["data"]["cluster_id"])
        except (ValueError, KeyError, TypeError):
            log.error("dropping malformed work on %s", msg.subject)
            await msg.term()
            return
        heartbeat = asyncio.create_task(self._heartbeat(msg))
        try:
            if action == "create":
                await self.ops.create(cluster_id)
            elif action == "delete":
                await self.ops.delete(cluster_id)
            else:
                log.error("dropping unknown work %s", msg.subject)
            await msg.ack()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            await self._retry_or_give_up(msg, action, cluster_id, error)
        finally:
            heartbeat.cancel()

    async def _retry_or_give_up(
        self, msg: Msg, action: str, cluster_id: uuid.UUID, error: Exception
    ) -> None:
        reason = str(error) if isinstance(error, CliError) else f"{type(error).__name__}: {error}"
        attempt = msg.metadata.num_delivered
        if attempt >= self.settings.work_max_deliver:
            log.error(
                "%s of %s failed %d times, giving up: %s", action, cluster_id, attempt, reason
            )
            await self.ops.give_up(cluster_id, action, reason)
            await msg.ack()
            return
        log.warning(
            "%s of %s failed (attempt %d), retrying: %s", action, cluster_id, attempt, reason
        )
        await msg.nak(delay=self.settings.work_retry_delay_seconds)

    async def _heartbeat(self, msg: Msg) -> None:
        interval = max(self.settings.work_ack_wait_seconds / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            try:
                await msg.in_progress()
            except NatsError:
                log.warning("work heartbeat failed", exc_info=True)
