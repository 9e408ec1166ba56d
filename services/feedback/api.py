"""HTTP routes for staff: requests and their links, paper forms, the comments of a session, and the
user surveys (OD 3.1). The public pages people answer on are in pages.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import func, select
from sqlmodel import Session, col

from services.feedback import actions, domain
from services.feedback.tables import FbRequest, FbResponse, FbSession, FbSurvey, FbSurveyAnswer, FbTrajectory
from shared import events
from shared.auth import READERS, STAFF, Principal, require
from shared.errors import Conflict, Invalid, NotFound
from shared.outbox import Outbox
from shared.settings import Settings
from shared.web import OutboxDep, Page, SessionDep

T = TypeVar("T")

Rating = Annotated[int, Field(ge=1, le=5)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Comment = Annotated[str, StringConstraints(strip_whitespace=True, max_length=domain.COMMENT_MAX)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaperForm(Strict):
    """One paper form typed in by staff; a question left blank on paper stays empty."""

    satisfaction: Rating | None = None
    usefulness: Rating | None = None
    motivated: Rating | None = None
    able_to_act: Rating | None = None
    comment: Comment | None = None
    received_on: date | None = Field(default=None, description="defaults to today")

    @model_validator(mode="after")
    def _something_answered(self) -> PaperForm:
        if all(getattr(self, name) is None for name in domain.RATING_QUESTIONS) and not self.comment:
            raise ValueError("a paper form needs at least one rating or a comment")
        return self


class ResponseRead(BaseModel):
    id: uuid.UUID
    request_id: uuid.UUID | None
    subject_type: str
    subject_id: uuid.UUID
    satisfaction: int | None
    usefulness: int | None
    motivated: int | None
    able_to_act: int | None
    has_comment: bool
    received_on: date
    entered_by: str | None


class RequestRead(BaseModel):
    id: uuid.UUID
    subject_type: str
    subject_id: uuid.UUID
    member_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    requested_on: date
    expires_at: datetime
    answered: bool
    link: str | None = Field(
        description="the personal link, for staff to pass on; only where no member receives it by mail"
    )


class Comments(BaseModel):
    session_id: uuid.UUID
    comments: list[dict[str, Any]]


class SessionSummary(BaseModel):
    session_id: uuid.UUID
    kind: str | None
    title: str | None
    held_on: date | None
    requests: int
    responses: int
    answered_requests: int
    mean: dict[str, float | None]


class QuestionIn(Strict):
    text: Title
    kind: domain.QuestionKind = "rating"
    required: bool = True
    options: list[Title] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _options_fit_kind(self) -> QuestionIn:
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError("a choice question needs at least two options")
        if self.kind != "choice" and self.options:
            raise ValueError("only a choice question has options")
        return self


class SurveyCreate(Strict):
    title: Title
    topic: Title
    introduction: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    questions: list[QuestionIn] = Field(min_length=1, max_length=50)


class SurveyRead(BaseModel):
    id: uuid.UUID
    title: str
    topic: str
    introduction: str | None
    questions: list[dict[str, Any]]
    opened_on: date
    closed_on: date | None
    invited: int
    responses: int
    local_government_responses: int | None


class Invitations(Strict):
    member_ids: list[uuid.UUID] = Field(default_factory=list, max_length=5000)
    local_government_members: bool = Field(
        default=False, description="also invite every active member at a local government or ISV"
    )


class Invited(BaseModel):
    invited: list[uuid.UUID]
    already_invited: list[uuid.UUID]
    erased: list[uuid.UUID] = Field(default_factory=list, description="not invited: their data was erased")


class CloseSurvey(Strict):
    closed_on: date | None = Field(default=None, description="defaults to today")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(_settings)]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Reader = Annotated[Principal, Depends(require(*READERS))]

router = APIRouter()


def _not_future(day: date | None, field: str) -> date:
    if day is None:
        return domain.today()
    if day > domain.today():
        raise Invalid(field, "may not lie in the future")
    return day


# --- requests -----------------------------------------------------------------------------------


def _answered(session: Session, requests: list[FbRequest]) -> set[uuid.UUID]:
    """Which of these requests have been answered, in two queries whatever their number."""
    ids = [r.id for r in requests]
    found: set[uuid.UUID] = set()
    for model in (FbResponse, FbSurveyAnswer):
        column = col(model.request_id)
        found.update(
            i for i in session.execute(select(column).where(column.in_(ids))).scalars() if i is not None
        )
    return found


def _request_read(session: Session, settings: Settings, request: FbRequest, answered: bool) -> RequestRead:
    link = None
    if request.member_id is None:
        link = actions.feedback_link(settings, request.id)
    return RequestRead(
        id=request.id,
        subject_type=request.subject_type,
        subject_id=request.subject_id,
        member_id=request.member_id,
        organisation_id=request.organisation_id,
        requested_on=request.requested_on,
        expires_at=domain.expires_at(request.requested_at, settings.feedback_link_valid_days),
        answered=answered,
        link=link,
    )


@router.get("/requests", tags=["requests"])
def list_requests(
    session: SessionDep,
    settings: SettingsDep,
    _who: Staff,
    subject_type: events.FeedbackSubjectType | None = None,
    subject_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[RequestRead]:
    stmt = select(FbRequest)
    if subject_type:
        stmt = stmt.where(col(FbRequest.subject_type) == subject_type)
    if subject_id:
        stmt = stmt.where(col(FbRequest.subject_id) == subject_id)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(col(FbRequest.requested_at), col(FbRequest.id)).limit(limit).offset(offset)
    ).scalars()
    requests = list(rows)
    answered = _answered(session, requests)
    items = [_request_read(session, settings, r, r.id in answered) for r in requests]
    return Page[RequestRead](items=items, total=total, limit=limit, offset=offset)


@router.get("/requests/{request_id}", tags=["requests"])
def get_request(
    request_id: uuid.UUID, session: SessionDep, settings: SettingsDep, _who: Staff
) -> RequestRead:
    request = session.get(FbRequest, request_id)
    if request is None:
        raise NotFound(f"no feedback request with id {request_id}")
    return _request_read(session, settings, request, actions.answered(session, request))


# --- paper forms and what staff read ------------------------------------------------------------


def _response_read(response: FbResponse) -> ResponseRead:
    return ResponseRead(
        id=response.id,
        request_id=response.request_id,
        subject_type=response.subject_type,
        subject_id=response.subject_id,
        satisfaction=response.satisfaction,
        usefulness=response.usefulness,
        motivated=response.motivated,
        able_to_act=response.able_to_act,
        has_comment=response.comment is not None,
        received_on=response.received_on,
        entered_by=response.entered_by,
    )


def _paper(
    session: Session,
    outbox: Outbox,
    who: Principal,
    subject_type: domain.SubjectType,
    subject_id: uuid.UUID,
    body: PaperForm,
) -> ResponseRead:
    answer = domain.Answer(
        ratings={name: getattr(body, name) for name in domain.RATING_QUESTIONS}, comment=body.comment or None
    )
    response = actions.record_response(
        session,
        outbox,
        subject_type=subject_type,
        subject_id=subject_id,
        answer=answer,
        received_on=_not_future(body.received_on, "received_on"),
        entered_by=who.subject,
    )
    session.commit()
    return _response_read(response)


@router.post("/sessions/{session_id}/responses", status_code=status.HTTP_201_CREATED, tags=["responses"])
def enter_session_paper_form(
    session_id: uuid.UUID, body: PaperForm, session: SessionDep, outbox: OutboxDep, who: Staff
) -> ResponseRead:
    if session.get(FbSession, session_id) is None:
        raise NotFound(f"no session with id {session_id} is known to the feedback service (yet)")
    return _paper(session, outbox, who, "session", session_id, body)


@router.post(
    "/support-trajectories/{trajectory_id}/responses", status_code=status.HTTP_201_CREATED, tags=["responses"]
)
def enter_trajectory_paper_form(
    trajectory_id: uuid.UUID, body: PaperForm, session: SessionDep, outbox: OutboxDep, who: Staff
) -> ResponseRead:
    if session.get(FbTrajectory, trajectory_id) is None:
        raise NotFound(
            f"no support trajectory with id {trajectory_id} is known to the feedback service (yet)"
        )
    return _paper(session, outbox, who, "support_trajectory", trajectory_id, body)


@router.get("/sessions/{session_id}/comments", tags=["responses"])
def session_comments(session_id: uuid.UUID, session: SessionDep, _who: Staff) -> Comments:
    """The free text of a session's answers: staff only (viewers and partners see figures only)."""
    rows = session.execute(
        select(FbResponse)
        .where(
            col(FbResponse.subject_type) == "session",
            col(FbResponse.subject_id) == session_id,
            col(FbResponse.comment).is_not(None),
        )
        .order_by(col(FbResponse.received_at))
    ).scalars()
    comments = [
        {
            "response_id": str(r.id),
            "received_on": r.received_on.isoformat(),
            "comment": r.comment,
            "paper_form": r.request_id is None,
        }
        for r in rows
    ]
    return Comments(session_id=session_id, comments=comments)


@router.get("/sessions/{session_id}/summary", tags=["responses"])
def session_summary(session_id: uuid.UUID, session: SessionDep, _who: Reader) -> SessionSummary:
    row = session.get(FbSession, session_id)
    if row is None:
        raise NotFound(f"no session with id {session_id} is known to the feedback service (yet)")
    requests = session.execute(
        select(func.count())
        .select_from(FbRequest)
        .where(
            col(FbRequest.subject_type) == "session",
            col(FbRequest.subject_id) == session_id,
        )
    ).scalar_one()
    responses = list(
        session.execute(
            select(FbResponse).where(
                col(FbResponse.subject_type) == "session",
                col(FbResponse.subject_id) == session_id,
            )
        ).scalars()
    )
    mean: dict[str, float | None] = {}
    for name in domain.RATING_QUESTIONS:
        values = [v for v in (getattr(r, name) for r in responses) if v is not None]
        mean[name] = round(sum(values) / len(values), 2) if values else None
    return SessionSummary(
        session_id=session_id,
        kind=row.kind,
        title=row.title,
        held_on=row.held_on,
        requests=int(requests),
        responses=len(responses),
        answered_requests=sum(1 for r in responses if r.request_id is not None),
        mean=mean,
    )


# --- user surveys (OD 3.1) ----------------------------------------------------------------------


def _survey(session: Session, survey_id: uuid.UUID) -> FbSurvey:
    survey = session.get(FbSurvey, survey_id)
    if survey is None:
        raise NotFound(f"no survey with id {survey_id}")
    return survey


def _survey_read(session: Session, survey: FbSurvey) -> SurveyRead:
    if survey.closed_on is not None:
        responses, local = survey.responses or 0, survey.local_government_responses
    else:
        responses, local = actions.survey_counts(session, survey)
    return SurveyRead(
        id=survey.id,
        title=survey.title,
        topic=survey.topic,
        introduction=survey.introduction,
        questions=survey.questions,
        opened_on=survey.opened_on,
        closed_on=survey.closed_on,
        invited=actions.invited_count(session, survey.id),
        responses=responses,
        local_government_responses=local,
    )


@router.post("/surveys", status_code=status.HTTP_201_CREATED, tags=["surveys"])
def open_survey(body: SurveyCreate, session: SessionDep, outbox: OutboxDep, who: Staff) -> SurveyRead:
    questions = [
        {"key": f"q{n}", "text": q.text, "kind": q.kind, "required": q.required, "options": list(q.options)}
        for n, q in enumerate(body.questions, start=1)
    ]
    survey = FbSurvey(
        title=body.title,
        topic=body.topic,
        introduction=body.introduction or None,
        questions=questions,
        opened_on=domain.today(),
        created_by=who.subject,
    )
    session.add(survey)
    outbox.add(
        session,
        events.SurveyOpened(
            survey_id=survey.id, title=survey.title, topic=survey.topic, opened_on=survey.opened_on
        ),
        actor=who.subject,
    )
    session.commit()
    return _survey_read(session, survey)


@router.get("/surveys", tags=["surveys"])
def list_surveys(
    session: SessionDep,
    _who: Reader,
    state: Literal["open", "closed", "all"] = "all",
) -> list[SurveyRead]:
    stmt = select(FbSurvey)
    if state == "open":
        stmt = stmt.where(col(FbSurvey.closed_on).is_(None))
    elif state == "closed":
        stmt = stmt.where(col(FbSurvey.closed_on).is_not(None))
    rows = session.execute(stmt.order_by(col(FbSurvey.opened_on).desc())).scalars()
    return [_survey_read(session, s) for s in rows]


@router.get("/surveys/{survey_id}", tags=["surveys"])
def get_survey(survey_id: uuid.UUID, session: SessionDep, _who: Reader) -> SurveyRead:
    return _survey_read(session, _survey(session, survey_id))


@router.post("/surveys/{survey_id}/invitations", tags=["surveys"])
def invite_to_survey(
    survey_id: uuid.UUID, body: Invitations, session: SessionDep, outbox: OutboxDep, who: Staff
) -> Invited:
    """Each member invited gets a personal link by mail (the newsletter service sends it on
    feedback.requested); a member invited before is not invited twice."""
    survey = _survey(session, survey_id)
    if survey.closed_on is not None:
        raise Conflict("this survey is closed: nobody can be invited any more")
    member_ids = list(body.member_ids)
    if body.local_government_members:
        member_ids += actions.local_government_members(session)
    if not member_ids:
        raise Invalid("member_ids", "name at least one member, or set local_government_members")
    result = actions.invite(session, outbox, survey, member_ids, who.subject)
    session.commit()
    return Invited(invited=result.invited, already_invited=result.already_invited, erased=result.erased)


@router.post("/surveys/{survey_id}/close", tags=["surveys"])
def close_survey(
    survey_id: uuid.UUID, body: CloseSurvey, session: SessionDep, outbox: OutboxDep, who: Staff
) -> SurveyRead:
    survey = _survey(session, survey_id)
    if survey.closed_on is not None:
        raise Conflict(f"this survey was closed on {survey.closed_on.isoformat()}")
    closed_on = _not_future(body.closed_on, "closed_on")
    if closed_on < survey.opened_on:
        raise Invalid("closed_on", f"lies before the survey opened ({survey.opened_on.isoformat()})")
    actions.close_survey(session, outbox, survey, closed_on, who.subject)
    session.commit()
    return _survey_read(session, survey)


@router.get("/surveys/{survey_id}/answers", tags=["surveys"])
def survey_answers(survey_id: uuid.UUID, session: SessionDep, _who: Staff) -> list[dict[str, Any]]:
    """The answers themselves (free text included): staff only, and never with who gave them."""
    _survey(session, survey_id)
    rows = session.execute(
        select(FbSurveyAnswer)
        .where(col(FbSurveyAnswer.survey_id) == survey_id)
        .order_by(col(FbSurveyAnswer.received_at))
    ).scalars()
    return [{"received_on": a.received_on.isoformat(), "answers": a.answers} for a in rows]
