"""The feedback service's use cases: one typed command and one handler each, run in a unit of work.

The staff API (api.py) and the public pages (pages.py) call these; a page acts as `PUBLIC`, a
pseudonymous actor, because the person behind a personal link never logs in. A handler checks,
changes rows and publishes its events; the caller ends with `uow.commit(read_model)`. The rules
checked live in domain.py; what is only read lives in queries.py.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlmodel import Session, col

from services.feedback import domain, queries
from services.feedback.tables import (
    FbMember,
    FbRequest,
    FbResponse,
    FbSession,
    FbSurvey,
    FbSurveyAnswer,
    FbTool,
    FbTrajectory,
)
from shared import events
from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound
from shared.uow import UnitOfWork

# who answers through a personal link: nobody logged in, and no name or address in any event
PUBLIC = Principal(subject="public", role="viewer")


class AlreadyAnswered(Exception):
    """This link has been used before: one answer per link."""


# --- answers ------------------------------------------------------------------------------------


class EnterPaperForm(BaseModel):
    """Staff type in a paper form about a session or a support trajectory."""

    subject_type: domain.SubjectType
    subject_id: uuid.UUID
    ratings: dict[str, int | None]
    comment: str | None = None
    received_on: date | None = None


class AnswerFeedback(BaseModel):
    """A person answers the standard questions through the personal link of `request_id`."""

    request_id: uuid.UUID
    ratings: dict[str, int | None]
    comment: str | None = None


def enter_paper_form(command: EnterPaperForm, uow: UnitOfWork) -> FbResponse:
    if command.subject_type == "session" and uow.session.get(FbSession, command.subject_id) is None:
        raise NotFound(f"no session with id {command.subject_id} is known to the feedback service (yet)")
    if (
        command.subject_type == "support_trajectory"
        and uow.session.get(FbTrajectory, command.subject_id) is None
    ):
        raise NotFound(
            f"no support trajectory with id {command.subject_id} is known to the feedback service (yet)"
        )
    return _record_response(
        uow,
        subject_type=command.subject_type,
        subject_id=command.subject_id,
        answer=domain.Answer(ratings=command.ratings, comment=command.comment or None),
        received_on=domain.not_in_future(command.received_on, "received_on"),
        entered_by=uow.actor.subject,
    )


def answer_feedback(command: AnswerFeedback, uow: UnitOfWork) -> FbResponse:
    """AlreadyAnswered when the link was used before (the page answers kindly)."""
    request = uow.session.get(FbRequest, command.request_id)
    if request is None:
        raise NotFound(f"no feedback request with id {command.request_id}")
    return _record_response(
        uow,
        subject_type=request.subject_type,  # type: ignore[arg-type]
        subject_id=request.subject_id,
        answer=domain.Answer(ratings=command.ratings, comment=command.comment),
        request_id=request.id,
    )


def _record_response(
    uow: UnitOfWork,
    *,
    subject_type: domain.SubjectType,
    subject_id: uuid.UUID,
    answer: domain.Answer,
    request_id: uuid.UUID | None = None,
    received_on: date | None = None,
    entered_by: str | None = None,
) -> FbResponse:
    """Store an answer to the standard questions and publish feedback.received (without its text)."""
    session = uow.session
    if (
        request_id is not None
        and session.execute(
            select(col(FbResponse.id)).where(col(FbResponse.request_id) == request_id)
        ).first()
    ):
        raise AlreadyAnswered()
    response = FbResponse(
        request_id=request_id,
        subject_type=subject_type,
        subject_id=subject_id,
        satisfaction=answer.ratings.get("satisfaction"),
        usefulness=answer.ratings.get("usefulness"),
        motivated=answer.ratings.get("motivated"),
        able_to_act=answer.ratings.get("able_to_act"),
        comment=answer.comment,
        received_on=received_on or domain.today(),
        entered_by=entered_by,
    )
    session.add(response)
    uow.publish(
        events.FeedbackReceived(
            response_id=response.id,
            request_id=request_id,
            subject_type=subject_type,
            subject_id=subject_id,
            satisfaction=response.satisfaction,
            usefulness=response.usefulness,
            motivated=response.motivated,
            able_to_act=response.able_to_act,
            has_comment=response.comment is not None,
            received_on=response.received_on,
        )
    )
    return response


# --- user surveys (OD 3.1) ----------------------------------------------------------------------


class Question(BaseModel):
    text: str
    kind: domain.QuestionKind = "rating"
    required: bool = True
    options: list[str] = Field(default_factory=list)
    tool_id: uuid.UUID | None = None  # a tool of the catalogue the question is about


class OpenSurvey(BaseModel):
    title: str
    topic: str
    introduction: str | None = None
    questions: list[Question]


class InviteToSurvey(BaseModel):
    survey_id: uuid.UUID
    member_ids: list[uuid.UUID] = Field(default_factory=list)
    local_government_members: bool = False


class Invited(BaseModel):
    invited: list[uuid.UUID] = Field(default_factory=list)
    already_invited: list[uuid.UUID] = Field(default_factory=list)
    erased: list[uuid.UUID] = Field(default_factory=list, description="not invited: their data was erased")


class CloseSurvey(BaseModel):
    survey_id: uuid.UUID
    closed_on: date | None = None


class AnswerSurvey(BaseModel):
    request_id: uuid.UUID
    answers: dict[str, int | str]


def survey(uow: UnitOfWork, survey_id: uuid.UUID) -> FbSurvey:
    found = uow.session.get(FbSurvey, survey_id)
    if found is None:
        raise NotFound(f"no survey with id {survey_id}")
    return found


def _tool_asked_about(session: Session, tool_id: uuid.UUID, where: str) -> FbTool:
    """A tool a question may name: known from the catalogue's events, and not retired."""
    tool = session.get(FbTool, tool_id)
    if tool is None or not tool.published:
        raise Invalid(where, f"no tool with id {tool_id} in the catalogue")
    if tool.retired_on is not None:
        raise Invalid(where, f"the tool was retired on {tool.retired_on.isoformat()}: ask about another one")
    return tool


def open_survey(command: OpenSurvey, uow: UnitOfWork) -> FbSurvey:
    """A question may name a tool of the catalogue (422 if it is unknown or retired); the title it had
    then is kept with the question, so the survey reads the same whatever the catalogue does later."""
    questions: list[dict[str, Any]] = []
    for n, q in enumerate(command.questions, start=1):
        question: dict[str, Any] = {
            "key": f"q{n}",
            "text": q.text,
            "kind": q.kind,
            "required": q.required,
            "options": list(q.options),
        }
        if q.tool_id is not None:
            tool = _tool_asked_about(uow.session, q.tool_id, f"questions.{n - 1}.tool_id")
            question |= {"tool_id": str(tool.tool_id), "tool_title": tool.title}
        questions.append(question)
    opened = FbSurvey(
        title=command.title,
        topic=command.topic,
        introduction=command.introduction or None,
        questions=questions,
        opened_on=domain.today(),
        created_by=uow.actor.subject,
    )
    uow.session.add(opened)
    uow.publish(
        events.SurveyOpened(
            survey_id=opened.id, title=opened.title, topic=opened.topic, opened_on=opened.opened_on
        )
    )
    return opened


def invite_to_survey(command: InviteToSurvey, uow: UnitOfWork) -> Invited:
    """One personal survey link per member (the newsletter service mails it on feedback.requested);
    a member invited before is not invited again, and an erased member not at all (nobody can reach
    the person)."""
    session = uow.session
    invited_to = survey(uow, command.survey_id)
    if invited_to.closed_on is not None:
        raise Conflict("this survey is closed: nobody can be invited any more")
    member_ids = list(command.member_ids)
    if command.local_government_members:
        member_ids += queries.local_government_members(session)
    if not member_ids:
        raise Invalid("member_ids", "name at least one member, or set local_government_members")
    now = datetime.now(UTC)
    result = Invited()
    for member_id in dict.fromkeys(member_ids):
        member = session.get(FbMember, member_id)
        if member is not None and member.erased:
            result.erased.append(member_id)
            continue
        rid = domain.request_id("survey", invited_to.id, str(member_id))
        if session.get(FbRequest, rid) is not None:
            result.already_invited.append(member_id)
            continue
        request = FbRequest(
            id=rid,
            subject_type="survey",
            subject_id=invited_to.id,
            participant_key=str(member_id),
            member_id=member_id,
            requested_at=now,
            requested_on=domain.business_date(now),
        )
        session.add(request)
        uow.publish(
            events.FeedbackRequested(
                request_id=rid,
                subject_type="survey",
                subject_id=invited_to.id,
                member_id=member_id,
                requested_on=request.requested_on,
            )
        )
        result.invited.append(member_id)
    return result


def close_survey(command: CloseSurvey, uow: UnitOfWork) -> FbSurvey:
    closing = survey(uow, command.survey_id)
    if closing.closed_on is not None:
        raise Conflict(f"this survey was closed on {closing.closed_on.isoformat()}")
    closed_on = domain.not_in_future(command.closed_on, "closed_on")
    if closed_on < closing.opened_on:
        raise Invalid("closed_on", f"lies before the survey opened ({closing.opened_on.isoformat()})")
    responses, local = queries.survey_counts(uow.session, closing)
    closing.closed_on, closing.responses, closing.local_government_responses = closed_on, responses, local
    uow.session.add(closing)
    uow.publish(
        events.SurveyClosed(
            survey_id=closing.id, closed_on=closed_on, responses=responses, local_government_responses=local
        )
    )
    return closing


def answer_survey(command: AnswerSurvey, uow: UnitOfWork) -> FbSurveyAnswer:
    """AlreadyAnswered when the invitation was used before."""
    session = uow.session
    request = session.get(FbRequest, command.request_id)
    if request is None or request.subject_type != "survey":
        raise NotFound(f"no survey invitation with id {command.request_id}")
    answered_survey = survey(uow, request.subject_id)
    if queries.answered(session, request):
        raise AlreadyAnswered()
    member = session.get(FbMember, request.member_id) if request.member_id else None
    answer = FbSurveyAnswer(
        survey_id=answered_survey.id,
        request_id=request.id,
        member_id=request.member_id,
        organisation_id=member.organisation_id if member else None,
        answers=command.answers,
        received_on=domain.today(),
    )
    session.add(answer)
    texts = {q.key for q in queries.questions_of(answered_survey) if q.kind == "text"}
    uow.publish(
        events.FeedbackReceived(
            response_id=answer.id,
            request_id=request.id,
            subject_type="survey",
            subject_id=answered_survey.id,
            has_comment=any(key in command.answers for key in texts),
            received_on=answer.received_on,
        )
    )
    return answer
