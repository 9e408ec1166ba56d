"""Rebuilds every KPI read model from the start of the domain topics, while the service keeps answering
from the read models it has, then switches over:

    python -m services.kpi.rebuild              # start, or resume an interrupted rebuild
    python -m services.kpi.rebuild --status     # which generation answers, which is being built

How (see services.kpi.generations for where generations live):
1. A new generation (a sibling SQLite file, or a PostgreSQL schema) is created and migrated, and
   recorded as `building` in the pointer table. The API and the live projector go on with the active one.
2. The topics are replayed into it with the projector's own code (TrackedConsumer.process: batches
   applied in one transaction with their positions and event ids), driven by a FastStream batch
   subscriber on partitions it assigns itself (no consumer group), so it never disturbs the live
   projector's group; it stores its positions under the projector's name inside the new generation.
3. Interrupted (Ctrl-C, SIGTERM, `--stop-after`, a crash), it simply stops: the next run finds the
   generation still `building` and resumes from the positions stored in it.
4. Once it has read every partition up to its end offset (looked up again when reached, so late
   arrivals are included), the replay stops and the pointer flips in one transaction: the new
   generation is `active`, the old one `retired` (kept for going back; older retired ones are
   dropped). The running service notices within a second, moves its projector to the new generation —
   it continues from the positions the rebuild stored there, under the same name — and answers from it.

Progress (records done of the topics' end offsets, rate, time left) goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import fcntl
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import IO, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord
from faststream.kafka import TopicPartition as FsTopicPartition
from faststream.middlewares import AckPolicy
from sqlalchemy import text

from services.kpi import projection
from services.kpi.generations import MIGRATIONS, Generation, Generations
from shared import events, messaging
from shared.consumer import TrackedConsumer
from shared.db import migrate
from shared.settings import Settings, load
from shared.topics import DOMAIN_TOPICS, MEMBERS_EVENTS

FINISHED, STOPPED = 0, 3
# Records per transaction while replaying (the live projector keeps CONSUMER_BATCH_SIZE: its batches are
# small once caught up). Per-batch costs — the preload's and inbox's statements, the per-member refold,
# the commit — spread over more records. What grows with the history is the commit: the read models and
# the inbox are keyed by random ids, so every record dirties its own pages of their indexes, and each
# commit writes them to the WAL and checkpoints them into the file (on SQLite 1.6 pages per record at
# 300,000 records in batches of 5,000, 0.6 in batches of 20,000). The larger the batch, the more of its
# records share a page. A rebuild of 1M records took 72-74 s in batches of 5,000, 54-60 s in 20,000,
# 50-54 s in 30,000; peak RSS 277-283, 370-376, 433-444 MiB (docs/BENCHMARKS.md): 30,000 keeps the
# rebuild's memory under its 512 MiB budget. (Those figures are of uuid4 ids. Ids made since 2026-12-04
# are time-ordered (shared.ids) and land side by side: 1M records in 35-39 s, the same batches.)
REPLAY_BATCH = 30_000
_PG_LOCK_KEY = 74_141_420  # any constant: one rebuild per database at a time


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} u {minutes:02d} min"


def _count(value: int) -> str:
    return f"{value:,}".replace(",", ".")


class Progress:
    """Records done against the topics' end offsets, the rate over the last seconds, time left."""

    def __init__(self, label: str, stream: IO[str], interval: float = 1.0, quiet: bool = False) -> None:
        self.label = label
        self.stream = stream
        self.interval = interval
        self.quiet = quiet
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.window: deque[tuple[float, int]] = deque(maxlen=20)
        self.printed = 0.0
        self.done_at_start: int | None = None

    def rate(self) -> float:
        if len(self.window) < 2:
            return 0.0
        (t0, d0), (t1, d1) = self.window[0], self.window[-1]
        return (d1 - d0) / (t1 - t0) if t1 > t0 else 0.0

    def update(self, done: int, total: int, force: bool = False) -> None:
        now = time.monotonic()
        if self.done_at_start is None:
            self.done_at_start = done
        self.window.append((now, done))
        if self.quiet or (not force and now - self.printed < self.interval):
            return
        self.printed = now
        rate = self.rate()
        left = (
            f"nog ongeveer {_duration((total - done) / rate)}" if rate > 0 and total > done else "bijna klaar"
        )
        share = 100.0 * done / total if total else 100.0
        line = (
            f"{self.label}: {_count(done)} / {_count(total)} records ({share:.1f} %) · "
            f"{_count(round(rate))} records/s · {left}"
        )
        if self.tty:
            self.stream.write("\r" + line.ljust(100))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()


@dataclass
class Outcome:
    finished: bool
    records: int  # read during this run
    seconds: float
    applied: int
    duplicates: int
    dead_letters: int
    conflicts: int = 0  # transactions run again after a conflict between the processes (ConsumerStats)
    decode_cpu: float = 0.0  # CPU seconds decoding, on the event loop (ConsumerStats)
    apply_cpu: float = 0.0  # CPU seconds in the transactions, in the worker thread
    ended: float = 0.0  # time.monotonic() when the replay ended, before its broker client stopped


class _Replay:
    """What the subscriber's handler and the replay loop share."""

    def __init__(self, tracked: TrackedConsumer[events.Event]) -> None:
        self.tracked = tracked
        self.positioned = False  # until then, what the consumer fetches is dropped (read again later)
        self.stopping = False
        self.positions: dict[TopicPartition, int] = {}
        self.read = 0
        self.error: BaseException | None = None
        self.busy = asyncio.Lock()  # held while a batch is applied: stopping waits for it
        self.progressed = asyncio.Event()


# Collector thresholds while replaying: the replay allocates millions of short-lived tracked objects
# (pydantic events, rows, SQLAlchemy parameters), and with the defaults (700, 10, 10) the collector runs
# every ~100 records and now and then walks the whole heap of the loaded service: a third to a half of
# the decode's CPU (bench.replay). The heap alive before the replay is frozen out of the collector's
# walks. The youngest generation's count is what was allocated less what was freed: a batch raises it
# by ~15 objects a record while it is alive (~236,000 for 15,000 records, ~446,000 for 30,000), and
# gives it back when it is freed, all but what it left in reference cycles (~700 objects a batch since
# the membership statements are built once: services.kpi.membership). A threshold above a batch's own
# objects lets a collection come only once that garbage adds up (every ~1,400 batches), instead of
# several times in every batch walking the batch's live objects (50,000: 0.23-0.31 s of a process's
# ~3.8 s replaying 200,000 records, the decode's CPU 8 µs a record against 6; 1M records rebuilt in
# 20.9-21.4 s against 19.1-20.0, the same peak memory: docs/BENCHMARKS.md).
_REPLAY_GC_THRESHOLDS = (1_000_000, 20, 100)


@contextlib.contextmanager
def quiet_collector() -> Iterator[None]:
    """The replay's collector settings (`_REPLAY_GC_THRESHOLDS`, the heap alive before frozen) for the
    duration of the block; the previous thresholds and an unfrozen heap afterwards."""
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_REPLAY_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


async def replay(
    settings: Settings,
    generation: Generation,
    *,
    batch_size: int,
    progress: Progress,
    stop: asyncio.Event,
    stop_after: int | None = None,
    share: Sequence[TopicPartition] | None = None,
) -> Outcome:
    """Replays every domain topic (or only the partitions in `share`) into `generation` until it has
    read up to the end of each partition.

    The records come through a FastStream batch subscriber on partitions it assigns itself (no consumer
    group, so the live projector's group is never disturbed); its handler applies each batch with
    TrackedConsumer.process, the code the live projector runs."""
    with quiet_collector():
        return await _replay(settings, generation, batch_size, progress, stop, stop_after, share)


async def _replay(
    settings: Settings,
    generation: Generation,
    batch_size: int,
    progress: Progress,
    stop: asyncio.Event,
    stop_after: int | None,
    share: Sequence[TopicPartition] | None,
) -> Outcome:
    bootstrap = settings.kafka_bootstrap_servers
    topics = [settings.topic(t) for t in DOMAIN_TOPICS]
    partitions = list(share) if share is not None else await _partitions(bootstrap, topics)
    # a share: the other processes' projectors write into the generation too (replay_in_workers); on
    # SQLite they take turns with the write lock, so each prepares its rows before taking it
    beside_others = share is not None and generation.engine.dialect.name == "sqlite"
    tracked = projection.projector(
        topics=topics, engine=generation.engine, batch_size=batch_size, beside_others=beside_others
    )
    state = _Replay(tracked)
    broker = messaging.make_broker(settings)
    sender = messaging.BrokerSender(broker)  # dead letters only
    subscriber = broker.subscriber(
        partitions=[FsTopicPartition(tp.topic, tp.partition, declare=False) for tp in partitions],
        batch=True,
        max_records=batch_size,
        batch_timeout_ms=500,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        fetch_max_bytes=32 * 1024 * 1024,
        ack_policy=AckPolicy.MANUAL,
        decoder=messaging.raw_records,
        include_in_schema=False,
    )

    @subscriber
    async def consume(records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        if not state.positioned or state.stopping or state.error is not None:
            return
        async with state.busy:
            try:
                await tracked.process(records, sender)
            except Exception as exc:  # noqa: BLE001 - nothing of the batch was stored: stop the replay
                state.error = exc
                state.progressed.set()
                return
            state.read += len(records)
            # per partition, the last record of the batch (a fetch is in offset order per partition):
            # a TopicPartition and a max() per record cost a share of the loop's time
            last = {(record.topic, record.partition): record.offset for record in records}
            for (topic, partition), offset in last.items():
                tp = TopicPartition(topic, partition)
                state.positions[tp] = max(state.positions.get(tp, 0), offset + 1)
        state.progressed.set()

    started = time.monotonic()
    stored = await asyncio.to_thread(tracked.stored_positions)
    # Nothing stored for these partitions (a generation's first run): the consumer starts each at its
    # first record kept (auto_offset_reset), where the replay starts, so what it fetches before the
    # offsets below are known is applied. Otherwise it is dropped until the seeks: a process's first
    # two or three batches, parsed and read again, 60-130 ms of the 3.3 s replay of 200,000 records.
    state.positioned = not any((tp.topic, tp.partition) in stored for tp in partitions)
    await broker.start()
    try:
        consumer = subscriber.consumer
        assert consumer is not None
        beginnings = await consumer.beginning_offsets(partitions)
        if state.positioned:
            for tp in partitions:  # a batch applied meanwhile has moved its partitions on
                state.positions.setdefault(tp, beginnings[tp])
        else:
            for tp in partitions:
                state.positions[tp] = _resume_at(tp, stored, beginnings)
                consumer.seek(tp, state.positions[tp])
            state.positioned = True
        ends = await consumer.end_offsets(partitions)
        positions = state.positions

        def done() -> int:
            return sum(positions[tp] - beginnings[tp] for tp in partitions)

        def total() -> int:
            return sum(ends[tp] - beginnings[tp] for tp in partitions)

        while True:
            if state.error is not None:
                raise state.error
            progress.update(done(), total())
            if all(positions[tp] >= ends[tp] for tp in partitions):
                ends = await _latest_ends(consumer, partitions, ends)  # did more arrive meanwhile?
                if all(positions[tp] >= ends[tp] for tp in partitions):
                    progress.update(done(), total(), force=True)
                    return await _finish(True, state, started)
            if stop.is_set() or (stop_after is not None and state.read >= stop_after):
                progress.update(done(), total(), force=True)
                return await _finish(False, state, started)
            state.progressed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.progressed.wait(), 0.5)
    finally:
        progress.finish()
        state.stopping = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broker.stop(), 10)


def _resume_at(
    tp: TopicPartition, stored: dict[tuple[str, int], int], beginnings: dict[TopicPartition, int]
) -> int:
    """Where a replay of `tp` starts: at the position stored beside the read models, or at the
    partition's first record still kept if retention has deleted past it."""
    return max(stored.get((tp.topic, tp.partition), 0), beginnings[tp])


async def _latest_ends(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], ends: dict[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """The end of each partition as the latest fetch responses gave it (their high watermarks), never
    below `ends`; the broker is asked only while some partition has no fetch answer yet. An offsets
    request goes out on the connection of the fetch the broker holds open while there is nothing new
    (up to fetch.max.wait.ms, 500 ms), so it waited behind it: a quarter of a second at the end of
    every replay, 7 % of a replay of 100,000 records (bench.replay)."""
    marks = {tp: mark for tp in partitions if (mark := consumer.highwater(tp)) is not None}
    if len(marks) < len(partitions):
        return dict(await consumer.end_offsets(partitions))
    return {tp: max(ends[tp], mark) for tp, mark in marks.items()}


async def _finish(finished: bool, state: _Replay, started: float) -> Outcome:
    state.stopping = True
    async with state.busy:  # the batch at hand is applied (or not) as a whole before stopping
        return _outcome(finished, state.read, started, state.tracked)


async def _partitions(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="kpi-rebuild")
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    found = {
        d["topic"]: sorted(p["partition"] for p in d["partitions"]) for d in described if d["error_code"] == 0
    }
    missing = [t for t in topics if not found.get(t)]
    if missing:  # never switch to read models built from nothing
        raise SystemExit(f"deze topics bestaan niet: {', '.join(missing)}")
    return [TopicPartition(t, p) for t in topics for p in found[t]]


def summary(outcome: Outcome) -> str:
    """The line the rebuild ends its replay with. Batches run again after a deadlock between the
    processes are named only when there were any: a handful is normal, many say the processes got in
    each other's way (services.kpi.rebuild's comment on PostgreSQL)."""
    rate = outcome.records / outcome.seconds if outcome.seconds > 0 else 0.0
    again = ""
    if outcome.conflicts:
        again = f", {_count(outcome.conflicts)} keer een batch opnieuw na een conflict tussen de processen"
    return (
        f"{_count(outcome.records)} records gelezen in {_duration(outcome.seconds)} "
        f"({_count(round(rate))} records/s); toegepast {_count(outcome.applied)}, "
        f"dubbel {_count(outcome.duplicates)}, naar de dead letters {_count(outcome.dead_letters)}{again}\n"
    )


def _outcome(finished: bool, read: int, started: float, tracked: TrackedConsumer[events.Event]) -> Outcome:
    stats = tracked.stats
    return Outcome(
        finished,
        read,
        time.monotonic() - started,
        stats.applied,
        stats.duplicates,
        stats.dead_letters,
        conflicts=stats.conflicts,
        decode_cpu=stats.decode_cpu,
        apply_cpu=stats.apply_cpu,
        ended=time.monotonic(),
    )


# --- replaying in several processes ------------------------------------------------------------------
#
# One replaying process is bound by its CPU: of a record's ~34 µs, ~7 decode it on the event loop, ~21
# apply it in the batch's transaction, the rest fetch it (bench.replay). Several processes, each
# replaying its share of the partitions into the same generation — as several live projectors of one
# consumer group would — fetch, decode and prepare at the same time.
#
# SQLite: their transactions take the write lock in turn (BEGIN IMMEDIATE, shared.db), and the read
# models take the partitions' records in any order. A batch's rows are prepared before its transaction,
# in a read transaction that takes no lock (the preload, the handlers, the values converted, the
# members' fold: `beside_others` in services.kpi.projection, which says why that is safe), so that the
# lock is held to claim the event ids, write the rows and spells, derive the organisations' spells and
# the counts and store the positions: 1.07-1.24x as fast as with all of it under the lock, and the fold
# about 1.06x more (docs/BENCHMARKS.md, 2026-12-05). Measured (docs/BENCHMARKS.md): 1M records rebuilt
# in 33.6-34.8 s by one process, 24.1-24.3 s by two; 100,000 replayed at 29-33k records/s by one, 31-40k
# by two. Not more than two: the transactions still run one after the other (~21 µs a record), and
# three were slower than two (31-34k records/s against 37k).
#
# PostgreSQL: the transactions run side by side, as those of the scaled-out live projector do
# (tests/cluster/test_scale_out.py), with its care: every row a handler reads is written only by events
# of the same key, so by the process's own partitions, except the organisations' spells, which are
# refolded under an advisory lock per organisation, and the per-day counts, which are added to (each
# batch's rows in key order). A deadlock between the two is run again (shared.consumer.CONFLICT_STATES).
# Nothing is prepared apart: there is no lock to keep short, and a read transaction of its own would only
# add round trips. 1.4-1.6x as fast as one process (the server takes a third of a core of its own;
# docs/BENCHMARKS.md, 2026-12-05 21:40).
#
# Each process stores the positions of its own partitions only, so an interrupted rebuild resumes
# whatever the next run's shares are. The workers are forked from this process outside any event loop,
# and open their own connections: no connection crosses the fork.
WORKERS = 2


def batch_for(workers: int) -> int:
    """Records per transaction in each of `workers` processes by default: REPLAY_BATCH over all of them,
    so that its memory bound holds for the whole rebuild."""
    return max(1, REPLAY_BATCH // workers)


def workers_for(asked: int | None) -> int:
    """How many processes replay: `asked`, or by default two when the machine has two cores."""
    if asked is not None:
        if asked < 1:
            raise SystemExit("--workers moet minstens 1 zijn")
        return asked
    return min(WORKERS, os.cpu_count() or 1)


def _remaining(settings: Settings, generation: Generation) -> list[tuple[TopicPartition, int]]:
    """Every partition of the domain topics with the number of records still to replay into it."""
    topics = [settings.topic(t) for t in DOMAIN_TOPICS]
    stored = projection.projector(topics=topics, engine=generation.engine, batch_size=1).stored_positions()

    async def offsets() -> list[tuple[TopicPartition, int]]:
        bootstrap = settings.kafka_bootstrap_servers
        partitions = await _partitions(bootstrap, topics)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        await consumer.start()
        try:
            # assigned, the consumer knows the partitions' leaders: without, each lookup below waited
            # for a metadata refresh (0.4 s)
            consumer.assign(partitions)
            beginnings = await consumer.beginning_offsets(partitions)
            ends = await consumer.end_offsets(partitions)
        finally:
            await consumer.stop()
        return [(tp, ends[tp] - _resume_at(tp, stored, beginnings)) for tp in partitions]

    return asyncio.run(offsets())


# What replaying one record of a topic costs against one of the others: a member's event folds the
# member's facts again and writes its spells, and those of its organisation. Measured on the
# representative mix (bench.common.Mix), each topic replayed alone in batches of 15,000 in one thread:
# members 54-64 µs of CPU a record, activities 30-33, feedback 26-28, communications 26-32
# (docs/BENCHMARKS.md, 2026-12-06). Dealt by records alone, the share with two of the members topic's
# three partitions ran 0.3-0.4 s longer than the other in a replay of 200,000 records of 4.
RECORD_COST = {MEMBERS_EVENTS: 2.0}


def shares(
    remaining: list[tuple[TopicPartition, int]],
    workers: int,
    cost: Mapping[str, float] | None = None,
) -> list[list[TopicPartition]]:
    """The partitions dealt out over at most `workers` shares with about as much work left each (the
    records left, each weighted by its topic's `cost`, 1 if not named): the largest first, each to the
    share with the least so far (of equal ones, the one with the fewest partitions: no share is left
    without any). The slowest share sets the time."""
    cost = cost or {}
    work = [(tp, left * cost.get(tp.topic, 1.0)) for tp, left in remaining]
    dealt: list[list[TopicPartition]] = [[] for _ in range(min(workers, len(work)))]
    loads = [0.0] * len(dealt)
    for tp, left in sorted(work, key=lambda item: (-item[1], item[0].topic, item[0].partition)):
        least = min(range(len(dealt)), key=lambda i: (loads[i], len(dealt[i])))
        dealt[least].append(tp)
        loads[least] += left
    return dealt


class _SharedProgress(Progress):
    """A worker's progress, written into its two slots of an array the parent reads and reports."""

    def __init__(self, counts: Any, index: int) -> None:
        super().__init__("", sys.stderr, quiet=True)
        self.counts = counts
        self.index = index

    def update(self, done: int, total: int, force: bool = False) -> None:
        self.counts[2 * self.index] = done
        self.counts[2 * self.index + 1] = total


def _worker(
    settings: Settings,
    url: str,
    generation: tuple[int, str],
    share: list[TopicPartition],
    batch_size: int,
    stop_after: int | None,
    cache_kib: int,
    counts: Any,
    index: int,
    results: Connection,
) -> None:
    """One forked worker: replays its share into the generation over connections of its own, and sends
    its Outcome's fields (or what went wrong) to the parent."""
    generations = Generations(url, writer_cache_kib=cache_kib)
    try:
        opened = generations.open(*generation)
        progress = _SharedProgress(counts, index)
        outcome = asyncio.run(_replay_with_signals(settings, opened, batch_size, progress, stop_after, share))
        # as a dict: this module may run as __main__ (python -m, `vvsg rebuild`), whose classes the
        # other side cannot look up by name
        results.send(dataclasses.asdict(outcome))
    except BaseException as exc:
        results.send(f"{type(exc).__name__}: {exc}")
        raise
    finally:
        generations.dispose()
        results.close()


def replay_in_workers(
    settings: Settings,
    generations: Generations,
    generation: Generation,
    *,
    workers: int,
    batch_size: int,
    progress: Progress,
    stop_after: int | None = None,
) -> Outcome:
    """Replays every domain topic into `generation` in `workers` forked processes, each on its share of
    the partitions with `batch_size` records per transaction and (SQLite) its share of the writer's page
    cache; their outcomes summed. SIGINT and SIGTERM are passed on to the workers, which finish the
    batch at hand and stop. Not to be called from inside a running event loop."""
    cost = {settings.topic(topic): weight for topic, weight in RECORD_COST.items()}
    dealt = shares(_remaining(settings, generation), workers, cost)
    generations.dispose()  # the workers open their own connections; none of these crosses the fork
    context = multiprocessing.get_context("fork")
    counts = context.Array("q", 2 * len(dealt), lock=False)
    cache_kib = generations.writer_cache_kib // len(dealt)
    each_stop = None if stop_after is None else -(-stop_after // len(dealt))
    started = time.monotonic()
    processes: list[BaseProcess] = []
    receivers: list[Connection] = []
    for index, share in enumerate(dealt):
        receiver, sender = context.Pipe(duplex=False)
        worker = context.Process(
            target=_worker,
            args=(
                settings,
                generations.url,
                (generation.number, generation.location),
                share,
                batch_size,
                each_stop,
                cache_kib,
                counts,
                index,
                sender,
            ),
            name=f"kpi-rebuild-{index + 1}",
            daemon=True,  # they end with this process
        )
        worker.start()
        sender.close()
        processes.append(worker)
        receivers.append(receiver)

    def pass_on(_signum: int, _frame: object) -> None:
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    previous = {signum: signal.signal(signum, pass_on) for signum in (signal.SIGINT, signal.SIGTERM)}
    results: list[dict[str, Any] | str | None] = [None] * len(dealt)
    try:
        while True:
            for index, receiver in enumerate(receivers):
                if results[index] is None and receiver.poll():
                    try:
                        results[index] = receiver.recv()
                    except EOFError:  # ended without a word: killed, or crashed before sending
                        processes[index].join()
                        results[index] = f"gestopt met code {processes[index].exitcode}"
            progress.update(sum(counts[0::2]), sum(counts[1::2]))
            waiting = [r for r, result in zip(receivers, results, strict=True) if result is None]
            if not waiting:
                break
            multiprocessing.connection.wait(waiting, progress.interval)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for process in processes:
            process.join()
        for receiver in receivers:
            receiver.close()
    progress.update(sum(counts[0::2]), sum(counts[1::2]), force=True)
    progress.finish()
    outcomes = [Outcome(**result) for result in results if isinstance(result, dict)]
    failed = [f"proces {i + 1}: {result}" for i, result in enumerate(results) if isinstance(result, str)]
    if failed:
        raise SystemExit(
            "de heropbouw liep fout (start hem opnieuw om verder te gaan):\n" + "\n".join(failed)
        )
    # to the end of the last replay, as one process's replay is timed (its broker client's stop, up to
    # half a second, and the process's exit are not replaying)
    ended = max(o.ended for o in outcomes)
    return Outcome(
        finished=all(o.finished for o in outcomes),
        records=sum(o.records for o in outcomes),
        seconds=ended - started,
        applied=sum(o.applied for o in outcomes),
        duplicates=sum(o.duplicates for o in outcomes),
        dead_letters=sum(o.dead_letters for o in outcomes),
        conflicts=sum(o.conflicts for o in outcomes),
        decode_cpu=sum(o.decode_cpu for o in outcomes),
        apply_cpu=sum(o.apply_cpu for o in outcomes),
        ended=ended,
    )


@contextlib.contextmanager
def exclusive(generations: Generations) -> Iterator[None]:
    """One rebuild per database at a time (a second one would replay the same records twice)."""
    if generations.sqlite:
        path = generations.base_file().with_name(generations.base_file().name + ".rebuild.lock")
        with path.open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SystemExit("er loopt al een heropbouw voor deze databank") from None
            yield
        return
    with generations.base.connect() as connection:
        got = connection.execute(text(f"SELECT pg_try_advisory_lock({_PG_LOCK_KEY})")).scalar()
        connection.commit()
        if not got:
            raise SystemExit("er loopt al een heropbouw voor deze databank")
        try:
            yield
        finally:
            connection.execute(text(f"SELECT pg_advisory_unlock({_PG_LOCK_KEY})"))
            connection.commit()


def status(generations: Generations, out: IO[str]) -> None:
    rows = generations.rows()
    if not any(r.state == "active" for r in rows):
        out.write("generatie 1 (de databank zelf) beantwoordt de vragen\n")
    for row in rows:
        where = row.location or "de databank zelf"
        out.write(f"generatie {row.generation}: {row.state} ({where})\n")


def run(
    settings: Settings,
    *,
    batch_size: int | None,
    stop_after: int | None,
    quiet: bool,
    out: IO[str],
    workers: int | None = None,
) -> int:
    """Builds (or resumes) a generation and switches to it; `batch_size` records per transaction in
    each worker (None: `batch_for`)."""
    generations = Generations(settings.resolved_database_url())
    try:
        workers = workers_for(workers)
        size = batch_size if batch_size is not None else batch_for(workers)
        migrate(generations.base, MIGRATIONS)
        with exclusive(generations):
            generation, new = generations.start_building(MIGRATIONS)
            active = generations.active(max_age=0)
            verb = "bouwt nieuw op" if new else "gaat verder met"
            out.write(
                f"heropbouw {verb} generatie {generation.number} ({generation.location}) in "
                f"{workers} {'processen' if workers > 1 else 'proces'}; "
                f"generatie {active.number} beantwoordt intussen de vragen\n"
            )
            progress = Progress(f"generatie {generation.number}", out, quiet=quiet)
            if workers > 1:
                outcome = replay_in_workers(
                    settings,
                    generations,
                    generation,
                    workers=workers,
                    batch_size=size,
                    progress=progress,
                    stop_after=stop_after,
                )
            else:
                outcome = asyncio.run(_replay_with_signals(settings, generation, size, progress, stop_after))
            out.write(summary(outcome))
            if not outcome.finished:
                out.write("onderbroken: start de heropbouw opnieuw om verder te gaan\n")
                return STOPPED
            previous = generations.activate(generation.number)
            dropped = generations.drop_retired(keep=previous)
            out.write(
                f"generatie {generation.number} beantwoordt nu de vragen; generatie {previous} blijft "
                f"bewaard om terug te kunnen"
                + (f"; verwijderd: {', '.join(map(str, dropped))}" if dropped else "")
                + "\n"
            )
            return FINISHED
    finally:
        generations.dispose()


async def _replay_with_signals(
    settings: Settings,
    generation: Generation,
    batch_size: int,
    progress: Progress,
    stop_after: int | None,
    share: Sequence[TopicPartition] | None = None,
) -> Outcome:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)  # finish the batch at hand, then stop cleanly
    return await replay(
        settings,
        generation,
        batch_size=batch_size,
        progress=progress,
        stop=stop,
        stop_after=stop_after,
        share=share,
    )


def main(argv: list[str] | None = None) -> int:
    settings = load("kpi")
    parser = argparse.ArgumentParser(description="Bouwt alle KPI-leesmodellen opnieuw op uit de topics.")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help=f"records per transaction in elk proces (standaard {REPLAY_BATCH} over alle processen samen)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"processen die elk een deel van de partities herlezen (standaard {WORKERS} op een machine met "
        "minstens zoveel kernen)",
    )
    parser.add_argument(
        "--stop-after",
        type=int,
        default=None,
        help="stop na ongeveer zoveel records (verder met een volgende run)",
    )
    parser.add_argument("--quiet", action="store_true", help="geen voortgang tonen")
    parser.add_argument("--status", action="store_true", help="toon de generaties en stop")
    args = parser.parse_args(argv)
    if args.status:
        generations = Generations(settings.resolved_database_url())
        try:
            migrate(generations.base, MIGRATIONS)
            status(generations, sys.stdout)
        finally:
            generations.dispose()
        return 0
    return run(
        settings,
        batch_size=args.batch_size,
        stop_after=args.stop_after,
        quiet=args.quiet,
        out=sys.stderr,
        workers=args.workers,
    )


if __name__ == "__main__":
    raise SystemExit(main())
