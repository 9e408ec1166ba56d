"""Rules of asking for and collecting feedback, free of I/O: who is asked, when a link has expired,
what a valid answer is."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from shared.clock import business_date_of, business_today
from shared.errors import Invalid
from shared.events import LOCAL_GOVERNMENT_KINDS, NO_FEEDBACK_KINDS
from shared.text import multi_line

SubjectType = Literal["session", "support_trajectory", "survey"]

RATING_QUESTIONS: tuple[str, ...] = ("satisfaction", "usefulness", "motivated", "able_to_act")
COMMENT_MAX = 4000

# Request ids are derived from what the request is for, so a service rebuilt from the topics
# (or a replayed event) produces the very same request id, link and event, never a second request.
_REQUEST_NAMESPACE = uuid.UUID("6f1c2a4e-93d0-4f5b-9a55-0c2d7e1b8a10")


today = business_today  # the business date, defined once in shared.clock


business_date = business_date_of  # the Brussels date of a moment (KPI years follow it)


def request_id(subject_type: str, subject_id: uuid.UUID, participant_key: str) -> uuid.UUID:
    return uuid.uuid5(_REQUEST_NAMESPACE, f"{subject_type}:{subject_id}:{participant_key}")


def session_is_asked(kind: str | None) -> bool:
    """Only a session whose kind is known and is a participant activity gets feedback requests."""
    return kind is not None and kind not in NO_FEEDBACK_KINDS


def registration_is_asked(member_id: uuid.UUID | None, cancelled: bool, attended: bool | None) -> bool:
    """An attending member; not a no-show, not a cancellation, and not an outside participant,
    who has no member id and so no address anyone could mail the link to."""
    return member_id is not None and not cancelled and attended is True


def expires_at(requested_at: datetime, valid_days: int) -> datetime:
    if requested_at.tzinfo is None:  # SQLite gives timestamps back without their offset; all are UTC
        requested_at = requested_at.replace(tzinfo=UTC)
    return requested_at + timedelta(days=valid_days)


def not_in_future(day: date | None, field: str) -> date:
    """A date staff give (a paper form received, a survey closed): today when not given, never later."""
    if day is None:
        return today()
    if day > today():
        raise Invalid(field, "may not lie in the future")
    return day


def is_expired(requested_at: datetime, valid_days: int, now: datetime | None = None) -> bool:
    return (now or datetime.now(UTC)) >= expires_at(requested_at, valid_days)


# --- answers ------------------------------------------------------------------------------------

ErrorCode = Literal["missing", "out_of_range", "too_long", "not_a_choice", "control_character"]


@dataclass
class Answer:
    """A validated answer to the standard questions, or the errors per field."""

    ratings: dict[str, int | None] = field(default_factory=dict)
    comment: str | None = None
    errors: dict[str, ErrorCode] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


def parse_rating(raw: str | None) -> tuple[int | None, ErrorCode | None]:
    if raw is None or raw.strip() == "":
        return None, "missing"
    try:
        value = int(raw.strip())
    except ValueError:
        return None, "out_of_range"
    if not 1 <= value <= 5:
        return None, "out_of_range"
    return value, None


def clean_comment(raw: str | None) -> tuple[str | None, ErrorCode | None]:
    text = (raw or "").strip()
    if not text:
        return None, None
    if len(text) > COMMENT_MAX:
        return None, "too_long"
    try:
        multi_line(text)
    except ValueError:
        return None, "control_character"
    return text, None


def read_answer(form: Mapping[str, str], ratings_required: bool = True) -> Answer:
    """The four ratings (1–5) and the free text from a submitted form."""
    answer = Answer()
    for name in RATING_QUESTIONS:
        value, error = parse_rating(form.get(name))
        if error == "missing" and not ratings_required:
            error = None
        answer.ratings[name] = value
        if error:
            answer.errors[name] = error
    answer.comment, error = clean_comment(form.get("comment"))
    if error:
        answer.errors["comment"] = error
    return answer


# --- user surveys -------------------------------------------------------------------------------

QuestionKind = Literal["rating", "text", "choice"]


@dataclass(frozen=True)
class SurveyQuestion:
    key: str
    text: str
    kind: QuestionKind
    required: bool
    options: tuple[str, ...] = ()
    tool_title: str | None = None  # the catalogue's tool the question is about (OD 3.1)


def read_survey_answer(
    questions: list[SurveyQuestion], form: Mapping[str, str]
) -> tuple[dict[str, int | str], dict[str, ErrorCode]]:
    answers: dict[str, int | str] = {}
    errors: dict[str, ErrorCode] = {}
    for question in questions:
        raw = form.get(question.key)
        if question.kind == "rating":
            value, error = parse_rating(raw)
            if value is not None:
                answers[question.key] = value
        elif question.kind == "choice":
            choice = (raw or "").strip()
            value, error = None, None
            if not choice:
                error = "missing"
            elif choice not in question.options:
                error = "not_a_choice"
            else:
                answers[question.key] = choice
        else:
            text, error = clean_comment(raw)
            if text is None and error is None:
                error = "missing"
            elif text is not None:
                answers[question.key] = text
        if error == "missing" and not question.required:
            error = None
        if error:
            errors[question.key] = error
    return answers, errors


def is_local_government(kind: str | None) -> bool:
    return kind in LOCAL_GOVERNMENT_KINDS


def without_free_text(questions: list[SurveyQuestion], answers: Mapping[str, object]) -> dict[str, object]:
    """A survey answer with its free text taken out (ratings and choices among fixed options stay):
    what remains of the answer of a person who was erased."""
    texts = {q.key for q in questions if q.kind == "text"}
    return {key: value for key, value in answers.items() if key not in texts}
