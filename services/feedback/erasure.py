"""What erasing a member means for the feedback service (applied when `member.erased` arrives, in the
consumer's transaction; applying it again changes nothing).

Gone: the free text the person wrote — the comment of every answer given through one of the person's
links, and the text answers of the person's survey answers; survey answers are unlinked from the
member id (the organisation the person was at stays, so the survey's counts stay right). The person's
links stop working, and nobody asks the person for feedback any more.

Kept, because every feedback KPI and every summary is counted from them and they name nobody: the
requests (ids and dates), the ratings, the choices among a survey's fixed options, and the copy of the
member (id, organisation, erased). Answers on paper forms are anonymous and belong to nobody."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlmodel import Session, col

from services.feedback import domain, queries
from services.feedback.tables import FbMember, FbRequest, FbResponse, FbSurvey, FbSurveyAnswer


@dataclass(frozen=True)
class Erased:
    comments_removed: int
    survey_answers_changed: int


def is_erased(session: Session, member_id: uuid.UUID | None, lock: bool = False) -> bool:
    """Whether the member was erased. `lock` (before storing an answer) holds the member's row until
    the caller's transaction ends, so that an erasure applied at the same moment either comes first
    (and the answer is refused) or waits and then removes the new comment too."""
    if member_id is None:
        return False
    member = session.get(FbMember, member_id, with_for_update=lock or None)
    return member is not None and member.erased


def erase_member(session: Session, member_id: uuid.UUID) -> Erased:
    requests = select(col(FbRequest.id)).where(col(FbRequest.member_id) == member_id)
    removed = session.execute(
        update(FbResponse)
        .where(col(FbResponse.request_id).in_(requests), col(FbResponse.comment).is_not(None))
        .values(comment=None)
    )
    member = session.get(FbMember, member_id)
    changed = 0
    answers = session.execute(
        select(FbSurveyAnswer).where(
            or_(col(FbSurveyAnswer.member_id) == member_id, col(FbSurveyAnswer.request_id).in_(requests))
        )
    ).scalars()
    for answer in list(answers):
        survey = session.get(FbSurvey, answer.survey_id)
        kept = domain.without_free_text(queries.questions_of(survey), answer.answers) if survey else {}
        if answer.organisation_id is None and member is not None:
            answer.organisation_id = member.organisation_id  # where the survey's count looked it up
        if kept != answer.answers or answer.member_id is not None:
            answer.answers = kept  # a new dict: the JSON column sees the change
            answer.member_id = None
            session.add(answer)
            changed += 1
    return Erased(comments_removed=int(getattr(removed, "rowcount", 0) or 0), survey_answers_changed=changed)
