"""Use cases shared by the staff API and the public pages: recording an answer, inviting to and
closing a user survey. Each writes its state and its event in the caller's transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from services.feedback import domain
from services.feedback.tables import (
    FbMember,
    FbOrganisation,
    FbRequest,
    FbResponse,
    FbSurvey,
    FbSurveyAnswer,
)
from shared import events, links
from shared.outbox import Outbox
from shared.settings import Settings


class AlreadyAnswered(Exception):
    """This link has been used before: one answer per link."""


def feedback_link(settings: Settings, request_id: uuid.UUID) -> str:
    token = links.make_token(settings.link_secret.get_secret_value(), "feedback", str(request_id))
    return f"{settings.feedback_public_url.rstrip('/')}/feedback/{token}"


def survey_link(settings: Settings, request_id: uuid.UUID) -> str:
    token = links.make_token(settings.link_secret.get_secret_value(), "survey", str(request_id))
    return f"{settings.feedback_public_url.rstrip('/')}/survey/{token}"


def request_from_token(session: Session, settings: Settings, purpose: links.Purpose, token: str) -> FbRequest:
    """The request a personal link was made for; BadLink when it is not one of ours."""
    if not token.isascii():  # links.read_token's compare_digest raises TypeError on non-ASCII text
        raise links.BadLink("malformed link")
    identifier = links.read_token(settings.link_secret.get_secret_value(), purpose, token)
    try:
        request_id = uuid.UUID(identifier)
    except ValueError:
        raise links.BadLink("malformed link") from None
    request = session.get(FbRequest, request_id)
    if request is None:
        raise links.BadLink("no such request")
    return request


def answered(session: Session, request: FbRequest) -> bool:
    if request.subject_type == "survey":
        found = session.execute(
            select(col(FbSurveyAnswer.id)).where(col(FbSurveyAnswer.request_id) == request.id)
        ).first()
    else:
        found = session.execute(
            select(col(FbResponse.id)).where(col(FbResponse.request_id) == request.id)
        ).first()
    return found is not None


def record_response(
    session: Session,
    outbox: Outbox,
    *,
    subject_type: domain.SubjectType,
    subject_id: uuid.UUID,
    answer: domain.Answer,
    request_id: uuid.UUID | None = None,
    received_on: date | None = None,
    entered_by: str | None = None,
) -> FbResponse:
    """Store an answer to the standard questions and publish feedback.received (without its text)."""
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
    outbox.add(
        session,
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
        ),
        actor=entered_by,
    )
    return response


# --- user surveys -------------------------------------------------------------------------------


def questions_of(survey: FbSurvey) -> list[domain.SurveyQuestion]:
    return [
        domain.SurveyQuestion(
            key=q["key"],
            text=q["text"],
            kind=q["kind"],
            required=q["required"],
            options=tuple(q.get("options", ())),
        )
        for q in survey.questions
    ]


def local_government_members(session: Session) -> list[uuid.UUID]:
    """Active members whose organisation is a local government or ISV, by this service's own copy."""
    rows = session.execute(
        select(col(FbMember.member_id))
        .join(FbOrganisation, col(FbOrganisation.organisation_id) == col(FbMember.organisation_id))
        .where(
            col(FbMember.active).is_(True),
            col(FbMember.erased).is_(False),
            col(FbOrganisation.kind).in_(sorted(events.LOCAL_GOVERNMENT_KINDS)),
        )
    ).scalars()
    return sorted(rows, key=str)


@dataclass
class Invited:
    invited: list[uuid.UUID]
    already_invited: list[uuid.UUID]
    erased: list[uuid.UUID] = field(default_factory=list)


def invite(
    session: Session, outbox: Outbox, survey: FbSurvey, member_ids: Iterable[uuid.UUID], actor: str
) -> Invited:
    """One personal survey link per member; a member invited before is not invited again, and an
    erased member not at all (nobody can reach the person)."""
    now = datetime.now(UTC)
    result = Invited([], [])
    for member_id in dict.fromkeys(member_ids):
        member = session.get(FbMember, member_id)
        if member is not None and member.erased:
            result.erased.append(member_id)
            continue
        rid = domain.request_id("survey", survey.id, str(member_id))
        if session.get(FbRequest, rid) is not None:
            result.already_invited.append(member_id)
            continue
        request = FbRequest(
            id=rid,
            subject_type="survey",
            subject_id=survey.id,
            participant_key=str(member_id),
            member_id=member_id,
            requested_at=now,
            requested_on=domain.business_date(now),
        )
        session.add(request)
        outbox.add(
            session,
            events.FeedbackRequested(
                request_id=rid,
                subject_type="survey",
                subject_id=survey.id,
                member_id=member_id,
                requested_on=request.requested_on,
            ),
            actor=actor,
        )
        result.invited.append(member_id)
    return result


def record_survey_answer(
    session: Session, outbox: Outbox, survey: FbSurvey, request: FbRequest, answers: dict[str, int | str]
) -> FbSurveyAnswer:
    if answered(session, request):
        raise AlreadyAnswered()
    member = session.get(FbMember, request.member_id) if request.member_id else None
    answer = FbSurveyAnswer(
        survey_id=survey.id,
        request_id=request.id,
        member_id=request.member_id,
        organisation_id=member.organisation_id if member else None,
        answers=answers,
        received_on=domain.today(),
    )
    session.add(answer)
    texts = {q.key for q in questions_of(survey) if q.kind == "text"}
    outbox.add(
        session,
        events.FeedbackReceived(
            response_id=answer.id,
            request_id=request.id,
            subject_type="survey",
            subject_id=survey.id,
            has_comment=any(key in answers for key in texts),
            received_on=answer.received_on,
        ),
    )
    return answer


def survey_counts(session: Session, survey: FbSurvey) -> tuple[int, int]:
    """Answers, and answers from members at a local government or ISV. Where the member was when
    answering counts; if that was not known then, where the member is now."""
    answers = list(
        session.execute(select(FbSurveyAnswer).where(col(FbSurveyAnswer.survey_id) == survey.id)).scalars()
    )
    kinds = {o.organisation_id: o.kind for o in session.execute(select(FbOrganisation)).scalars()}
    local = 0
    for answer in answers:
        organisation_id = answer.organisation_id
        if organisation_id is None and answer.member_id is not None:
            member = session.get(FbMember, answer.member_id)
            organisation_id = member.organisation_id if member else None
        if domain.is_local_government(kinds.get(organisation_id) if organisation_id else None):
            local += 1
    return len(answers), local


def close_survey(session: Session, outbox: Outbox, survey: FbSurvey, closed_on: date, actor: str) -> None:
    responses, local = survey_counts(session, survey)
    survey.closed_on, survey.responses, survey.local_government_responses = closed_on, responses, local
    session.add(survey)
    outbox.add(
        session,
        events.SurveyClosed(
            survey_id=survey.id, closed_on=closed_on, responses=responses, local_government_responses=local
        ),
        actor=actor,
    )


def invited_count(session: Session, survey_id: uuid.UUID) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(FbRequest)
            .where(
                col(FbRequest.subject_type) == "survey",
                col(FbRequest.subject_id) == survey_id,
            )
        ).scalar_one()
    )
