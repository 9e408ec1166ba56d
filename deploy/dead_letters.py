"""Dead letters: list what a consumer could not process, and put chosen records back after a fix."""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

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


async def list_dead_letters(bootstrap: str, topic: str) -> list[DeadLetter]:
    """Every record on `<topic>.dlq`, oldest first."""
    dlq = dead_letter_topic(topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(dlq)
        if partitions is None:
            await consumer._client.force_metadata_update()  # aiokafka has no public refresh
            partitions = consumer.partitions_for_topic(dlq) or set()
        tps = [TopicPartition(dlq, p) for p in sorted(partitions)]
        if not tps:
            return []
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        letters: list[DeadLetter] = []
        while True:
            positions = {tp: await consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                break
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                letters.extend(
                    DeadLetter(r.partition, r.offset, r.key, r.value, tuple(r.headers or ())) for r in records
                )
        return sorted(letters, key=lambda d: (d.partition, d.offset))
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
