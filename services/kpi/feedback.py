"""Feedback after activities and the user surveys (OD 3.1): the read models of feedback requests,
answers and surveys, how `feedback.events` fill them, and the KPIs computed from them.

Which sessions were held in the year comes from the activities read model (held_sessions); this
module only adds what was asked and answered about them. Requests and answers are keyed by their
own ids, so a republished event (same request, new event id) never counts twice."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

from sqlalchemy import Executable, select
from sqlmodel import Field, SQLModel, col

from services.kpi.activities import HeldSession, held_sessions
from services.kpi.core import Computed, Context, Handler, among, naive_utc, raw_id, within
from services.kpi.store import ReadModels
from shared import events

RATINGS = ("satisfaction", "usefulness", "motivated", "able_to_act")


class KpiFeedbackRequest(SQLModel, table=True):
    __tablename__ = "kpi_fb_requests"

    request_id: uuid.UUID = Field(primary_key=True)
    subject_type: str = Field(max_length=30)
    subject_id: uuid.UUID = Field(index=True)
    requested_on: date


class KpiFeedbackResponse(SQLModel, table=True):
    __tablename__ = "kpi_fb_responses"

    response_id: uuid.UUID = Field(primary_key=True)
    request_id: uuid.UUID | None = Field(default=None, index=True)
    subject_type: str = Field(max_length=30)
    subject_id: uuid.UUID = Field(index=True)
    satisfaction: int | None = None
    usefulness: int | None = None
    motivated: int | None = None
    able_to_act: int | None = None
    has_comment: bool = False
    received_on: date


# the rows about a session that `_per_session` reads: its feedback requests and their responses
FeedbackRows = KpiFeedbackRequest | KpiFeedbackResponse


class KpiSurvey(SQLModel, table=True):
    """A user survey: what it is (survey.opened) and its counts when it closed (survey.closed)."""

    __tablename__ = "kpi_fb_surveys"

    survey_id: uuid.UUID = Field(primary_key=True)
    title: str | None = Field(default=None, max_length=500)
    topic: str | None = Field(default=None, max_length=500)
    opened_on: date | None = None
    closed_on: date | None = None
    responses: int | None = None
    local_government_responses: int | None = None
    closed_time: datetime | None = None
    closed_event_id: str | None = Field(default=None, max_length=200)


TABLES = (KpiFeedbackRequest, KpiFeedbackResponse, KpiSurvey)


# --- projection ---------------------------------------------------------------------------------


def _requested(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.FeedbackRequested)
    if store.get(KpiFeedbackRequest, data.request_id) is None:
        store.add(
            store.new(
                KpiFeedbackRequest,
                request_id=data.request_id,
                subject_type=data.subject_type,
                subject_id=data.subject_id,
                requested_on=data.requested_on,
            )
        )


def _received(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.FeedbackReceived)
    if store.get(KpiFeedbackResponse, data.response_id) is None:
        store.add(
            store.new(
                KpiFeedbackResponse,
                response_id=data.response_id,
                request_id=data.request_id,
                subject_type=data.subject_type,
                subject_id=data.subject_id,
                satisfaction=data.satisfaction,
                usefulness=data.usefulness,
                motivated=data.motivated,
                able_to_act=data.able_to_act,
                has_comment=data.has_comment,
                received_on=data.received_on,
            )
        )


def _survey_row(store: ReadModels, survey_id: uuid.UUID) -> KpiSurvey:
    row = store.get(KpiSurvey, survey_id)
    if row is None:
        row = store.new(KpiSurvey, survey_id=survey_id)
        store.add(row)
    return row


def _survey_opened(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.SurveyOpened)
    row = _survey_row(store, data.survey_id)
    row.title, row.topic, row.opened_on = data.title, data.topic, data.opened_on
    store.add(row)


def _survey_closed(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.SurveyClosed)
    row = _survey_row(store, data.survey_id)
    if row.closed_time is None or (naive_utc(event.time), event.id) >= (
        naive_utc(row.closed_time),
        row.closed_event_id or "",
    ):
        row.closed_on, row.responses = data.closed_on, data.responses
        row.local_government_responses = data.local_government_responses
        row.closed_time, row.closed_event_id = event.time, event.id
        store.add(row)


HANDLERS: dict[type[events.EventData], Handler] = {
    events.FeedbackRequested: _requested,
    events.FeedbackReceived: _received,
    events.SurveyOpened: _survey_opened,
    events.SurveyClosed: _survey_closed,
}

# The rows these handlers look up, and the events that name them (by the key's field, or by their own
# id for an `event_id` key): the projection preloads them per batch.
LOOKUPS: dict[type[SQLModel], tuple[type[events.EventData], ...]] = {
    KpiFeedbackRequest: (events.FeedbackRequested,),
    KpiFeedbackResponse: (events.FeedbackReceived,),
    KpiSurvey: (events.SurveyOpened, events.SurveyClosed),
}


# --- queries ------------------------------------------------------------------------------------


def _ratio(part: int, whole: int, places: int) -> float:
    """part / whole rounded half up (66.65 → 66.7, not banker's 66.6); 0 when there is no whole."""
    if whole == 0:
        return 0.0
    exponent = Decimal(1).scaleb(-places)
    return float((Decimal(part) / Decimal(whole)).quantize(exponent, rounding=ROUND_HALF_UP))


def _percentage(part: int, whole: int) -> float:
    return _ratio(part * 100, whole, 1)


def _counts_until(ctx: Context, day: date) -> bool:
    """Only with `as_of` (D before the year's end) do later requests and answers drop out: the year's
    own figures include an answer that came in January about a session held in December."""
    end = ctx.period.end
    return end >= date(ctx.period.year, 12, 31) or day <= end


def asked_sessions(ctx: Context) -> list[HeldSession]:
    """Sessions held in the period that feedback is asked for (not steering or coordination)."""
    return [s for s in held_sessions(ctx) if s.kind not in events.NO_FEEDBACK_KINDS]


def _in_chunks(ids: list[uuid.UUID], size: int = 500) -> Iterable[list[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _requests(ctx: Context) -> dict[uuid.UUID, list[Any]]:
    return _per_session(ctx, KpiFeedbackRequest, "requested_on")


def _responses(ctx: Context) -> dict[uuid.UUID, list[Any]]:
    return _per_session(ctx, KpiFeedbackResponse, "received_on", *RATINGS)


def _per_session(
    ctx: Context, model: type[FeedbackRows], dated: str, *columns: str
) -> dict[uuid.UUID, list[Any]]:
    """The rows of `model` about the sessions asked for feedback, per session, those dated (column
    `dated`) after D left out (`_counts_until`); loaded once per answer."""

    def load() -> dict[uuid.UUID, list[Any]]:
        ids = [s.session_id for s in asked_sessions(ctx)]
        session_of = {ctx.raw_key(i): i for i in ids}
        per_session: dict[uuid.UUID, list[Any]] = defaultdict(list)
        statement = _of_sessions(model, dated, *columns)
        for chunk in _in_chunks(ids):
            for row in ctx.session.execute(statement, {"ids": chunk}):
                if _counts_until(ctx, getattr(row, dated)):
                    per_session[session_of[row.subject_id]].append(row)
        return per_session

    return ctx.memo(f"feedback.{model.__tablename__}", load)


@cache
def _of_sessions(model: type[FeedbackRows], dated: str, *columns: str) -> Executable:
    """Requests and responses are read as rows of the columns used (attribute access as on the model),
    not as ORM objects: building an instance per row cost more than the query. Their ids as the driver
    gives them (raw_id): request ids are only matched with the responses'."""
    return select(
        raw_id(col(model.request_id)).label("request_id"),
        raw_id(col(model.subject_id)).label("subject_id"),
        *(col(getattr(model, name)) for name in (dated, *columns)),
    ).where(col(model.subject_type) == "session", among(col(model.subject_id)))


def _per_kind(ctx: Context) -> dict[str, list[HeldSession]]:
    kinds: dict[str, list[HeldSession]] = defaultdict(list)
    for held in asked_sessions(ctx):
        kinds[held.kind].append(held)
    return dict(sorted(kinds.items()))


def requested(ctx: Context) -> Computed:
    """feedback-gevraagd: % of the sessions held with at least one feedback request."""
    by_session = _requests(ctx)

    def figures(sessions: list[HeldSession]) -> tuple[int, int]:
        return sum(1 for s in sessions if by_session.get(s.session_id)), len(sessions)

    items = []
    for kind, sessions in _per_kind(ctx).items():
        asked, total = figures(sessions)
        items.append(
            {
                "session_kind": kind,
                "sessions": total,
                "sessions_asked": asked,
                "value": _percentage(asked, total),
            }
        )
    asked, total = figures(asked_sessions(ctx))
    return Computed(_percentage(asked, total), items)


def response_rate(ctx: Context) -> Computed:
    """feedback-respons: % of the requests for those sessions answered by a feedback.received."""
    by_session = _requests(ctx)
    answered_ids = {
        r.request_id for rows in _responses(ctx).values() for r in rows if r.request_id is not None
    }

    def figures(sessions: list[HeldSession]) -> tuple[int, int]:
        ids = [r.request_id for s in sessions for r in by_session.get(s.session_id, [])]
        return sum(1 for i in ids if i in answered_ids), len(ids)

    items = []
    for kind, sessions in _per_kind(ctx).items():
        answered, total = figures(sessions)
        items.append(
            {
                "session_kind": kind,
                "requests": total,
                "answered": answered,
                "value": _percentage(answered, total),
            }
        )
    answered, total = figures(asked_sessions(ctx))
    return Computed(_percentage(answered, total), items)


def _answers(ctx: Context, sessions: list[HeldSession], question: str) -> list[int]:
    responses = _responses(ctx)
    values = (getattr(r, question) for s in sessions for r in responses.get(s.session_id, []))
    return [v for v in values if v is not None]


def satisfaction(ctx: Context) -> Computed:
    """feedback-tevredenheid: mean satisfaction (1–5) of the feedback on those sessions, 2 decimals."""
    items: list[dict[str, Any]] = []
    for kind, sessions in _per_kind(ctx).items():
        values = _answers(ctx, sessions, "satisfaction")
        items.append(
            {
                "session_kind": kind,
                "answers": len(values),
                "value": _ratio(sum(values), len(values), 2) if values else None,
            }
        )
    values = _answers(ctx, asked_sessions(ctx), "satisfaction")
    return Computed(_ratio(sum(values), len(values), 2), items)


def _agreeing(question: str) -> Callable[[Context], Computed]:
    """% of the answers to a statement that are 4 or 5."""

    def compute(ctx: Context) -> Computed:
        items: list[dict[str, Any]] = []
        for kind, sessions in _per_kind(ctx).items():
            values = _answers(ctx, sessions, question)
            agree = sum(1 for v in values if v >= 4)
            items.append(
                {
                    "session_kind": kind,
                    "answers": len(values),
                    "agree": agree,
                    "value": _percentage(agree, len(values)),
                }
            )
        values = _answers(ctx, asked_sessions(ctx), question)
        return Computed(_percentage(sum(1 for v in values if v >= 4), len(values)), items)

    compute.__doc__ = f"% of the answers to {question!r} on those sessions that are 4 or 5."
    return compute


@cache
def _surveys_closed_in_period() -> Executable:
    return select(KpiSurvey).where(within(col(KpiSurvey.closed_on)))


def user_surveys(ctx: Context) -> Computed:
    """OD3.1-bevraging: user surveys closed in the year with at least one answer from a local
    government; items: those surveys."""
    rows = ctx.session.execute(_surveys_closed_in_period(), ctx.bounds).scalars()
    items = [
        {
            "survey_id": str(s.survey_id),
            "title": s.title,
            "topic": s.topic,
            "opened_on": s.opened_on.isoformat() if s.opened_on else None,
            "closed_on": s.closed_on.isoformat() if s.closed_on else None,
            "responses": s.responses,
            "local_government_responses": s.local_government_responses,
        }
        for s in sorted(rows, key=lambda s: (s.closed_on or date.min, str(s.survey_id)))
        if (s.local_government_responses or 0) >= 1
    ]
    return Computed(len(items), items)


KPIS: dict[str, Callable[[Context], Computed]] = {
    "OD3.1-bevraging": user_surveys,
    "feedback-gevraagd": requested,
    "feedback-respons": response_rate,
    "feedback-tevredenheid": satisfaction,
    "feedback-gemotiveerd": _agreeing("motivated"),
    "feedback-zelf-realiseren": _agreeing("able_to_act"),
}
