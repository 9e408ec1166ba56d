"""OD 1.3 communications KPIs from a hand-worked scenario, in any arrival order, on any date."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from services.kpi import kpis, projection
from shared import events
from shared.db import make_engine, migrate

ORG = uuid.UUID(int=1)
ISSUE_JAN, ISSUE_JUN, ISSUE_NEW_YEAR = (uuid.UUID(int=10 + i) for i in range(3))
A_FEB, A_MAY, A_OTHER_MAGAZINE, A_LAST_YEAR = (uuid.UUID(int=20 + i) for i in range(4))
P_APR, P_SEP, P_NEXT_YEAR = (uuid.UUID(int=30 + i) for i in range(3))
T0 = datetime(2025, 1, 1, tzinfo=UTC)
# the KPI service's migrations, found without importing its app (only projection and KPIs are tested)
MIGRATIONS = Path(kpis.__file__).parent / "migrations"
CODES = ("OD1.3-nieuwsbrieven", "OD1.3-artikels", "OD1.3-goede-praktijken")


def _datas() -> list[events.EventData]:
    return [
        events.OrganisationRegistered(
            organisation_id=ORG,
            name="Gemeente Zonnedorp",
            kind="lokaal_bestuur",
            registered_on=date(2024, 1, 1),
        ),
        events.NewsletterSent(
            issue_id=ISSUE_JAN,
            title="Januari",
            recipients=120,
            sent_at=datetime(2025, 1, 15, 9, 0, tzinfo=UTC),
        ),
        events.NewsletterSent(
            issue_id=ISSUE_JUN, title="Juni", recipients=130, sent_at=datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
        ),
        # 23:30 UTC on 31 December is already 1 January in Brussels: it counts for 2026
        events.NewsletterSent(
            issue_id=ISSUE_NEW_YEAR,
            title="Nieuwjaar",
            recipients=140,
            sent_at=datetime(2025, 12, 31, 23, 30, tzinfo=UTC),
        ),
        events.ArticlePublished(
            article_id=A_FEB,
            title="Digitale drempels",
            magazine="Lokaal",
            published_on=date(2025, 2, 1),
            url="https://lokaal.be/drempels",
        ),
        events.ArticlePublished(
            article_id=A_MAY, title="Digipunten", magazine=" lokaal ", published_on=date(2025, 5, 1)
        ),
        events.ArticlePublished(
            article_id=A_OTHER_MAGAZINE, title="Elders", magazine="Binnenband", published_on=date(2025, 3, 1)
        ),
        events.ArticlePublished(
            article_id=A_LAST_YEAR, title="Vorig jaar", magazine="Lokaal", published_on=date(2024, 12, 31)
        ),
        events.GoodPracticePublished(
            practice_id=P_APR,
            title="Digicafé",
            organisation_id=ORG,
            published_on=date(2025, 4, 1),
            url="https://vvsg.be/digicafe",
        ),
        events.GoodPracticePublished(
            practice_id=P_SEP,
            title="Leesclub online",
            published_on=date(2025, 9, 1),
            url="https://vvsg.be/leesclub",
        ),
        events.GoodPracticePublished(
            practice_id=P_NEXT_YEAR, title="Later", published_on=date(2026, 1, 2), url="https://vvsg.be/later"
        ),
        # the January issue published a second time under a new event id: it counts once
        events.NewsletterSent(
            issue_id=ISSUE_JAN,
            title="Januari",
            recipients=120,
            sent_at=datetime(2025, 1, 15, 9, 0, tzinfo=UTC),
        ),
    ]


def _events() -> list[events.Event]:
    return [
        events.decode(events.encode(events.new_envelope(d, source="/test", time=T0 + timedelta(minutes=i))))
        for i, d in enumerate(_datas())
    ]


def _answer(tmp_path: Path, order: list[events.Event], year: int, as_of: date | None) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi-{uuid.uuid4().hex}.db")
    migrate(engine, MIGRATIONS)
    with Session(engine) as session:
        for event in order:
            projection.apply(session, [event])
            session.commit()
        report = kpis.report(session, year, as_of, datetime(2026, 6, 1, tzinfo=UTC))
    engine.dispose()
    return {k["code"]: (k["value"], k["items"], k["status"]) for k in report["kpis"] if k["code"] in CODES}


END_OF_2025 = {
    "OD1.3-nieuwsbrieven": (
        2,
        [
            {"title": "Januari", "date": "2025-01-15", "recipients": 120, "issue_id": str(ISSUE_JAN)},
            {"title": "Juni", "date": "2025-06-01", "recipients": 130, "issue_id": str(ISSUE_JUN)},
        ],
        "geen doel",
    ),
    "OD1.3-artikels": (
        2,
        [
            {
                "title": "Digitale drempels",
                "date": "2025-02-01",
                "magazine": "Lokaal",
                "link": "https://lokaal.be/drempels",
                "article_id": str(A_FEB),
            },
            {
                "title": "Digipunten",
                "date": "2025-05-01",
                "magazine": " lokaal ",
                "link": None,
                "article_id": str(A_MAY),
            },
        ],
        "geen doel",
    ),
    "OD1.3-goede-praktijken": (
        2,
        [
            {
                "title": "Digicafé",
                "date": "2025-04-01",
                "organisation": "Gemeente Zonnedorp",
                "organisation_id": str(ORG),
                "link": "https://vvsg.be/digicafe",
                "practice_id": str(P_APR),
            },
            {
                "title": "Leesclub online",
                "date": "2025-09-01",
                "organisation": None,
                "organisation_id": None,
                "link": "https://vvsg.be/leesclub",
                "practice_id": str(P_SEP),
            },
        ],
        "geen doel",
    ),
}


def test_the_year_counts_issues_sent_lokaal_articles_and_practices_published_in_it(tmp_path: Path) -> None:
    assert _answer(tmp_path, _events(), 2025, None) == END_OF_2025


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_arrival_order_gives_the_same_answer(tmp_path: Path, seed: int) -> None:
    shuffled = _events()
    random.Random(seed).shuffle(shuffled)
    assert _answer(tmp_path, shuffled, 2025, None) == END_OF_2025


def test_as_of_counts_only_what_happened_on_or_before_that_day(tmp_path: Path) -> None:
    answer = _answer(tmp_path, _events(), 2025, date(2025, 4, 30))
    assert {code: value for code, (value, _, _) in answer.items()} == {
        "OD1.3-nieuwsbrieven": 1,
        "OD1.3-artikels": 1,
        "OD1.3-goede-praktijken": 1,
    }


def test_an_issue_sent_late_on_new_years_eve_counts_for_the_brussels_year(tmp_path: Path) -> None:
    answer = _answer(tmp_path, _events(), 2026, None)
    assert answer["OD1.3-nieuwsbrieven"][0] == 1
    assert answer["OD1.3-nieuwsbrieven"][1][0]["date"] == "2026-01-01"
    assert answer["OD1.3-goede-praktijken"][0] == 1
    assert answer["OD1.3-artikels"][0] == 0


def test_a_redelivered_event_changes_nothing(tmp_path: Path) -> None:
    once = _events()
    assert _answer(tmp_path, once + once[1:4], 2025, None) == END_OF_2025


def test_items_of_the_same_day_and_title_are_listed_by_id_whatever_arrived_first(tmp_path: Path) -> None:
    # two issues, two articles and two practices that share their day and their title: the order of
    # the items is the id's, not the order the rows happen to come out of the database in
    first, second = uuid.UUID(int=100), uuid.UUID(int=200)
    sent = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    twins = [
        d
        for i in (first, second)
        for d in (
            events.NewsletterSent(issue_id=i, title="Maart", recipients=100, sent_at=sent),
            events.ArticlePublished(
                article_id=i, title="Tweeling", magazine="Lokaal", published_on=date(2025, 3, 3)
            ),
            events.GoodPracticePublished(
                practice_id=i, title="Tweeling", published_on=date(2025, 3, 3), url="https://vvsg.be/t"
            ),
        )
    ]
    made = [
        events.decode(events.encode(events.new_envelope(d, source="/test", time=T0 + timedelta(minutes=i))))
        for i, d in enumerate(twins)
    ]
    ids = {
        "OD1.3-nieuwsbrieven": "issue_id",
        "OD1.3-artikels": "article_id",
        "OD1.3-goede-praktijken": "practice_id",
    }
    for order in (made, made[::-1]):
        answer = _answer(tmp_path, order, 2025, None)
        for code, key in ids.items():
            assert [item[key] for item in answer[code][1]] == [str(first), str(second)], (code, order[0].id)
