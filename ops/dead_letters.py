"""Dead letters: list what a consumer could not process, and put chosen records back after a fix."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaTimeoutError

from shared import kafka
from shared.topics import dead_letter_topic


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str:
        return next((v.decode(errors="replace") for k, v in self.headers if k == name), "")


async def list_dead_letters(bootstrap: str, topic: str, timeout: float = 30.0) -> list[DeadLetter]:
    """Every record on `<topic>.dlq`, oldest first: read with a consumer assigned the topic's
    partitions (no consumer group, nothing committed), from the start offsets up to the end offsets as
    they were when it began. An empty topic is answered from its offsets alone, without a fetch.
    KafkaTimeoutError when the records cannot be read within `timeout` seconds."""
    dlq = dead_letter_topic(topic)
    found = (await kafka.partitions_of(bootstrap, [dlq])).get(dlq, [])
    if not found:
        return []
    tps = [TopicPartition(dlq, p) for p in found]
    # a partition already read to its end makes the broker hold each fetch for fetch_max_wait_ms (500
    # by default, a wait every page view would pay); 50 ms keeps the few fetches of a small topic short
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="dlq-list", fetch_max_wait_ms=50
    )
    await consumer.start()
    try:
        # assigned before asking for offsets: the client then fetches the metadata of every partition in
        # one round, instead of one round and a 100 ms back-off per partition it did not know yet
        consumer.assign(tps)
        starts, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
        wanted = [tp for tp in tps if ends[tp] > starts[tp]]
        letters: list[DeadLetter] = []
        if not wanted:
            return letters
        for tp in wanted:
            consumer.seek(tp, starts[tp])
        async with asyncio.timeout(timeout):
            while [tp for tp in wanted if await consumer.position(tp) < ends[tp]]:
                batches = await consumer.getmany(*wanted, timeout_ms=500)
                for tp, records in batches.items():
                    letters.extend(
                        DeadLetter(r.partition, r.offset, r.key, r.value, tuple(r.headers or ()))
                        for r in records
                        if r.offset < ends[tp]  # what arrived after we began is for the next look
                    )
        return sorted(letters, key=lambda d: (d.partition, d.offset))
    except TimeoutError:
        raise KafkaTimeoutError(f"the dead letters of {dlq} could not be read in {timeout:.0f} s") from None
    finally:
        await consumer.stop()


async def replay(bootstrap: str, topic: str, offsets: set[int]) -> list[DeadLetter]:
    """Publish the chosen dead letters (by their offset on the DLQ) to their original topic again,
    without the dead-letter headers. Consumers skip anything they had already applied."""
    chosen = [d for d in await list_dead_letters(bootstrap, topic) if d.offset in offsets]
    producer = kafka.make_producer(bootstrap, "dlq-replay")
    await producer.start()
    try:
        for letter in chosen:
            headers = [(k, v) for k, v in letter.headers if not k.startswith("dlq-")]
            await producer.send_and_wait(
                letter.header("dlq-topic") or topic, value=letter.value, key=letter.key, headers=headers
            )
    finally:
        await producer.stop()
    return chosen
