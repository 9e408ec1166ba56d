"""The feedback service's handlers without HTTP: a real SQLite database with the service's own
migrations, the real outbox, a unit of work per command, as a route or a page runs them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, SQLModel, col

from services.feedback import domain, handlers
from services.feedback.app import MIGRATIONS
from services.feedback.tables import FbMember, FbOrganisation, FbRequest, FbResponse, FbSession, FbSurvey
from shared import staff
from shared.auth import Principal
from shared.db import make_engine, migrate
from shared.errors import Conflict, Invalid, NotFound
from shared.outbox import Outbox, OutboxMessage
from shared.uow import UnitOfWork

STAFF = Principal(subject="an.medewerker@vvsg.be", role="staff")
RATINGS: dict[str, int | None] = {"satisfaction": 5, "usefulness": 4, "motivated": 4, "able_to_act": 3}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine("sqlite:///" + str(tmp_path / "feedback.db"))
    migrate(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def work(engine: Engine, actor: Principal = STAFF) -> UnitOfWork:
    return UnitOfWork(Session(engine, expire_on_commit=False), Outbox("/services/feedback"), actor)


def published(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id))).scalars()
        return [json.loads(row.value) for row in rows if row.value is not None]


def count(engine: Engine, model: type[SQLModel]) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def a_held_session(engine: Engine) -> uuid.UUID:
    session_id = uuid.uuid4()
    with Session(engine) as session:
        session.add(FbSession(session_id=session_id, kind="info_session", title="Infosessie"))
        session.commit()
    return session_id


def test_a_paper_form_is_stored_and_published_without_its_text_by_the_staff_member(engine: Engine) -> None:
    session_id = a_held_session(engine)
    uow = work(engine)
    command = handlers.EnterPaperForm(
        subject_type="session", subject_id=session_id, ratings=RATINGS, comment="Heel nuttig"
    )
    response = uow.commit(handlers.enter_paper_form(command, uow))
    assert (response.comment, response.entered_by, response.request_id) == (
        "Heel nuttig",
        STAFF.subject,
        None,
    )
    [event] = published(engine)
    assert event["type"] == "be.vvsg.digitaleinclusie.feedback.received.v1"
    assert event["actor"] == staff.pseudonym(STAFF.subject)  # never the address
    assert event["data"]["has_comment"] is True
    assert "Heel nuttig" not in json.dumps(event)


def test_a_paper_form_about_an_unknown_session_or_dated_tomorrow_changes_nothing(engine: Engine) -> None:
    uow = work(engine)
    with pytest.raises(NotFound):
        handlers.enter_paper_form(
            handlers.EnterPaperForm(subject_type="session", subject_id=uuid.uuid4(), ratings=RATINGS), uow
        )
    uow.rollback()
    session_id = a_held_session(engine)
    tomorrow = domain.today() + timedelta(days=1)
    uow = work(engine)
    with pytest.raises(Invalid) as refused:
        handlers.enter_paper_form(
            handlers.EnterPaperForm(
                subject_type="session", subject_id=session_id, ratings=RATINGS, received_on=tomorrow
            ),
            uow,
        )
    assert refused.value.field == "received_on"
    uow.rollback()
    assert count(engine, FbResponse) == 0 and published(engine) == []


def test_one_answer_per_link_and_the_public_actor_names_nobody(engine: Engine) -> None:
    session_id = a_held_session(engine)
    request_id = domain.request_id("session", session_id, "registration-1")
    with Session(engine) as session:
        session.add(
            FbRequest(
                id=request_id,
                subject_type="session",
                subject_id=session_id,
                participant_key="registration-1",
                member_id=uuid.uuid4(),
                requested_at=_now(),
                requested_on=domain.today(),
            )
        )
        session.commit()
    command = handlers.AnswerFeedback(request_id=request_id, ratings=RATINGS, comment="Top")
    uow = work(engine, handlers.PUBLIC)
    uow.commit(handlers.answer_feedback(command, uow))
    again = work(engine, handlers.PUBLIC)
    with pytest.raises(handlers.AlreadyAnswered):
        handlers.answer_feedback(command, again)
    again.rollback()
    assert count(engine, FbResponse) == 1
    [event] = published(engine)
    assert event["actor"] == "public"  # nobody logged in: no person, no address


def test_a_survey_opens_invites_once_skips_the_erased_and_closes_with_its_counts(engine: Engine) -> None:
    municipality, member, erased = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with Session(engine) as session:
        session.add(FbOrganisation(organisation_id=municipality, kind="lokaal_bestuur", version_time=_now()))
        session.add(
            FbMember(
                member_id=member,
                organisation_id=municipality,
                active=True,
                fact_on=domain.today(),
                fact_time=_now(),
            )
        )
        session.add(
            FbMember(member_id=erased, erased=True, active=False, fact_on=domain.today(), fact_time=_now())
        )
        session.commit()
    uow = work(engine)
    survey = uow.commit(
        handlers.open_survey(
            handlers.OpenSurvey(
                title="Bevraging hulpmiddelen",
                topic="tools",
                questions=[handlers.Question(text="Hoe goed helpt de toolbox?")],
            ),
            uow,
        )
    )
    assert survey.created_by == STAFF.subject
    invite = handlers.InviteToSurvey(survey_id=survey.id, member_ids=[erased], local_government_members=True)
    uow = work(engine)
    first = uow.commit(handlers.invite_to_survey(invite, uow))
    uow = work(engine)
    second = uow.commit(handlers.invite_to_survey(invite, uow))
    assert (first.invited, first.erased) == ([member], [erased])
    assert (second.invited, second.already_invited) == ([], [member])

    request_id = domain.request_id("survey", survey.id, str(member))
    uow = work(engine, handlers.PUBLIC)
    uow.commit(handlers.answer_survey(handlers.AnswerSurvey(request_id=request_id, answers={"q1": 4}), uow))
    uow = work(engine)
    closed = uow.commit(handlers.close_survey(handlers.CloseSurvey(survey_id=survey.id), uow))
    assert (closed.closed_on, closed.responses, closed.local_government_responses) == (domain.today(), 1, 1)
    uow = work(engine)
    with pytest.raises(Conflict):
        handlers.invite_to_survey(invite, uow)
    uow.rollback()
    types = [str(e["type"]).split(".")[-2] for e in published(engine)]
    assert types == ["opened", "requested", "received", "closed"]


def test_a_survey_cannot_close_before_it_opened_nor_be_closed_twice(engine: Engine) -> None:
    uow = work(engine)
    survey = uow.commit(
        handlers.open_survey(
            handlers.OpenSurvey(title="B", topic="t", questions=[handlers.Question(text="V?")]), uow
        )
    )
    uow = work(engine)
    with pytest.raises(Invalid) as refused:
        handlers.close_survey(
            handlers.CloseSurvey(survey_id=survey.id, closed_on=survey.opened_on - timedelta(days=1)), uow
        )
    assert refused.value.field == "closed_on"
    uow.rollback()
    uow = work(engine)
    uow.commit(handlers.close_survey(handlers.CloseSurvey(survey_id=survey.id), uow))
    uow = work(engine)
    with pytest.raises(Conflict):
        handlers.close_survey(handlers.CloseSurvey(survey_id=survey.id), uow)
    uow.rollback()
    with Session(engine) as session:
        stored = session.get(FbSurvey, survey.id)
        assert stored is not None and stored.closed_on == domain.today()


def test_a_comment_with_a_control_character_is_refused_on_the_public_form() -> None:
    answer = domain.read_answer({**{k: "4" for k in domain.RATING_QUESTIONS}, "comment": "a\u0008b"})
    assert answer.errors == {"comment": "control_character"}
    lines = domain.read_answer(
        {**{k: "4" for k in domain.RATING_QUESTIONS}, "comment": "regel 1\nregel 2\tok"}
    )
    assert lines.ok and lines.comment == "regel 1\nregel 2\tok"


def _now() -> datetime:
    return datetime.now(UTC)
