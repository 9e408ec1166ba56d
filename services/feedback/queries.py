"""What the feedback service reads for routes, pages and erasure: personal links and the request
behind one, whether a request was answered, the questions of a survey, and the figures of a survey.
Nothing here writes."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlmodel import Session, col

from services.feedback import domain
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import FbMember, FbOrganisation, FbRequest, FbResponse, FbSurvey, FbSurveyAnswer
from shared import events, links


def feedback_link(settings: FeedbackSettings, request_id: uuid.UUID) -> str:
    token = links.make_token(settings.link_secret.get_secret_value(), "feedback", str(request_id))
    return f"{settings.feedback_public_url.rstrip('/')}/feedback/{token}"


def survey_link(settings: FeedbackSettings, request_id: uuid.UUID) -> str:
    token = links.make_token(settings.link_secret.get_secret_value(), "survey", str(request_id))
    return f"{settings.feedback_public_url.rstrip('/')}/survey/{token}"


def request_from_token(
    session: Session, settings: FeedbackSettings, purpose: links.Purpose, token: str
) -> FbRequest:
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
    model = FbSurveyAnswer if request.subject_type == "survey" else FbResponse
    found = session.execute(select(col(model.id)).where(col(model.request_id) == request.id)).first()
    return found is not None


def questions_of(survey: FbSurvey) -> list[domain.SurveyQuestion]:
    return [
        domain.SurveyQuestion(
            key=q["key"],
            text=q["text"],
            kind=q["kind"],
            required=q["required"],
            options=tuple(q.get("options", ())),
            tool_title=q.get("tool_title"),
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


def invited_count(session: Session, survey_id: uuid.UUID) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(FbRequest)
            .where(col(FbRequest.subject_type) == "survey", col(FbRequest.subject_id) == survey_id)
        ).scalar_one()
    )
