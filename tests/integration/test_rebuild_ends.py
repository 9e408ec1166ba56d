"""Where the rebuild takes the end of each partition when it thinks it is done
(`services.kpi.rebuild._latest_ends`), against the real broker: the high watermarks of the latest fetch
responses, without an offsets request (which would wait behind the fetch the broker holds open); the
broker's own answer for a partition no fetch has answered yet; never below what it knew before."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from services.kpi import rebuild
from shared.topics import MEMBERS_EVENTS

pytestmark = pytest.mark.integration


class _Asked:
    """Counts the offsets requests a consumer makes (the real request still goes out)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.times = 0
        self._real = consumer.end_offsets

        async def end_offsets(partitions: list[TopicPartition]) -> Any:
            self.times += 1
            return await self._real(partitions)

        consumer.end_offsets = end_offsets


async def _send(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition, count in per_partition.items():
            for n in range(count):
                await producer.send_and_wait(topic, value=b"%d" % n, partition=partition)
    finally:
        await producer.stop()


async def _read(consumer: AIOKafkaConsumer, tps: list[TopicPartition], count: int) -> None:
    """Fetches until `count` records came and every partition's high watermark is known."""
    deadline = time.monotonic() + 20
    read = 0
    while read < count or any(consumer.highwater(tp) is None for tp in tps):
        assert time.monotonic() < deadline, f"read {read} of {count} records"
        batches = await consumer.getmany(timeout_ms=200)
        read += sum(len(records) for records in batches.values())


async def test_the_ends_are_the_latest_fetch_high_watermarks(kafka_bootstrap: str, topic_prefix: str) -> None:
    topic = topic_prefix + MEMBERS_EVENTS
    tps = [TopicPartition(topic, p) for p in range(3)]
    await _send(kafka_bootstrap, topic, {0: 5, 1: 2})  # partition 2 stays empty
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        asked = _Asked(consumer)
        await _read(consumer, tps, 7)

        assert await rebuild._latest_ends(consumer, tps, dict.fromkeys(tps, 0)) == {
            tps[0]: 5,
            tps[1]: 2,
            tps[2]: 0,
        }
        # what it knew before stands: a high watermark is never taken below it
        known = {tps[0]: 9, tps[1]: 0, tps[2]: 0}
        assert (await rebuild._latest_ends(consumer, tps, known))[tps[0]] == 9
        assert asked.times == 0

        await _send(kafka_bootstrap, topic, {2: 3})  # more arrives meanwhile
        await _read(consumer, tps, 3)
        assert (await rebuild._latest_ends(consumer, tps, dict.fromkeys(tps, 0)))[tps[2]] == 3
        assert asked.times == 0
    finally:
        await consumer.stop()


async def test_a_partition_no_fetch_answered_is_asked_of_the_broker(
    kafka_bootstrap: str, topic_prefix: str
) -> None:
    topic = topic_prefix + MEMBERS_EVENTS
    tps = [TopicPartition(topic, p) for p in range(3)]
    await _send(kafka_bootstrap, topic, {1: 4})
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(tps)
        consumer.pause(*tps)  # nothing is fetched: no high watermark is known
        await consumer.seek_to_beginning(*tps)
        await asyncio.sleep(0.3)
        assert all(consumer.highwater(tp) is None for tp in tps)
        asked = _Asked(consumer)

        ends = await rebuild._latest_ends(consumer, tps, dict.fromkeys(tps, 0))

        assert ends == {tps[0]: 0, tps[1]: 4, tps[2]: 0}
        assert asked.times == 1
    finally:
        await consumer.stop()
