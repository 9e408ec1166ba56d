"""Feedback and user-survey KPIs from a hand-worked scenario, in any arrival order, on any date."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from services.kpi import feedback, kpis, projection
from services.kpi.app import MIGRATIONS
from services.kpi.core import Context, period
from shared import events
from shared.db import make_engine, migrate

S1, S2, S3, S4, S5 = (uuid.UUID(int=i) for i in range(1, 6))
R1, R2, R3, R4, R5 = (uuid.UUID(int=10 + i) for i in range(1, 6))
SURVEY_A, SURVEY_B, SURVEY_C = (uuid.UUID(int=20 + i) for i in range(1, 4))
T0 = datetime(2026, 1, 1, tzinfo=UTC)
FEEDBACK_CODES = (
    "feedback-gevraagd",
    "feedback-respons",
    "feedback-tevredenheid",
    "feedback-gemotiveerd",
    "feedback-zelf-realiseren",
    "OD3.1-bevraging",
)


def _session(session_id: uuid.UUID, kind: str, held_on: date) -> list[events.EventData]:
    start = datetime(held_on.year, held_on.month, held_on.day, 9, tzinfo=UTC)
    return [
        events.SessionScheduled(
            session_id=session_id,
            kind=kind,
            title=f"Sessie {session_id.int}",
            theme="digitale inclusie",
            lead="vvsg",
            format="physical",
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            planned_hours=3,
        ),
        events.SessionHeld(session_id=session_id, held_on=held_on, participants=0, participant_hours=0),
    ]


def _requested(request_id: uuid.UUID, session_id: uuid.UUID, on: date) -> events.FeedbackRequested:
    return events.FeedbackRequested(
        request_id=request_id,
        subject_type="session",
        subject_id=session_id,
        member_id=uuid.uuid4(),
        requested_on=on,
    )


def _received(
    session_id: uuid.UUID,
    request_id: uuid.UUID | None,
    on: date,
    satisfaction: int,
    motivated: int,
    able_to_act: int | None,
) -> events.FeedbackReceived:
    return events.FeedbackReceived(
        response_id=uuid.uuid4(),
        request_id=request_id,
        subject_type="session",
        subject_id=session_id,
        satisfaction=satisfaction,
        usefulness=4,
        motivated=motivated,
        able_to_act=able_to_act,
        has_comment=False,
        received_on=on,
    )


def _datas() -> list[events.EventData]:
    return [
        *_session(S1, "info_session", date(2026, 3, 10)),
        *_session(S2, "training_thematic", date(2026, 5, 1)),
        *_session(S3, "network_meeting_general", date(2026, 6, 1)),  # held, nobody asked
        *_session(S4, "steering_group", date(2026, 2, 1)),  # never counted
        *_session(S5, "info_session", date(2025, 12, 15)),  # another year
        _requested(R1, S1, date(2026, 3, 10)),
        _requested(R2, S1, date(2026, 3, 10)),
        _requested(R3, S1, date(2026, 3, 10)),
        _requested(R4, S2, date(2026, 5, 1)),
        _requested(R5, S4, date(2026, 2, 1)),
        _received(S1, R1, date(2026, 3, 11), 5, 5, 3),
        _received(S1, R2, date(2026, 4, 2), 3, 2, 4),
        _received(S1, None, date(2026, 3, 20), 4, 4, None),  # a paper form
        _received(S2, R4, date(2026, 5, 3), 2, 4, 5),
        _received(S4, R5, date(2026, 2, 2), 1, 1, 1),
        _received(S5, None, date(2026, 1, 5), 1, 1, 1),  # late answer for last year's session
        events.SurveyOpened(
            survey_id=SURVEY_A, title="Bevraging tools", topic="tools", opened_on=date(2026, 1, 10)
        ),
        events.SurveyClosed(
            survey_id=SURVEY_A, closed_on=date(2026, 2, 28), responses=3, local_government_responses=1
        ),
        events.SurveyOpened(
            survey_id=SURVEY_B, title="Bevraging VZW's", topic="tools", opened_on=date(2026, 3, 1)
        ),
        events.SurveyClosed(
            survey_id=SURVEY_B, closed_on=date(2026, 4, 1), responses=4, local_government_responses=0
        ),
        events.SurveyClosed(
            survey_id=SURVEY_C, closed_on=date(2025, 11, 1), responses=9, local_government_responses=5
        ),
    ]


def _events(datas: list[events.EventData] | None = None) -> list[events.Event]:
    return [
        events.decode(events.encode(events.new_envelope(d, source="/test", time=T0 + timedelta(minutes=i))))
        for i, d in enumerate(_datas() if datas is None else datas)
    ]


def _answer(tmp_path: Path, order: list[events.Event], as_of: date | None) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi-{uuid.uuid4().hex}.db")
    migrate(engine, MIGRATIONS)
    with Session(engine) as session:
        for event in order:
            projection.apply(session, [event])
            session.commit()
        answer = _report(session, 2026, as_of)
    engine.dispose()
    return answer


def _report(session: Session, year: int, as_of: date | None) -> dict[str, Any]:
    """The feedback KPIs the way GET /kpis/{year} computes them, a year after the year asked for."""
    ctx = Context(session, period(year, as_of, date(year + 1, 2, 1)))
    return {
        code: (computed.value, computed.items)
        for code, computed in ((code, kpis.KPIS[code](ctx)) for code in FEEDBACK_CODES)
    }


def _kinds(*rows: tuple[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"session_kind": kind, **figures} for kind, figures in rows]


SURVEY_A_ITEM = {
    "survey_id": str(SURVEY_A),
    "title": "Bevraging tools",
    "topic": "tools",
    "opened_on": "2026-01-10",
    "closed_on": "2026-02-28",
    "responses": 3,
    "local_government_responses": 1,
}

END_OF_YEAR = {
    "feedback-gevraagd": (
        66.7,
        _kinds(
            ("info_session", {"sessions": 1, "sessions_asked": 1, "value": 100.0}),
            ("network_meeting_general", {"sessions": 1, "sessions_asked": 0, "value": 0.0}),
            ("training_thematic", {"sessions": 1, "sessions_asked": 1, "value": 100.0}),
        ),
    ),
    "feedback-respons": (
        75.0,
        _kinds(
            ("info_session", {"requests": 3, "answered": 2, "value": 66.7}),
            ("network_meeting_general", {"requests": 0, "answered": 0, "value": 0.0}),
            ("training_thematic", {"requests": 1, "answered": 1, "value": 100.0}),
        ),
    ),
    "feedback-tevredenheid": (
        3.5,
        _kinds(
            ("info_session", {"answers": 3, "value": 4.0}),
            ("network_meeting_general", {"answers": 0, "value": None}),
            ("training_thematic", {"answers": 1, "value": 2.0}),
        ),
    ),
    "feedback-gemotiveerd": (
        75.0,
        _kinds(
            ("info_session", {"answers": 3, "agree": 2, "value": 66.7}),
            ("network_meeting_general", {"answers": 0, "agree": 0, "value": 0.0}),
            ("training_thematic", {"answers": 1, "agree": 1, "value": 100.0}),
        ),
    ),
    "feedback-zelf-realiseren": (
        66.7,
        _kinds(
            ("info_session", {"answers": 2, "agree": 1, "value": 50.0}),
            ("network_meeting_general", {"answers": 0, "agree": 0, "value": 0.0}),
            ("training_thematic", {"answers": 1, "agree": 1, "value": 100.0}),
        ),
    ),
    "OD3.1-bevraging": (1, [SURVEY_A_ITEM]),
}


def test_the_year_end_answer_matches_the_hand_worked_figures(tmp_path: Path) -> None:
    assert _answer(tmp_path, _events(), None) == END_OF_YEAR


def test_as_of_the_end_of_march_only_what_had_happened_counts(tmp_path: Path) -> None:
    answer = _answer(tmp_path, _events(), date(2026, 3, 31))
    values = {code: value for code, (value, _) in answer.items()}
    # S1 only; R2's answer came on 2 April; the paper form of 20 March counts for the averages
    assert values == {
        "feedback-gevraagd": 100.0,
        "feedback-respons": 33.3,
        "feedback-tevredenheid": 4.5,
        "feedback-gemotiveerd": 100.0,
        "feedback-zelf-realiseren": 0.0,
        "OD3.1-bevraging": 1,
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_arrival_order_gives_the_same_answer(tmp_path: Path, seed: int) -> None:
    shuffled = _events()
    random.Random(seed).shuffle(shuffled)
    assert _answer(tmp_path, shuffled, None) == END_OF_YEAR


def test_a_request_or_answer_republished_under_a_new_event_id_counts_once(tmp_path: Path) -> None:
    datas = _datas()
    again = _events(
        [
            d
            for d in datas
            if isinstance(d, events.FeedbackRequested | events.FeedbackReceived | events.SurveyClosed)
        ]
    )
    assert _answer(tmp_path, _events(datas) + again, None) == END_OF_YEAR


def test_a_year_without_sessions_answers_zero_not_an_error(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/empty.db")
    migrate(engine, MIGRATIONS)
    with Session(engine) as session:
        answer = _report(session, 2030, None)
    engine.dispose()
    assert {code: value for code, (value, _) in answer.items()} == dict.fromkeys(FEEDBACK_CODES, 0.0) | {
        "OD3.1-bevraging": 0
    }


@pytest.mark.parametrize(
    ("part", "whole", "places", "expected"),
    [(2, 3, 1, 0.7), (33, 4, 2, 8.25), (4125, 1000, 2, 4.13), (0, 0, 1, 0.0)],
)
def test_ratios_round_half_up(part: int, whole: int, places: int, expected: float) -> None:
    assert feedback._ratio(part, whole, places) == expected
