"""HTTP routes for staff: requests and their links, paper forms, the comments of a session, and the
user surveys (OD 3.1). The public pages people answer on are in pages.py."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import func, select
from sqlmodel import Session, col

from services.feedback import domain, handlers, queries
from services.feedback.handlers import Invited
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import FbRequest, FbResponse, FbSession, FbSurvey, FbSurveyAnswer
from shared import events
from shared.auth import READERS, STAFF, Principal, require
from shared.errors import NotFound
from shared.text import BusinessDate, Line, multi_line
from shared.uow import UnitOfWork, unit_of_work
from shared.web import Page, SessionDep

Rating = Annotated[int, Field(ge=1, le=5)]
Title = Line
Comment = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=domain.COMMENT_MAX), AfterValidator(multi_line)
]
Introduction = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(multi_line)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaperForm(Strict):
    """One paper form typed in by staff; a question left blank on paper stays empty."""

    satisfaction: Rating | None = None
    usefulness: Rating | None = None
    motivated: Rating | None = None
    able_to_act: Rating | None = None
    comment: Comment | None = None
    received_on: BusinessDate | None = Field(default=None, description="defaults to today")

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
    tool_id: uuid.UUID | None = Field(
        default=None,
        description="a tool or handbook of the catalogue (OD 3.1) the question is about; it must exist and "
        "not be retired (422 otherwise); its title is shown with the question",
    )

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
    introduction: Introduction | None = None
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
    created_by: str | None = Field(description="who opened it; staff and admin only")


class Invitations(Strict):
    member_ids: list[uuid.UUID] = Field(default_factory=list, max_length=5000)
    local_government_members: bool = Field(
        default=False, description="also invite every active member at a local government or ISV"
    )


class CloseSurvey(Strict):
    closed_on: BusinessDate | None = Field(default=None, description="defaults to today")


def _settings(request: Request) -> FeedbackSettings:
    settings: FeedbackSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[FeedbackSettings, Depends(_settings)]
Staff = Annotated[Principal, Depends(require(*STAFF))]
Reader = Annotated[Principal, Depends(require(*READERS))]
StaffWork = Annotated[UnitOfWork, Depends(unit_of_work(*STAFF))]

router = APIRouter()
# sessions in one GET /sessions/summaries: a page of the back office's feedback list (25) with room,
# and a query string well under what a server reads in a request line
MAX_SUMMARIES = 100


def who_did(subject: str, reader: Principal) -> str | None:
    """Who did it, for staff and admin; nobody else reads staff addresses."""
    return subject if reader.role in STAFF else None


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


def _request_read(
    session: Session, settings: FeedbackSettings, request: FbRequest, answered: bool
) -> RequestRead:
    link = None
    if request.member_id is None:
        link = queries.feedback_link(settings, request.id)
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
    return _request_read(session, settings, request, queries.answered(session, request))


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
    uow: UnitOfWork, subject_type: domain.SubjectType, subject_id: uuid.UUID, body: PaperForm
) -> ResponseRead:
    command = handlers.EnterPaperForm(
        subject_type=subject_type,
        subject_id=subject_id,
        ratings={name: getattr(body, name) for name in domain.RATING_QUESTIONS},
        comment=body.comment,
        received_on=body.received_on,
    )
    return uow.commit(_response_read(handlers.enter_paper_form(command, uow)))


@router.post("/sessions/{session_id}/responses", status_code=status.HTTP_201_CREATED, tags=["responses"])
def enter_session_paper_form(session_id: uuid.UUID, body: PaperForm, uow: StaffWork) -> ResponseRead:
    return _paper(uow, "session", session_id, body)


@router.post(
    "/support-trajectories/{trajectory_id}/responses", status_code=status.HTTP_201_CREATED, tags=["responses"]
)
def enter_trajectory_paper_form(trajectory_id: uuid.UUID, body: PaperForm, uow: StaffWork) -> ResponseRead:
    return _paper(uow, "support_trajectory", trajectory_id, body)


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


def _summaries(session: Session, session_ids: list[uuid.UUID]) -> dict[uuid.UUID, SessionSummary]:
    """The summaries of the sessions this service knows among `session_ids`, in three queries whatever
    their number (the back office's feedback list shows a page of sessions at once)."""
    asked = select(FbSession).where(col(FbSession.session_id).in_(session_ids))
    rows = session.execute(asked).scalars().all()
    if not rows:
        return {}
    known = [row.session_id for row in rows]
    counted = session.execute(
        select(col(FbRequest.subject_id), func.count())
        .where(col(FbRequest.subject_type) == "session", col(FbRequest.subject_id).in_(known))
        .group_by(col(FbRequest.subject_id))
    ).tuples()
    request_counts = {subject_id: int(count) for subject_id, count in counted}  # (a Result has keys())
    responses: dict[uuid.UUID, list[FbResponse]] = {}
    for response in session.execute(
        select(FbResponse).where(
            col(FbResponse.subject_type) == "session", col(FbResponse.subject_id).in_(known)
        )
    ).scalars():
        responses.setdefault(response.subject_id, []).append(response)
    summaries = {}
    for row in rows:
        answers = responses.get(row.session_id, [])
        mean: dict[str, float | None] = {}
        for name in domain.RATING_QUESTIONS:
            values = [v for v in (getattr(r, name) for r in answers) if v is not None]
            mean[name] = round(sum(values) / len(values), 2) if values else None
        summaries[row.session_id] = SessionSummary(
            session_id=row.session_id,
            kind=row.kind,
            title=row.title,
            held_on=row.held_on,
            requests=request_counts.get(row.session_id, 0),
            responses=len(answers),
            answered_requests=sum(1 for r in answers if r.request_id is not None),
            mean=mean,
        )
    return summaries


@router.get("/sessions/summaries", tags=["responses"])
def session_summaries(
    session: SessionDep,
    _who: Reader,
    ids: Annotated[
        list[uuid.UUID], Query(min_length=1, max_length=MAX_SUMMARIES, description="the sessions")
    ],
) -> list[SessionSummary]:
    """The summaries of many sessions in one request, in the order asked; a session this service does
    not know (yet) is left out, where GET /sessions/{id}/summary answers 404."""
    found = _summaries(session, ids)
    return [found[i] for i in dict.fromkeys(ids) if i in found]


@router.get("/sessions/{session_id}/summary", tags=["responses"])
def session_summary(session_id: uuid.UUID, session: SessionDep, _who: Reader) -> SessionSummary:
    found = _summaries(session, [session_id]).get(session_id)
    if found is None:
        raise NotFound(f"no session with id {session_id} is known to the feedback service (yet)")
    return found


# --- user surveys (OD 3.1) ----------------------------------------------------------------------


def _survey(session: Session, survey_id: uuid.UUID) -> FbSurvey:
    survey = session.get(FbSurvey, survey_id)
    if survey is None:
        raise NotFound(f"no survey with id {survey_id}")
    return survey


def _survey_read(session: Session, survey: FbSurvey, reader: Principal) -> SurveyRead:
    if survey.closed_on is not None:
        responses, local = survey.responses or 0, survey.local_government_responses
    else:
        responses, local = queries.survey_counts(session, survey)
    return SurveyRead(
        id=survey.id,
        title=survey.title,
        topic=survey.topic,
        introduction=survey.introduction,
        questions=survey.questions,
        opened_on=survey.opened_on,
        closed_on=survey.closed_on,
        invited=queries.invited_count(session, survey.id),
        responses=responses,
        local_government_responses=local,
        created_by=who_did(survey.created_by, reader),
    )


@router.post("/surveys", status_code=status.HTTP_201_CREATED, tags=["surveys"])
def open_survey(body: SurveyCreate, uow: StaffWork) -> SurveyRead:
    command = handlers.OpenSurvey.model_validate(body.model_dump())
    survey = handlers.open_survey(command, uow)
    return uow.commit(_survey_read(uow.session, survey, uow.actor))


@router.get("/surveys", tags=["surveys"])
def list_surveys(
    session: SessionDep,
    who: Reader,
    state: Literal["open", "closed", "all"] = "all",
) -> list[SurveyRead]:
    stmt = select(FbSurvey)
    if state == "open":
        stmt = stmt.where(col(FbSurvey.closed_on).is_(None))
    elif state == "closed":
        stmt = stmt.where(col(FbSurvey.closed_on).is_not(None))
    rows = session.execute(stmt.order_by(col(FbSurvey.opened_on).desc())).scalars()
    return [_survey_read(session, s, who) for s in rows]


@router.get("/surveys/{survey_id}", tags=["surveys"])
def get_survey(survey_id: uuid.UUID, session: SessionDep, who: Reader) -> SurveyRead:
    return _survey_read(session, _survey(session, survey_id), who)


@router.post("/surveys/{survey_id}/invitations", tags=["surveys"])
def invite_to_survey(survey_id: uuid.UUID, body: Invitations, uow: StaffWork) -> Invited:
    """Each member invited gets a personal link by mail (the newsletter service sends it on
    feedback.requested); a member invited before is not invited twice."""
    command = handlers.InviteToSurvey(survey_id=survey_id, **body.model_dump())
    return uow.commit(handlers.invite_to_survey(command, uow))


@router.post("/surveys/{survey_id}/close", tags=["surveys"])
def close_survey(survey_id: uuid.UUID, body: CloseSurvey, uow: StaffWork) -> SurveyRead:
    survey = handlers.close_survey(handlers.CloseSurvey(survey_id=survey_id, closed_on=body.closed_on), uow)
    return uow.commit(_survey_read(uow.session, survey, uow.actor))


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
