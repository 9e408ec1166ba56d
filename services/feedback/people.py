"""Right of access: everything the feedback service holds on one person, for staff — the requests
made to the person, the answers given through the person's links (with the comment, which only staff
may read) and the person's survey answers. Answers on paper forms are anonymous: nobody's."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import or_, select
from sqlmodel import Session, col

from services.feedback import domain, queries
from services.feedback.tables import FbMember, FbRequest, FbResponse, FbSession, FbSurvey, FbSurveyAnswer
from shared.auth import STAFF, Principal, require
from shared.web import SessionDep

Staff = Annotated[Principal, Depends(require(*STAFF))]
router = APIRouter()


def _subject_title(session: Session, request: FbRequest) -> str | None:
    if request.subject_type == "session":
        row = session.get(FbSession, request.subject_id)
        return row.title if row else None
    if request.subject_type == "survey":
        survey = session.get(FbSurvey, request.subject_id)
        return survey.title if survey else None
    return None


def _survey_answer(session: Session, answer: FbSurveyAnswer) -> dict[str, Any]:
    survey = session.get(FbSurvey, answer.survey_id)
    questions = {q.key: q for q in queries.questions_of(survey)} if survey else {}
    return {
        "id": str(answer.id),
        "survey_id": str(answer.survey_id),
        "survey_title": survey.title if survey else None,
        "request_id": str(answer.request_id),
        "organisation_id": str(answer.organisation_id) if answer.organisation_id else None,
        "received_on": answer.received_on.isoformat(),
        "answers": [
            {
                "question": questions[key].text if key in questions else key,
                "kind": questions[key].kind if key in questions else None,
                "answer": value,
            }
            for key, value in answer.answers.items()
        ],
    }


@router.get("/people/{member_id}", tags=["privacy"])
def personal_data(member_id: uuid.UUID, session: SessionDep, _who: Staff) -> dict[str, Any]:
    """What this service holds on the person. A person it never heard of gets an empty answer."""
    member = session.get(FbMember, member_id)
    requests = list(
        session.execute(
            select(FbRequest)
            .where(col(FbRequest.member_id) == member_id)
            .order_by(col(FbRequest.requested_at), col(FbRequest.id))
        ).scalars()
    )
    ids = [r.id for r in requests]
    responses = (
        list(
            session.execute(
                select(FbResponse)
                .where(col(FbResponse.request_id).in_(ids))
                .order_by(col(FbResponse.received_at))
            ).scalars()
        )
        if ids
        else []
    )
    survey_answers = list(
        session.execute(
            select(FbSurveyAnswer)
            .where(or_(col(FbSurveyAnswer.member_id) == member_id, col(FbSurveyAnswer.request_id).in_(ids)))
            .order_by(col(FbSurveyAnswer.received_at))
        ).scalars()
    )
    answered = {r.request_id for r in responses} | {a.request_id for a in survey_answers}
    return {
        "service": "feedback",
        "member_id": str(member_id),
        "member": None
        if member is None
        else {
            "organisation_id": str(member.organisation_id) if member.organisation_id else None,
            "active": member.active,
            "erased": member.erased,
        },
        "requests": [
            {
                "id": str(r.id),
                "subject_type": r.subject_type,
                "subject_id": str(r.subject_id),
                "subject_title": _subject_title(session, r),
                "requested_on": r.requested_on.isoformat(),
                "answered": r.id in answered,
            }
            for r in requests
        ],
        "responses": [
            {
                "id": str(r.id),
                "request_id": str(r.request_id),
                "subject_type": r.subject_type,
                "subject_id": str(r.subject_id),
                **{name: getattr(r, name) for name in domain.RATING_QUESTIONS},
                "comment": r.comment,
                "received_on": r.received_on.isoformat(),
            }
            for r in responses
        ],
        "survey_answers": [_survey_answer(session, a) for a in survey_answers],
    }
