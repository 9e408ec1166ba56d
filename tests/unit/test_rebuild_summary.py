"""The line the rebuild ends its replay with (services.kpi.rebuild.summary): what was read and how fast,
what was applied, what was a duplicate or went to the dead letters, and, only when there were any,
how many transactions the processes ran again after a conflict between them."""

from __future__ import annotations

from services.kpi.rebuild import Outcome, summary


def _outcome(conflicts: int) -> Outcome:
    return Outcome(
        finished=True,
        records=1_000_000,
        seconds=58.6,
        applied=999_990,
        duplicates=7,
        dead_letters=3,
        conflicts=conflicts,
    )


def test_a_replay_without_conflicts_says_what_it_read_applied_and_refused() -> None:
    assert summary(_outcome(0)) == (
        "1.000.000 records gelezen in 59 s (17.065 records/s); toegepast 999.990, dubbel 7, "
        "naar de dead letters 3\n"
    )


def test_transactions_run_again_after_a_conflict_are_counted_at_the_end() -> None:
    assert summary(_outcome(1_204)).endswith(
        "naar de dead letters 3, 1.204 keer een batch opnieuw na een conflict tussen de processen\n"
    )


def test_nothing_read_is_no_division_by_zero() -> None:
    nothing = Outcome(finished=True, records=0, seconds=0.0, applied=0, duplicates=0, dead_letters=0)
    assert summary(nothing) == (
        "0 records gelezen in 0 s (0 records/s); toegepast 0, dubbel 0, naar de dead letters 0\n"
    )
