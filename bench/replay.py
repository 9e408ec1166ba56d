"""(a) Replay rate of the KPI projector (projection.projector: TrackedConsumer + projection.apply into
SQLite, one transaction per batch — the code the rebuild and the live projector run) against the raw
aiokafka consume rate of the same records, and (b) against a naive projector that commits once per
event, on a sample of the records with the mix of the whole topics (`--naive-records`, `shares`). All
read the same topics, one after the other. The projector replays twice, as
`python -m services.kpi.rebuild` does into a fresh generation: in this process (`--workers 1`), and in
the rebuild's default of two forked processes, each on its share of the partitions
(services.kpi.rebuild.replay_in_workers); projector ÷ raw is given for both. For each it also prints
where the CPU went per record (decode, transaction, the rest) and how many cores it kept busy.

    python -m bench.replay --records 100000 --naive-records 10000 [--rounds 3] [--profile out.txt]
        [--postgres URL]

Each measure runs in several rounds (`--rounds`, 3 by default) and is given by its best: see `run`.

--postgres: the projectors write into fresh databases on that PostgreSQL server (made here, dropped at
the end) instead of SQLite files; the profile's transactions stay on SQLite.

--profile writes two pyinstrument profiles of the one-process replay: the measured replay as the event
loop sees it (fetching and decoding; the transactions run in a worker thread, which pyinstrument does
not follow, and show as waiting), then the transactions themselves — the same decode + one transaction
per batch of 1,000 (TrackedConsumer._apply) replayed in the profiling thread on the first
`--profile-records` records.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from bench.common import Mix, broker, fresh_database, fresh_prefix, produce_fast
from services.kpi import projection, rebuild
from services.kpi.generations import MIGRATIONS, Generation, Generations
from shared import kafka
from shared.consumer import Item, decode_event
from shared.db import make_engine, migrate
from shared.settings import Settings
from shared.topics import DOMAIN_TOPICS

BATCH = rebuild.REPLAY_BATCH  # what `python -m services.kpi.rebuild` replays with, over all its processes
WORKERS = rebuild.WORKERS


@dataclass
class Rate:
    records: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0


@dataclass
class Split:
    """Where the projector's replay spent its CPU, in microseconds per record: decoding (on the event
    loop), the transactions (in the worker thread) and the rest of the processes' CPU meanwhile (the
    broker client's fetching and parsing, FastStream, the loop itself); `cpu_share` is the CPU time of
    the replaying processes over the replay's wall time (1.0: one core busy all along)."""

    decode_us: float
    transaction_us: float
    rest_us: float
    cpu_share: float

    def __str__(self) -> str:
        return (
            f"decode {self.decode_us:.1f} µs, transaction {self.transaction_us:.1f} µs, rest "
            f"{self.rest_us:.1f} µs of CPU per record; {self.cpu_share:.2f} of a core on average"
        )


def _consumer(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
    )


async def _partitions(bootstrap: str, prefix: str) -> list[TopicPartition]:
    return await rebuild._partitions(bootstrap, [prefix + t for t in DOMAIN_TOPICS])


async def raw_rate(bootstrap: str, prefix: str) -> Rate:
    """aiokafka alone: fetch every record of the topics, touch nothing."""
    consumer = _consumer(bootstrap)
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap, prefix)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        target = sum(ends.values())
        count = 0
        started = time.perf_counter()
        while count < target:
            batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            count += sum(len(records) for records in batches.values())
        return Rate(count, time.perf_counter() - started)
    finally:
        await consumer.stop()


def _fresh_generation(url: str) -> Generation:
    engine = make_engine(url)
    migrate(engine, MIGRATIONS)
    return Generation(2, "", engine, engine)


def _cpu() -> float:
    """CPU seconds of this process and of its children that have ended."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def projector_rate(bootstrap: str, prefix: str, url: str, workers: int) -> tuple[Rate, Split]:
    """The rebuild's replay into a fresh generation made as the rebuild makes it (a sibling SQLite file,
    the writer's page cache): in this process for one worker (TrackedConsumer.process per fetched batch
    of BATCH records, one commit per batch), in forked processes for more (`rebuild.batch_for` each, as
    the rebuild's default); the rate and where its CPU went. `url`: a fresh database."""
    generations = Generations(url)
    migrate(generations.base, MIGRATIONS)
    generation, _new = generations.start_building(MIGRATIONS)
    settings = Settings(
        service_name="kpi",
        kafka_bootstrap_servers=bootstrap,
        kafka_topic_prefix=prefix,
        consumer_batch_size=BATCH,
    )
    progress = rebuild.Progress("projector", open("/dev/null", "w"), quiet=True)  # noqa: SIM115
    cpu = _cpu()
    if workers == 1:
        outcome = asyncio.run(
            rebuild.replay(settings, generation, batch_size=BATCH, progress=progress, stop=asyncio.Event())
        )
    else:
        outcome = rebuild.replay_in_workers(
            settings,
            generations,
            generation,
            workers=workers,
            batch_size=rebuild.batch_for(workers),
            progress=progress,
        )
    cpu = _cpu() - cpu
    generations.dispose()
    per_record = 1e6 / max(outcome.records, 1)
    split = Split(
        decode_us=outcome.decode_cpu * per_record,
        transaction_us=outcome.apply_cpu * per_record,
        rest_us=(cpu - outcome.decode_cpu - outcome.apply_cpu) * per_record,
        cpu_share=cpu / outcome.seconds if outcome.seconds else 0.0,
    )
    return Rate(outcome.records, outcome.seconds), split


def shares(ends: dict[TopicPartition, int], limit: int) -> dict[TopicPartition, int]:
    """How many records of each partition, from its start, make a sample of `limit` records with the
    mix of the whole topics: each partition's share of the records, the rounding left over given to the
    largest. Without it the naive projector read whatever the first fetches brought, which was one
    topic's partitions or another's from one run to the next, and the topics' events differ in cost:
    all members.events ran at 545 records/s, all feedback.events at 1,123 (docs/BENCHMARKS.md)."""
    total = sum(ends.values())
    limit = min(limit, total)
    quota = {tp: end * limit // total for tp, end in ends.items()} if total else {}
    largest = sorted(ends, key=lambda tp: (-ends[tp], tp.topic, tp.partition))
    for tp in largest[: limit - sum(quota.values())]:
        quota[tp] += 1
    return quota


async def naive_rate(bootstrap: str, prefix: str, url: str, limit: int) -> Rate:
    """The same handlers and inbox, but one transaction (one commit) per event, into the fresh database
    `url`, on `limit` records taken from every partition's start in the proportions of the whole topics
    (`shares`): the same records in every round, with the projector's mix."""
    generation = _fresh_generation(url)
    consumer = _consumer(bootstrap)
    producer = kafka.make_producer(bootstrap, "bench-naive")
    tracked = projection.projector(
        topics=[prefix + t for t in DOMAIN_TOPICS],
        engine=generation.engine,
        batch_size=1,
    )
    await consumer.start()
    await producer.start()
    try:
        partitions = await _partitions(bootstrap, prefix)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        left = {tp: n for tp, n in shares(await consumer.end_offsets(partitions), limit).items() if n}
        sample = sum(left.values())
        consumer.pause(*(tp for tp in partitions if tp not in left))
        started = time.perf_counter()
        # the replay's collector settings (rebuild.quiet_collector), so the two differ by the commits only
        with rebuild.quiet_collector():
            while left:
                # only the partitions with records still to give: each comes once in a fetch's answer
                batches = await consumer.getmany(*left, timeout_ms=500, max_records=BATCH)
                for tp, records in batches.items():
                    for record in records[: left[tp]]:
                        await tracked.process([record], producer)
                    left[tp] -= min(len(records), left[tp])
                    if not left[tp]:
                        del left[tp]
                        consumer.pause(tp)
        return Rate(sample, time.perf_counter() - started)
    finally:
        await consumer.stop()
        await producer.stop()
        generation.engine.dispose()


async def _fetch(bootstrap: str, prefix: str, limit: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = _consumer(bootstrap)
    await consumer.start()
    try:
        partitions = await _partitions(bootstrap, prefix)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        target = min(limit, sum((await consumer.end_offsets(partitions)).values()))
        records: list[ConsumerRecord[bytes, bytes]] = []
        while len(records) < target:
            batches = await consumer.getmany(timeout_ms=500, max_records=BATCH)
            records += [r for rs in batches.values() for r in rs]
        return records[:target]
    finally:
        await consumer.stop()


def profile_transactions(bootstrap: str, prefix: str, directory: Path, limit: int) -> str:
    """The projector's per-batch work (decode, inbox, read models, positions, commit) run in this thread,
    so that pyinstrument sees it; the text of the profile."""
    from pyinstrument import Profiler

    records = asyncio.run(_fetch(bootstrap, prefix, limit))
    generation = _fresh_generation(f"sqlite:///{directory}/profile.db")
    tracked = projection.projector(topics=[], engine=generation.engine, batch_size=BATCH)
    profiler = Profiler()
    with rebuild.quiet_collector():  # as in the measured replay
        profiler.start()
        for start in range(0, len(records), BATCH):
            batch = records[start : start + BATCH]
            tracked._apply([Item(r, *decode_event(r)) for r in batch], batch, set())
        profiler.stop()
    generation.engine.dispose()
    return str(profiler.output_text(unicode=True, color=False, show_all=False))


ROUNDS = 3


def run(
    bootstrap: str,
    records: int,
    naive_records: int,
    profile: Path | None = None,
    profile_records: int = 20_000,
    postgres: str | None = None,
    rounds: int = ROUNDS,
) -> dict[str, Any]:
    """`postgres`: a PostgreSQL server's URL to replay into (fresh databases) instead of SQLite.

    Every measure runs `rounds` times, the four one after the other in each round (raw, the projector in
    one process and in two, the naive projector), and each is given by its best round, the others kept
    beside it (`<name>_rounds`). Interference only slows a run down: the shared machine's other work can
    take a core from any one measure, so one round's ratio could be well off what the code gives, in
    either direction. (The naive projector's sample is the same records in every round, `shares`: its
    rate moved 2x between rounds while the first fetches chose the sample.)"""
    with tempfile.TemporaryDirectory(prefix="vvsg-bench-replay-") as tmp:
        prefix = fresh_prefix(bootstrap)
        started = time.perf_counter()
        produced = asyncio.run(produce_fast(bootstrap, prefix, Mix().records(records)))
        produce_seconds = time.perf_counter() - started
        print(f"  produced {produced} records in {produce_seconds:.1f} s", flush=True)
        measured: dict[str, list[tuple[Rate, Split | None]]] = {
            "raw": [],
            "projector_one": [],
            "projector": [],
            "naive": [],
        }
        for round_number in range(1, rounds + 1):
            tag = f"r{round_number}"
            raw = asyncio.run(raw_rate(bootstrap, prefix))
            print(f"  round {round_number}: raw aiokafka {raw.per_second:,.0f} records/s", flush=True)
            measured["raw"].append((raw, None))
            profiler: Any = None
            if profile is not None and round_number == 1:
                from pyinstrument import Profiler

                profiler = Profiler(async_mode="enabled")
                profiler.start()
            with fresh_database(postgres, Path(tmp), f"one{tag}", f"bench_replay_one{tag}") as url:
                one, split = projector_rate(bootstrap, prefix, url, 1)
            if profiler is not None and profile is not None:
                profiler.stop()
                loop_profile = profiler.output_text(unicode=True, color=False, show_all=False)
                transactions = profile_transactions(bootstrap, prefix, Path(tmp), profile_records)
                profile.write_text(
                    "# the measured replay, event loop thread\n"
                    + loop_profile
                    + f"\n# the transactions of the first {profile_records} records, in one thread\n"
                    + transactions
                )
            print(
                f"    projector, one process (batch of {BATCH}): {one.per_second:,.0f} records/s; {split}",
                flush=True,
            )
            measured["projector_one"].append((one, split))
            name = f"projector{WORKERS}{tag}"
            with fresh_database(postgres, Path(tmp), name, f"bench_replay_{name}") as url:
                shared, shared_split = projector_rate(bootstrap, prefix, url, WORKERS)
            print(
                f"    projector, {WORKERS} processes (batch of {rebuild.batch_for(WORKERS)} each): "
                f"{shared.per_second:,.0f} records/s; {shared_split}",
                flush=True,
            )
            measured["projector"].append((shared, shared_split))
            with fresh_database(postgres, Path(tmp), f"naive{tag}", f"bench_replay_naive{tag}") as url:
                naive = asyncio.run(naive_rate(bootstrap, prefix, url, naive_records))
            print(f"    naive projector (commit per event): {naive.per_second:,.0f} records/s", flush=True)
            measured["naive"].append((naive, None))
        result: dict[str, Any] = {
            "records": produced,
            "produce_seconds": produce_seconds,
            "workers": WORKERS,
            "rounds": rounds,
        }
        for key, runs in measured.items():
            best, best_split = max(runs, key=lambda run: run[0].per_second)
            result[key] = best
            result[f"{key}_rounds"] = [rate for rate, _ in runs]
            if best_split is not None:
                result[f"{key}_cpu"] = best_split
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--naive-records", type=int, default=10_000)
    parser.add_argument(
        "--profile", type=Path, default=None, help="write a pyinstrument profile of the projector"
    )
    parser.add_argument("--profile-records", type=int, default=20_000)
    parser.add_argument(
        "--postgres", default=None, help="a PostgreSQL server's URL: replay into fresh databases there"
    )
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help="measure each this many times; each gives its best"
    )
    args = parser.parse_args()
    with broker() as bootstrap:
        result = run(
            bootstrap,
            args.records,
            args.naive_records,
            args.profile,
            args.profile_records,
            args.postgres,
            args.rounds,
        )
    raw, one, projector, naive = result["raw"], result["projector_one"], result["projector"], result["naive"]
    print(
        f"projector/raw = {projector.per_second / raw.per_second:.3f} ({WORKERS} processes), "
        f"{one.per_second / raw.per_second:.3f} (one); projector/naive = "
        f"{projector.per_second / naive.per_second:.1f} ({WORKERS} processes), "
        f"{one.per_second / naive.per_second:.1f} (one); each the best of {result['rounds']} rounds"
    )


if __name__ == "__main__":
    main()
