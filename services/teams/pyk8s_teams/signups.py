"""Redeems the invitations of new accounts. The auth service queues each invited sign-up on
the PYK8S_SIGNUPS work queue through its outbox, in the transaction that creates the account;
this consumer joins the account to the team and only then acknowledges, so a sign-up made
while this service was down (or killed mid-way) joins its team once the service is back."""

import asyncio
import logging

from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from pydantic import ValidationError

from pyk8s_contracts import subjects
from pyk8s_contracts.auth import SignupInvited
from pyk8s_contracts.errors import ErrorCode
from pyk8s_contracts.events import CloudEvent
from pyk8s_contracts.identities import SIGNUPS_CONSUMER
from pyk8s_kit.bus import ServiceError

from .service import TeamsService

log = logging.getLogger(__name__)

FETCH_WAIT_SECONDS = 2.0
RETRY_SECONDS = 1.0


class SignupRedeemer:
    def __init__(self, js: JetStreamContext, service: TeamsService) -> None:
        self.js = js
        self.service = service

    async def _subscribe(self):
        config = ConsumerConfig(
            name=SIGNUPS_CONSUMER,
            durable_name=SIGNUPS_CONSUMER,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=30,
        )
        await self.js.add_consumer(subjects.SIGNUPS_STREAM, config)
        return await self.js.pull_subscribe_bind(SIGNUPS_CONSUMER, stream=subjects.SIGNUPS_STREAM)

    async def _subscription(self):
        # The stream is the auth service's: until it has started once, there is nothing to read.
        while True:
            try:
                return await self._subscribe()
            except (NatsError, TimeoutError) as error:
                log.info("sign-up queue not ready yet: %s", error)
                await asyncio.sleep(RETRY_SECONDS)

    async def run(self) -> None:
        sub = await self._subscription()
        try:
            while True:
                try:
                    messages = await sub.fetch(10, timeout=FETCH_WAIT_SECONDS)
                except (TimeoutError, NatsTimeout):
                    continue
                except NatsError:
                    log.exception("fetching sign-ups failed")
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                for msg in messages:
                    await self.handle(msg)
        finally:
            await asyncio.shield(sub.unsubscribe())

    async def handle(self, msg) -> None:
        try:
            invited = SignupInvited.model_validate(CloudEvent.model_validate_json(msg.data).data)
        except ValidationError:
            log.error("dropping a malformed sign-up message")
            await msg.term()
            return
        try:
            await self.service.redeem(invited)
        except ServiceError as error:
            if error.code == ErrorCode.UNAVAILABLE:
                await msg.nak(delay=RETRY_SECONDS)
                return
            # Revoked or expired since the sign-up's check: the account stays, without the team.
            log.warning("invitation of new user %s not redeemed: %s", invited.user_id, error)
        except Exception:
            log.exception("redeeming the invitation of %s failed; retrying", invited.user_id)
            await msg.nak(delay=RETRY_SECONDS)
            return
        await msg.ack()
