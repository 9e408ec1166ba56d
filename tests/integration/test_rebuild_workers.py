"""`python -m services.kpi.rebuild --workers 2`: two forked processes, each replaying its share of the
partitions into one generation, build read models that answer exactly as one process's do and hold the
same rows, and store every partition's position, on SQLite and on PostgreSQL; stopped by SIGTERM, both
finish the batch at hand and stop, and the next run resumes to the same answers (SQLite). Real broker
(five years of the benchmarks' representative mix), real databases."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, text
from sqlmodel import Session

from bench.common import Mix, produce_fast
from services.kpi import kpis
from services.kpi.generations import Generations
from shared.topics import DOMAIN_TOPICS
from tests.infra import ROOT, postgres_database

pytestmark = pytest.mark.integration

RECORDS = 12_000  # five years of one network
QUESTIONS = [(year, None) for year in range(2021, 2026)] + [(2023, date(2023, 6, 30))]


def _env(bootstrap: str, prefix: str, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
    }


def _rebuild(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.kpi.rebuild", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def _answers(url: str) -> dict[tuple[int, date | None], Any]:
    generations = Generations(url)
    try:
        active = generations.active(max_age=0)
        with Session(active.reader) as session:
            now = datetime(2027, 1, 1, tzinfo=UTC)
            return {(year, as_of): kpis.report(session, year, as_of, now) for year, as_of in QUESTIONS}
    finally:
        generations.dispose()


def _positions(path: Path) -> dict[tuple[str, int], int]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT topic, partition, next_offset FROM consumer_offsets").fetchall()
    return {(topic, partition): offset for topic, partition, offset in rows}


@pytest.fixture
def history(kafka_bootstrap: str, topic_prefix: str) -> str:
    asyncio.run(produce_fast(kafka_bootstrap, topic_prefix, Mix(seed=5).records(RECORDS)))
    return topic_prefix


@contextlib.contextmanager
def _built(url: str) -> Iterator[Engine]:
    """The engine of the generation the rebuild built (generation 2: a SQLite file, a PostgreSQL schema)."""
    generations = Generations(url)
    try:
        (row,) = [row for row in generations.rows() if row.generation == 2]
        yield generations.open(row.generation, row.location).engine
    finally:
        generations.dispose()


def _every_row(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows, sorted; of the maintained counts (services.kpi.membership.DailyCounts) the
    days whose net change is not zero: a zero is what is left where the changes of one day came in one
    batch or in several, which the processes' order decides."""
    with _built(url) as engine, engine.connect() as connection:
        return {
            name: sorted(
                map(
                    tuple,
                    connection.execute(
                        text(
                            f'SELECT * FROM "{name}"'
                            + (" WHERE delta != 0" if name.endswith("_counts") else "")
                        )
                    ),
                ),
                key=repr,
            )
            for name in inspect(engine).get_table_names()
        }


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_two_processes_build_the_read_models_one_process_builds(
    kafka_bootstrap: str, history: str, tmp_path: Path, kind: str, request: pytest.FixtureRequest
) -> None:
    with contextlib.ExitStack() as stack:
        if kind == "sqlite":
            one, two = f"sqlite:///{tmp_path}/one.db", f"sqlite:///{tmp_path}/two.db"
        else:
            server = request.getfixturevalue("postgres_server")
            one, two = (stack.enter_context(postgres_database(server)) for _ in range(2))
        alone = _rebuild(_env(kafka_bootstrap, history, one), "--workers", "1", "--batch-size", "700")
        assert alone.returncode == 0, alone.stderr
        assert "in 1 proces;" in alone.stderr
        shared = _rebuild(_env(kafka_bootstrap, history, two), "--workers", "2", "--batch-size", "700")
        assert shared.returncode == 0, shared.stderr
        assert "in 2 processen;" in shared.stderr
        assert f"{RECORDS:,}".replace(",", ".") + " records gelezen" in shared.stderr

        answers = _answers(two)
        assert answers == _answers(one)
        assert any(k["value"] for k in answers[(2023, None)]["kpis"])  # the answers are about something
        # and every row of every table: on SQLite the two processes prepare their rows before taking
        # the write lock (services.kpi.projection, `beside_others`), one process under it; on PostgreSQL
        # their transactions run side by side
        tables = _every_row(two)
        assert tables == _every_row(one)
        assert len(tables["kpi_act_registrations"]) > 1000
        # the positions of all twelve partitions, stored by the two processes, are those one process stored
        positions = {
            (topic, partition): offset for _name, topic, partition, offset in tables["consumer_offsets"]
        }
        assert len(positions) == 3 * len(DOMAIN_TOPICS)
        assert sum(positions.values()) == RECORDS


def test_two_processes_stopped_by_sigterm_stop_cleanly_and_the_next_run_resumes(
    kafka_bootstrap: str, history: str, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/kpi.db"
    env = _env(kafka_bootstrap, history, url)
    # small batches, so that the replay is still under way when the signal comes
    rebuild = subprocess.Popen(
        [sys.executable, "-m", "services.kpi.rebuild", "--workers", "2", "--batch-size", "10"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _positions_so_far(tmp_path / "kpi.g2.db"):
            time.sleep(0.05)
        rebuild.send_signal(signal.SIGTERM)  # to the parent only: it passes the signal on
        _out, err = rebuild.communicate(timeout=60)
    finally:
        rebuild.kill()
    assert rebuild.returncode == 3, err
    assert "onderbroken" in err
    stopped_at = sum(_positions(tmp_path / "kpi.g2.db").values())
    assert 0 < stopped_at < RECORDS

    resumed = _rebuild(env, "--workers", "2", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert "gaat verder met generatie 2" in resumed.stderr
    assert sum(_positions(tmp_path / "kpi.g2.db").values()) == RECORDS

    alone = f"sqlite:///{tmp_path}/alone.db"
    assert _rebuild(_env(kafka_bootstrap, history, alone), "--workers", "1", "--quiet").returncode == 0
    assert _answers(url) == _answers(alone)


def _positions_so_far(path: Path) -> int:
    try:
        return sum(_positions(path).values())
    except sqlite3.OperationalError:  # not created or not migrated yet
        return 0
