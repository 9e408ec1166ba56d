"""The tools and handbooks catalogue (OD 3.1) in the newsletter service without HTTP: its handlers on a
real SQLite database with the service's migrations and the real outbox — what each change publishes,
what is refused (and that a refusal changes nothing) — and what the public page's query shows."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session, col

from services.newsletter import domain, handlers, tools_public
from services.newsletter.app import MIGRATIONS
from services.newsletter.tables import Tool
from shared import events
from shared.auth import Principal
from shared.db import make_engine, migrate
from shared.errors import Conflict, Invalid, NotFound
from shared.outbox import Outbox, OutboxMessage
from shared.uow import UnitOfWork

STAFF = Principal(subject="an.medewerker@vvsg.be", role="staff")
TODAY = domain.today()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine("sqlite:///" + str(tmp_path / "newsletter.db"))
    migrate(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def work(engine: Engine) -> UnitOfWork:
    uow = UnitOfWork(Session(engine, expire_on_commit=False), Outbox("/services/newsletter"), STAFF)
    uow.conflict = handlers.TOOL_CONFLICT
    return uow


def published(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.execute(select(OutboxMessage).order_by(col(OutboxMessage.id))).scalars()
        return [json.loads(row.value) for row in rows if row.value is not None]


def toolkit(**changes: Any) -> handlers.PublishTool:
    fields: dict[str, Any] = {
        "title": "Digibank-toolkit",
        "summary": "Stap voor stap een digibank opzetten: draaiboek, checklists en sjablonen.",
        "audience": "Lokale besturen",
        "made_by": "together",
        "url": f"https://www.vvsg.be/kennisitem/digibank-toolkit-{uuid.uuid4().hex[:6]}",
        "version": "2.1",
        "last_reviewed_on": TODAY - timedelta(days=30),
        "next_review_on": TODAY + timedelta(days=335),
    }
    return handlers.PublishTool(**{**fields, **changes})


def publish(engine: Engine, command: handlers.PublishTool) -> Tool:
    uow = work(engine)
    with uow.session:
        return uow.commit(handlers.publish_tool(command, uow))


def test_publishing_writes_the_entry_and_tool_published_with_every_field(engine: Engine) -> None:
    tool = publish(engine, toolkit())
    [envelope] = published(engine)
    event = events.decode(json.dumps(envelope).encode())
    assert isinstance(event.data, events.ToolPublished)
    assert (event.data.tool_id, event.data.title, event.data.made_by) == (
        tool.id,
        "Digibank-toolkit",
        "together",
    )
    assert event.data.published_on == TODAY and envelope["subject"] == str(tool.id)
    assert envelope["actor"].startswith("staff-")  # a pseudonymous id, never the address


def test_an_update_publishes_the_whole_entry_and_no_change_publishes_nothing(engine: Engine) -> None:
    tool = publish(engine, toolkit())
    uow = work(engine)
    with uow.session:
        uow.commit(handlers.update_tool(handlers.UpdateTool(tool_id=tool.id, version="2.2"), uow))
    uow = work(engine)
    with uow.session:
        uow.commit(handlers.update_tool(handlers.UpdateTool(tool_id=tool.id, version="2.2"), uow))
    kinds = [e["type"].rsplit(".", 2)[-2] for e in published(engine)]
    assert kinds == ["published", "updated"]
    updated = published(engine)[-1]["data"]
    assert (updated["version"], updated["title"], updated["updated_on"]) == (
        "2.2",
        "Digibank-toolkit",
        str(TODAY),
    )


def test_retiring_publishes_tool_retired_and_freezes_the_entry(engine: Engine) -> None:
    tool = publish(engine, toolkit())
    uow = work(engine)
    with uow.session:
        uow.commit(handlers.retire_tool(handlers.RetireTool(tool_id=tool.id), uow))
    assert published(engine)[-1]["data"] == {"tool_id": str(tool.id), "retired_on": str(TODAY)}
    for command in (
        handlers.RetireTool(tool_id=tool.id),
        handlers.UpdateTool(tool_id=tool.id, version="3"),
    ):
        uow = work(engine)
        with uow.session, pytest.raises(Conflict, match="retired"):
            if isinstance(command, handlers.RetireTool):
                handlers.retire_tool(command, uow)
            else:
                handlers.update_tool(command, uow)
    assert len(published(engine)) == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"next_review_on": TODAY - timedelta(days=31)}, "next_review_on"),
        ({"last_reviewed_on": TODAY + timedelta(days=1)}, "last_reviewed_on"),
        ({"published_on": TODAY + timedelta(days=1)}, "published_on"),
    ],
    ids=["next-before-last", "reviewed-in-future", "published-in-future"],
)
def test_impossible_dates_are_refused_and_nothing_is_written(
    engine: Engine, changes: dict[str, Any], field: str
) -> None:
    uow = work(engine)
    with uow.session, pytest.raises(Invalid) as refused:
        handlers.publish_tool(toolkit(**changes), uow)
    assert refused.value.field == field
    with Session(engine) as session:
        assert session.execute(select(Tool)).first() is None
    assert published(engine) == []


def test_the_same_link_twice_is_a_conflict(engine: Engine) -> None:
    first = toolkit()
    publish(engine, first)
    with pytest.raises(Conflict, match="a tool with this link"):
        publish(engine, toolkit(url=first.url, title="Een kopie"))
    assert len(published(engine)) == 1


def test_an_unknown_tool_is_not_found(engine: Engine) -> None:
    uow = work(engine)
    with uow.session, pytest.raises(NotFound):
        handlers.update_tool(handlers.UpdateTool(tool_id=uuid.uuid4(), version="1"), uow)


def test_the_public_catalogue_shows_published_tools_that_are_not_retired(engine: Engine) -> None:
    shown = publish(engine, toolkit(title="Handboek digitale inclusie"))
    retired = publish(engine, toolkit(title="Oude scan"))
    also = publish(engine, toolkit(title="Mediawijs-scan", published_on=TODAY))
    uow = work(engine)
    with uow.session:
        uow.commit(handlers.retire_tool(handlers.RetireTool(tool_id=retired.id), uow))
    with Session(engine) as session:
        assert [t.id for t in tools_public.catalogue(session, TODAY)] == [shown.id, also.id]
        assert [t.id for t in tools_public.catalogue(session, TODAY - timedelta(days=1))] == []
    assert tools_public.matches(shown, ["handboek", "inclusie"])
    assert not tools_public.matches(shown, ["handboek", "mediawijs"])


def test_search_and_filters_are_bounded_to_one_printable_line() -> None:
    assert tools_public._bounded("a\x00b\n  c" + "x" * 200, 10) == "a b cxxxxx"
    assert tools_public.day_words(date(2026, 3, 3)) == "3 maart 2026"
