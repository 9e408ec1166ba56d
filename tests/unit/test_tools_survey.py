"""The user survey (OD 3.1) asking about a tool of the catalogue, without HTTP: the feedback service's
reactor learns the tools (ids and titles) from the catalogue's events, and opening a survey whose
question names an unknown or retired tool is refused with nothing written."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import Session, col

from services.feedback import handlers, queries
from services.feedback.app import MIGRATIONS
from services.feedback.consumers import Reactor
from services.feedback.tables import FbSurvey, FbTool
from shared import events
from shared.auth import Principal
from shared.db import make_engine, migrate
from shared.errors import Invalid
from shared.outbox import Outbox, OutboxMessage
from shared.uow import UnitOfWork

STAFF = Principal(subject="an.medewerker@vvsg.be", role="staff")
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine("sqlite:///" + str(tmp_path / "feedback.db"))
    migrate(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def react(engine: Engine, *datas: events.EventData, time: datetime = T0) -> None:
    reactor = Reactor(Outbox("/services/feedback"))
    with Session(engine) as session:
        for data in datas:
            envelope = events.new_envelope(data, source="/services/newsletter", time=time)
            reactor.handle(session, events.decode(events.encode(envelope)))
        session.commit()


def tool_event(tool_id: uuid.UUID, title: str, updated: bool = False) -> events.EventData:
    fields: dict[str, Any] = {
        "tool_id": tool_id,
        "title": title,
        "summary": "Stap voor stap.",
        "audience": "Lokale besturen",
        "made_by": "mediawijs",
        "url": "https://www.mediawijs.be/scan",
        "version": "1",
        "last_reviewed_on": date(2026, 1, 1),
        "next_review_on": date(2027, 1, 1),
    }
    if updated:
        return events.ToolUpdated(**fields, updated_on=date(2026, 2, 1))
    return events.ToolPublished(**fields, published_on=date(2026, 1, 1))


def open_survey(engine: Engine, *tool_ids: uuid.UUID | None) -> FbSurvey:
    uow = UnitOfWork(Session(engine, expire_on_commit=False), Outbox("/services/feedback"), STAFF)
    command = handlers.OpenSurvey(
        title="Gebruikersbevraging hulpmiddelen 2026",
        topic="tools",
        questions=[handlers.Question(text="Hoe bruikbaar is het?", tool_id=t) for t in tool_ids],
    )
    with uow.session:
        return uow.commit(handlers.open_survey(command, uow))


def published(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id))).scalars()
        return [json.loads(row.value) for row in rows if row.value is not None]


def surveys(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.execute(select(func.count()).select_from(FbSurvey)).scalar_one())


def test_the_reactor_keeps_each_tools_latest_title_and_its_retirement(engine: Engine) -> None:
    scan = uuid.uuid4()
    react(engine, tool_event(scan, "Digitale inclusie-scan"))
    react(engine, tool_event(scan, "Digitale inclusie-scan 2.0", updated=True), time=T0 + timedelta(days=1))
    react(engine, tool_event(scan, "Oude titel, laat bezorgd"), time=T0 - timedelta(days=1))
    with Session(engine) as session:
        tool = session.get(FbTool, scan)
        assert tool is not None and (tool.title, tool.published, tool.retired_on) == (
            "Digitale inclusie-scan 2.0",
            True,
            None,
        )
    react(engine, events.ToolRetired(tool_id=scan, retired_on=date(2026, 6, 30)))
    with Session(engine) as session:
        retired = session.get(FbTool, scan)
        assert retired is not None and retired.retired_on == date(2026, 6, 30)


def test_a_question_about_a_tool_carries_its_id_and_title_onto_the_page(engine: Engine) -> None:
    scan = uuid.uuid4()
    react(engine, tool_event(scan, "Digitale inclusie-scan"))
    survey = open_survey(engine, scan, None)
    assert survey.questions[0]["tool_id"] == str(scan)
    assert survey.questions[0]["tool_title"] == "Digitale inclusie-scan"
    assert "tool_id" not in survey.questions[1]
    assert [q.tool_title for q in queries.questions_of(survey)] == ["Digitale inclusie-scan", None]
    assert [e["type"].rsplit(".", 2)[-2] for e in published(engine)] == ["opened"]


@pytest.mark.parametrize("case", ["unknown", "retired", "retired-before-published"])
def test_a_question_about_an_unknown_or_retired_tool_is_refused_and_nothing_is_written(
    engine: Engine, case: str
) -> None:
    tool_id = uuid.uuid4()
    if case == "retired":
        react(engine, tool_event(tool_id, "Beeldbank digitale inclusie"))
    if case != "unknown":  # a retirement may arrive before the publication: still not askable
        react(engine, events.ToolRetired(tool_id=tool_id, retired_on=date(2026, 2, 1)))
    with pytest.raises(Invalid) as refused:
        open_survey(engine, None, tool_id)
    assert refused.value.field == "questions.1.tool_id"
    assert ("retired" in refused.value.message) is (case == "retired")
    assert (surveys(engine), published(engine)) == (0, [])


def test_the_survey_page_names_the_tool_in_the_questions_legend(engine: Engine) -> None:
    from services.feedback import pages

    scan = uuid.uuid4()
    react(engine, tool_event(scan, "Digitale <inclusie>-scan"))
    survey = open_survey(engine, scan, None)
    form = pages._survey_form(survey, {}, {})
    assert "<legend>Over het hulpmiddel Digitale &lt;inclusie&gt;-scan: Hoe bruikbaar is het?" in form
    assert "<legend>Hoe bruikbaar is het?" in form  # the second question names no tool
