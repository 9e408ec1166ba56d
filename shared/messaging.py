"""The Kafka transport of every service, on FastStream: one `KafkaBroker` per service process, whose
batch subscribers drive the tracked consumers (shared.consumer) and whose producer publishes the outbox
(shared.outbox) and the dead letters.

What FastStream's defaults would do differently, and why it is set here:
- positions live in the service's database, not in Kafka: every subscriber has a rebalance listener
  (`SeekToStored`) that seeks each assigned partition to the position stored beside the state, and
  acknowledges nothing itself (AckPolicy.MANUAL); Kafka's committed offsets are written only to feed lag
  monitoring, and no record read from them is applied: if the positions cannot be read when partitions
  are assigned (the database away), the partitions are paused until the driver has positioned them;
- a batch the database cannot take (an outage) is read again: the handler seeks back to the batch's
  first records and waits; it never raises into FastStream, so the consume loop never stops;
- topics are never created by a subscriber (`declare=False`): they are set up with their partitions,
  compaction and retention by deploy/, and an auto-created members.contacts would not be compacted;
- FastStream's own `correlation_id` header is left off: a record's ids live in its CloudEvents
  envelope, and the CloudEvents Kafka binding reads a record by its `content-type` header alone;
- with KAFKA_GROUP_INSTANCE_ID set, every group is joined as a static member (KIP-345): a restarted
  instance gets its partitions back without a rebalance, a killed one holds them only for the session
  timeout (KAFKA_SESSION_TIMEOUT_MS), and a clean stop takes it out of its groups at once
  (shared.kafka.remove_static_members: aiokafka itself never leaves a group as a static member).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from faststream.kafka import KafkaBroker, Topic
from faststream.kafka.subscriber.usecase import BatchSubscriber
from faststream.middlewares import AckPolicy

from shared.consumer import TrackedConsumer
from shared.kafka import remove_static_members
from shared.settings import Settings

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0  # wait before reading a batch again that the database could not take
RETRY_MAX_SECONDS = 10.0


FASTSTREAM_LOG = logging.getLogger("shared.messaging.faststream")
FASTSTREAM_LOG.setLevel(logging.WARNING)


def _no_correlation_id() -> str:
    return ""  # FastStream leaves a header off when its value is empty


def make_broker(settings: Settings) -> KafkaBroker:
    """The service's broker: an idempotent producer (`acks=all`, so a retried send never duplicates or
    reorders a partition) and the consumers' connection settings."""
    return KafkaBroker(
        # a list: FastStream hands a single string to aiokafka as ONE address, so "a:9092,b:9092" (a
        # cluster) would never resolve
        [server.strip() for server in settings.kafka_bootstrap_servers.split(",") if server.strip()],
        client_id=settings.service_name,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        request_timeout_ms=15_000,
        # the handlers get the raw records: decoding is the tracked consumer's (a record that cannot be
        # decoded is a dead letter, not a FastStream error); the annotations only document the payload
        apply_types=False,
        id_generator=_no_correlation_id,
        # FastStream's lines go through the service's own (JSON) logging, warnings and errors only:
        # one line per batch and per task callback is noise; assignments are logged by SeekToStored
        logger=FASTSTREAM_LOG,
        log_level=logging.DEBUG,
    )


class BrokerSender:
    """shared.consumer.RecordSender over the broker's producer: raw bytes, the given headers only."""

    def __init__(self, broker: KafkaBroker) -> None:
        self.broker = broker

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        *,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Awaitable[Any]:
        result: Any = await self.broker.publish(
            value,
            topic,
            key=key,
            headers={name: raw.decode("utf-8", "replace") for name, raw in headers or ()},
            no_confirm=True,
        )
        if inspect.isawaitable(result):
            return result
        # FastStream's in-memory broker (TestKafkaBroker) delivers at once and returns no future
        delivered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        delivered.set_result(result)
        return delivered


class SeekToStored(ConsumerRebalanceListener):  # type: ignore[misc]
    """On every assignment, each partition goes to the position stored beside the consumer's state,
    or to its beginning if nothing is stored (that state was never built from it)."""

    def __init__(self, driver: SubscriberDriver) -> None:
        self.driver = driver

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.driver.tracked.assigned = False

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        consumer = self.driver.consumer()
        if consumer is None:
            return
        try:
            await seek_to_stored(self.driver.tracked, consumer, assigned)
        except Exception as exc:  # the database is away
            if self.driver.tracked.assigned:
                raise  # positioned; only the reset to the beginning failed: aiokafka logs it
            # Before any await: no record comes from Kafka's committed offsets meanwhile (a paused
            # partition is neither fetched nor handed out), and the driver positions in the background.
            consumer.pause(*assigned)
            log.warning("%s: positions not read (%s); partitions paused", self.driver.tracked.name, exc)
            self.driver.position_later(consumer)
            return
        log.info(
            "%s: %d partitions assigned, positioned where its database says",
            self.driver.tracked.name,
            len(assigned),
        )


async def seek_to_stored(
    tracked: TrackedConsumer[Any], consumer: AIOKafkaConsumer, partitions: set[TopicPartition]
) -> None:
    """Seek `partitions` to the positions stored beside `tracked`'s state, and mark it assigned.

    The positions are read on the event loop, not in a thread, and every seek is made before the first
    await: aiokafka hands out records as soon as partitions are assigned, from the offsets committed to
    Kafka, before the listener has run. Records applied from there, ahead of a database that is behind
    them (restored from a backup, or a new one), would store positions past the records in between, and
    the seek would come too late to bring those back. The event loop waits for this read: it happens on
    a rebalance and reads one row per partition, and a new PostgreSQL connection gives up after
    shared.db.CONNECT_TIMEOUT_SECONDS."""
    stored = tracked.stored_positions()
    unknown = []
    for tp in partitions:
        position = stored.get((tp.topic, tp.partition))
        if position is None:
            unknown.append(tp)
        else:
            consumer.seek(tp, position)
    tracked.assigned = True
    if unknown:
        # the reset is requested before this awaits: no record of these partitions comes before it
        await consumer.seek_to_beginning(*unknown)


class SubscriberDriver:
    """Binds one tracked consumer to one FastStream batch subscriber of the broker."""

    def __init__(
        self,
        broker: KafkaBroker,
        tracked: TrackedConsumer[Any],
        *,
        schema: Any = None,
        settings: Settings | None = None,
    ) -> None:
        self.broker = broker
        self.tracked = tracked
        self.sender = BrokerSender(broker)
        self._backoff = RETRY_SECONDS
        self._positioning: asyncio.Task[None] | None = None  # see position_later
        self.bootstrap_servers = settings.kafka_bootstrap_servers if settings else ""
        # one id per instance is enough: every tracked consumer is a group of its own
        self.group_instance_id = (settings.kafka_group_instance_id if settings else "") or None
        session_timeout_ms = settings.kafka_session_timeout_ms if settings else 10_000
        # one group per environment: environments sharing a cluster (KAFKA_TOPIC_PREFIX) never share a
        # group; the consumer's own name (its positions in the database) stays as it is
        prefix = settings.kafka_topic_prefix if settings else ""
        self.group_id = tracked.name if tracked.name.startswith(prefix) else prefix + tracked.name
        self.subscriber: BatchSubscriber = broker.subscriber(
            *[Topic(name, declare=False) for name in tracked.topics],
            batch=True,
            group_id=self.group_id,
            group_instance_id=self.group_instance_id,
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(500, session_timeout_ms // 4),
            max_records=tracked.batch_size,
            # an empty poll waits this long and then FastStream sleeps as long again: kept short, so
            # that the first record after a quiet spell is not held up
            batch_timeout_ms=200,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
            listener=SeekToStored(self),
            ack_policy=AckPolicy.MANUAL,
            decoder=raw_records,
            title=tracked.name,
            description=f"Tracked consumer {tracked.name}: batches of up to {tracked.batch_size} records, "
            "applied in one database transaction with their positions and event ids.",
        )

        async def consume(records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
            await self.handle(records)

        # What the document shows: one record's payload (the handler receives a batch of them)
        consume.__annotations__ = {"records": schema if schema is not None else Any, "return": None}
        consume.__name__ = tracked.name.replace("-", "_").replace(".", "_")
        self.subscriber(consume)

    def consumer(self) -> AIOKafkaConsumer | None:
        consumer = self.subscriber.consumer
        return consumer if isinstance(consumer, AIOKafkaConsumer) else None

    async def handle(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        consumer = self.consumer()
        if not records:
            return
        if consumer is not None and not self.tracked.assigned:
            # Read from offsets the database did not give (the partitions were not positioned yet):
            # never applied. Position now and read again from there.
            if not await self._position(consumer):
                await self._back_off()
            return
        try:
            await self.tracked.process(records, self.sender)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if consumer is None:  # in memory (TestKafkaBroker): no log to read again, tell the test
                raise
            # Nothing of the batch was committed (the database is away, or the dead letters could not
            # be sent): read the same records again after a pause, never skip them.
            log.warning("%s: %s; reading the batch again in %.1fs", self.tracked.name, exc, self._backoff)
            first: dict[TopicPartition, int] = {}
            for record in records:
                tp = TopicPartition(record.topic, record.partition)
                first[tp] = min(first.get(tp, record.offset), record.offset)
            assignment = consumer.assignment()
            for tp, offset in first.items():
                if tp in assignment:
                    consumer.seek(tp, offset)
            await self._back_off()
            return
        self._backoff = RETRY_SECONDS
        if consumer is not None:
            await _commit_quietly(consumer, records)
            await self._update_lag(consumer)

    async def _back_off(self) -> None:
        """Wait before the database is tried again, twice as long each time (up to RETRY_MAX_SECONDS)."""
        await asyncio.sleep(self._backoff)
        self._backoff = min(self._backoff * 2, RETRY_MAX_SECONDS)

    async def _position(self, consumer: AIOKafkaConsumer) -> bool:
        """Seek every assigned partition to its stored position and resume it: whether that was done."""
        assignment = consumer.assignment()
        try:
            await seek_to_stored(self.tracked, consumer, assignment)
        except Exception as exc:  # noqa: BLE001 - the database is still away
            log.warning("%s: positions not read (%s); again in %.1fs", self.tracked.name, exc, self._backoff)
            return False
        consumer.resume(*assignment)
        log.info("%s: %d partitions positioned where its database says", self.tracked.name, len(assignment))
        return True

    def position_later(self, consumer: AIOKafkaConsumer) -> None:
        """The listener could not read the positions: try again until it can, with the partitions paused
        meanwhile, so that the consumer catches up also when no new record comes."""
        if self._positioning is not None and not self._positioning.done():
            return  # that one goes on with the consumer's assignment of the moment

        async def until_positioned() -> None:
            while not self.tracked.assigned and self.consumer() is consumer:
                await self._back_off()
                if self.tracked.assigned or self.consumer() is not consumer:
                    return
                await self._position(consumer)
            self._backoff = RETRY_SECONDS

        self._positioning = asyncio.create_task(until_positioned(), name=f"position {self.tracked.name}")

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag: dict[str, int] = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = await consumer.position(tp)
            lag[tp.topic] = lag.get(tp.topic, 0) + max(0, highwater - position)
        self.tracked.stats.lag = lag

    async def leave_group(self) -> None:
        """After the subscriber stopped: a static member leaves its group now, not when its session
        times out. Best effort, like aiokafka's own leave: the session timeout remains the fallback."""
        if self.group_instance_id is None:
            return  # a dynamic member left when its consumer stopped
        try:
            await asyncio.wait_for(
                remove_static_members(self.bootstrap_servers, self.group_id, [self.group_instance_id]),
                5,
            )
        except Exception as exc:  # noqa: BLE001
            log.warning("%s: could not leave the group: %r", self.tracked.name, exc)

    async def restart(self) -> None:
        """Stop and start the subscriber: a new Kafka consumer joins the group, and its assignment seeks
        to the positions stored in the tracked consumer's (possibly new) database."""
        self.tracked.assigned = False
        if self._positioning is not None:
            self._positioning.cancel()
        await self.subscriber.stop()
        await self.subscriber.start()


async def raw_records(message: Any, _original: Any = None) -> list[ConsumerRecord[bytes, bytes]]:
    """The decoder of every subscriber here: the Kafka records as they are (a list, also for a single
    record). Handlers take exactly one argument: with more, FastStream would spread the list over them."""
    raw = message.raw_message
    return list(raw) if isinstance(raw, list | tuple) else [raw]


async def _commit_quietly(
    consumer: AIOKafkaConsumer, records: Sequence[ConsumerRecord[bytes, bytes]]
) -> None:
    # Kafka's committed offsets only feed lag monitoring; the database holds the truth.
    offsets: dict[TopicPartition, int] = {}
    for record in records:
        tp = TopicPartition(record.topic, record.partition)
        offsets[tp] = max(offsets.get(tp, 0), record.offset + 1)
    try:
        await consumer.commit(offsets)
    except Exception as exc:  # noqa: BLE001
        log.debug("offset commit skipped: %s", exc)


async def keep_running(
    broker: KafkaBroker, started: asyncio.Event | None = None, drivers: Sequence[SubscriberDriver] = ()
) -> None:
    """Starts the broker, and again until it starts: the service comes up without Kafka and connects
    when it can. Once started, FastStream's consume loops and aiokafka's clients reconnect by
    themselves. Stops the broker when cancelled, and then takes the drivers' static members out of
    their groups."""
    backoff = 0.5
    try:
        while True:
            try:
                await broker.start()
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the broker is not there yet
                log.warning("broker: %s; starting again in %.1fs", exc, backoff)
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(broker.stop(), 10)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)
        if started is not None:
            started.set()
        await asyncio.Event().wait()  # until cancelled
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broker.stop(), 10)
        await asyncio.gather(*(driver.leave_group() for driver in drivers))
