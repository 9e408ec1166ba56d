"""When a consumer asks PostgreSQL for fresh planner statistics (shared.consumer._Statistics): each
time the records it has applied since it started have doubled, from 5,000; an ANALYZE that fails costs
a warning, never the batch."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError

from shared import consumer


def _counting(monkeypatch: pytest.MonkeyPatch, statistics: consumer._Statistics) -> list[int]:
    """The records applied at each ANALYZE."""
    seen: list[int] = []
    monkeypatch.setattr(consumer, "analyse", lambda _engine: seen.append(statistics.applied))
    return seen


def test_the_live_projectors_small_batches_analyse_at_5000_then_each_doubling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statistics = consumer._Statistics()
    seen = _counting(monkeypatch, statistics)
    for _ in range(45):
        statistics.after_commit(None, 1_000, "kpi-projector")  # type: ignore[arg-type]  # not used here
    assert seen == [5_000, 10_000, 20_000, 40_000]


def test_a_rebuilds_large_batches_analyse_after_the_first_and_then_each_doubling(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    statistics = consumer._Statistics()
    seen = _counting(monkeypatch, statistics)
    for _ in range(34):  # a million records in batches of 30,000
        statistics.after_commit(None, 30_000, "kpi-rebuild")  # type: ignore[arg-type]
    assert seen == [30_000, 60_000, 120_000, 240_000, 480_000, 960_000]


def test_batches_with_nothing_new_never_analyse(monkeypatch: pytest.MonkeyPatch) -> None:
    statistics = consumer._Statistics()
    seen = _counting(monkeypatch, statistics)
    for _ in range(100):
        statistics.after_commit(None, 0, "kpi-projector")  # type: ignore[arg-type]
    assert seen == []


def test_a_failing_analyse_is_a_warning_and_waits_for_the_next_doubling(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[int] = []
    statistics = consumer._Statistics()

    def away(_engine: object) -> None:
        attempts.append(statistics.applied)
        raise OperationalError("ANALYZE", {}, Exception("the database is away (test)"))

    monkeypatch.setattr(consumer, "analyse", away)
    with caplog.at_level(logging.WARNING, logger="shared.consumer"):
        for _ in range(9):
            statistics.after_commit(None, 1_000, "kpi-projector")  # type: ignore[arg-type]
    assert attempts == [5_000]  # not again on every batch after it
    assert "kpi-projector: ANALYZE failed" in caplog.text
    assert "the database is away (test)" in caplog.text
