"""The feedback rules without I/O: who is asked, when a link expires, what a valid answer is."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.feedback import domain


@pytest.mark.parametrize(
    ("member", "cancelled", "attended", "asked"),
    [
        (uuid.uuid4(), False, True, True),
        (uuid.uuid4(), False, False, False),  # no-show
        (uuid.uuid4(), False, None, False),  # attendance not recorded
        (uuid.uuid4(), True, True, False),  # cancelled
        (None, False, True, False),  # outside participant: nobody to mail
    ],
)
def test_only_attending_members_with_a_live_registration_are_asked(
    member: uuid.UUID | None, cancelled: bool, attended: bool | None, asked: bool
) -> None:
    assert domain.registration_is_asked(member, cancelled, attended) is asked


@pytest.mark.parametrize(
    ("kind", "asked"),
    [
        ("info_session", True),
        ("training_thematic", True),
        ("steering_group", False),
        ("coordination_meeting", False),
        (None, False),
    ],
)
def test_steering_and_coordination_meetings_and_unknown_kinds_are_not_asked(
    kind: str | None, asked: bool
) -> None:
    assert domain.session_is_asked(kind) is asked


def test_the_request_id_is_the_same_for_the_same_subject_and_participant() -> None:
    session, registration = uuid.uuid4(), uuid.uuid4()
    first = domain.request_id("session", session, str(registration))
    assert first == domain.request_id("session", session, str(registration))
    assert first != domain.request_id("session", session, str(uuid.uuid4()))


def test_a_link_expires_after_the_configured_number_of_days() -> None:
    requested = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert not domain.is_expired(requested, 30, requested + timedelta(days=29, hours=23))
    assert domain.is_expired(requested, 30, requested + timedelta(days=30))
    assert domain.is_expired(requested.replace(tzinfo=None), 0, requested)  # naive times are UTC


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("0", "out_of_range"),
        ("6", "out_of_range"),
        ("", "missing"),
        ("drie", "out_of_range"),
        ("-1", "out_of_range"),
    ],
)
def test_a_rating_outside_one_to_five_is_an_error_on_that_question(raw: str, error: str) -> None:
    answer = domain.read_answer(
        {"satisfaction": "4", "usefulness": raw, "motivated": "5", "able_to_act": "1"}
    )
    assert answer.errors == {"usefulness": error}


def test_a_full_answer_keeps_its_ratings_and_trimmed_comment() -> None:
    answer = domain.read_answer(
        {"satisfaction": "4", "usefulness": "5", "motivated": "5", "able_to_act": "1", "comment": "  Top!  "}
    )
    assert answer.ok
    assert (answer.ratings, answer.comment) == (
        {"satisfaction": 4, "usefulness": 5, "motivated": 5, "able_to_act": 1},
        "Top!",
    )


def test_a_comment_longer_than_the_limit_is_refused() -> None:
    answer = domain.read_answer(
        {"satisfaction": "4", "usefulness": "5", "motivated": "5", "able_to_act": "1", "comment": "x" * 4001}
    )
    assert answer.errors == {"comment": "too_long"}


def test_survey_answers_follow_each_questions_kind_and_whether_it_is_required() -> None:
    questions = [
        domain.SurveyQuestion("q1", "Score?", "rating", True),
        domain.SurveyQuestion("q2", "Welke?", "choice", True, ("toolbox", "e-learning")),
        domain.SurveyQuestion("q3", "Nog iets?", "text", False),
    ]
    assert domain.read_survey_answer(questions, {"q1": "5", "q2": "toolbox"}) == (
        {"q1": 5, "q2": "toolbox"},
        {},
    )
    assert domain.read_survey_answer(questions, {"q1": "9", "q2": "iets anders"})[1] == {
        "q1": "out_of_range",
        "q2": "not_a_choice",
    }
