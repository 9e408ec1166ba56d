"""From a session held to the KPIs, through the real broker and a real browser: the feedback and KPI
services run as processes; the activities events are put on the topics as the events service would;
attendees answer on their personal page in Debian's Chromium, driven by Playwright, on a phone-sized
screen and partly by keyboard."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest

from shared import events, topics
from shared.links import make_token
from tests.browser import chromium
from tests.infra import (
    LINK_SECRET,
    Databases,
    ServiceProcess,
    envelope_values,
    produce,
    read_topic,
    wait_until,
)

pytestmark = pytest.mark.e2e
T = TypeVar("T")

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}


@pytest.fixture
def browser(topic_prefix: str) -> Iterator[Any]:
    """Chromium for one test (tests/browser.py). Playwright's sync API keeps an event loop running in
    this thread, so the fixtures that call asyncio.run (topic_prefix) go first and the test runs its
    own broker calls in a worker thread (_run)."""
    del topic_prefix
    with chromium() as launched:
        yield launched


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


Record = tuple[str, bytes | None, bytes | None]


def _record(prefix: str, data: events.EventData, time: datetime | None = None) -> Record:
    value = events.encode(events.new_envelope(data, source="/services/events", time=time))
    return prefix + data.TOPIC, data.key().encode(), value


def _session_held_with_attendees_and_no_shows(prefix: str, bootstrap: str) -> dict[str, Any]:
    """One info session: three members attend, one does not show up, one cancelled, one outside
    participant attends; a steering-group meeting beside it. session.held arrives three times."""
    now = datetime.now(UTC)
    session_id, steering_id = uuid.uuid4(), uuid.uuid4()
    members = {name: uuid.uuid4() for name in ("an", "bert", "chris", "dina", "eva", "gert")}

    def scheduled(sid: uuid.UUID, kind: str, title: str) -> events.SessionScheduled:
        return events.SessionScheduled(
            session_id=sid,
            kind=kind,
            title=title,
            theme="digitale drempels",
            lead="vvsg",
            format="online",
            starts_at=now - timedelta(hours=3),
            ends_at=now - timedelta(hours=1),
            planned_hours=2,
        )

    def registration(sid: uuid.UUID, member: uuid.UUID | None) -> events.RegistrationReceived:
        return events.RegistrationReceived(
            registration_id=uuid.uuid4(),
            session_id=sid,
            member_id=member,
            organisation_kind="lokaal_bestuur",
            waitlisted=False,
        )

    def attendance(r: events.RegistrationReceived, attended: bool) -> events.AttendanceRecorded:
        return events.AttendanceRecorded(
            registration_id=r.registration_id,
            session_id=r.session_id,
            attended=attended,
            hours=2 if attended else 0,
        )

    regs = {name: registration(session_id, members[name]) for name in ("an", "bert", "chris", "dina", "eva")}
    outsider = registration(session_id, None)
    steering = registration(steering_id, members["gert"])
    held_on = now.astimezone(ZoneInfo("Europe/Brussels")).date()
    held = events.SessionHeld(session_id=session_id, held_on=held_on, participants=4, participant_hours=8)
    held_record = _record(prefix, held)
    datas: list[events.EventData] = [
        scheduled(session_id, "info_session", "Infosessie: digitale drempels verlagen"),
        *regs.values(),
        outsider,
        events.RegistrationCancelled(registration_id=regs["eva"].registration_id, session_id=session_id),
        *(attendance(regs[name], True) for name in ("an", "bert", "chris")),
        attendance(regs["dina"], False),
        attendance(outsider, True),
        scheduled(steering_id, "steering_group", "Stuurgroep digitale inclusie"),
        steering,
        attendance(steering, True),
        events.SessionHeld(session_id=steering_id, held_on=held_on, participants=1, participant_hours=2),
    ]
    records = [_record(prefix, d) for d in datas]
    records += [held_record, held_record, _record(prefix, held)]  # delivered twice, then republished
    _run(produce(bootstrap, records))
    return {"session_id": session_id, "steering_id": steering_id, "members": members, "year": held_on.year}


def _requests(feedback: httpx.Client, subject_id: uuid.UUID) -> list[dict[str, Any]]:
    response = feedback.get("/requests", params={"subject_id": str(subject_id)})
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


def _feedback_values(kpi: httpx.Client, year: int) -> dict[str, Any]:
    response = kpi.get(f"/kpis/{year}")
    assert response.status_code == 200, response.text
    return {
        k["code"]: (k["value"], k["items"])
        for k in response.json()["kpis"]
        if k["code"].startswith("feedback-")
    }


def _answer(page: Any, ratings: dict[str, str], comment: str | None) -> None:
    for question, choice in ratings.items():
        page.get_by_role("radiogroup", name=question).get_by_role("radio", name=choice).check()
    if comment:
        page.get_by_label("Wil je nog iets kwijt? (niet verplicht)").fill(comment)


SATISFACTION = "Hoe tevreden ben je over deze activiteit?"
USEFULNESS = "Hoe nuttig was deze activiteit voor je werk?"
MOTIVATED = "Ik ben gemotiveerd om met digitale inclusie aan de slag te gaan."
ABLE = "Ik kan zelf acties rond digitale inclusie realiseren."


def test_attendees_answer_in_a_browser_and_the_kpis_show_the_response_rate_and_averages(
    databases: Databases,
    services: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
    topic_prefix: str,
    browser: Any,
    tmp_path: Path,
) -> None:
    feedback_service = services("feedback", databases("feedback"))
    kpi_service = services("kpi", databases("kpi"))
    scenario = _session_held_with_attendees_and_no_shows(topic_prefix, kafka_bootstrap)
    members = scenario["members"]

    with feedback_service.client("staff") as feedback, kpi_service.client("viewer") as kpi:
        requests = wait_until(
            lambda: (
                len(_requests(feedback, scenario["session_id"])) == 3
                and _requests(feedback, scenario["session_id"])
            ),
            30,
            0.2,
            "three feedback requests",
        )
        by_member = {uuid.UUID(r["member_id"]): r for r in requests}
        assert set(by_member) == {members["an"], members["bert"], members["chris"]}
        assert _requests(feedback, scenario["steering_id"]) == []

        def link(name: str) -> str:  # the link the newsletter service mails on feedback.requested
            token = make_token(LINK_SECRET, "feedback", by_member[members[name]]["id"])
            return f"{feedback_service.url}/feedback/{token}"

        context = browser.new_context(**PHONE, locale="nl-BE")
        page = context.new_page()

        # An: first sends the form empty, then answers, partly by keyboard
        page.goto(link("an"))
        assert page.title() == "Jouw feedback – VVSG – digitale inclusie"
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth"
        )  # no sideways scrolling
        with page.expect_navigation():
            page.get_by_role("button", name="Verstuur mijn feedback").click()
        summary = page.get_by_role("alert")
        assert "Er ontbreekt nog iets" in summary.inner_text()
        assert page.evaluate(
            "document.activeElement.classList.contains('summary')"
        )  # focus moves to the errors
        assert page.get_by_role("radiogroup", name=SATISFACTION).get_attribute("aria-invalid") == "true"
        page.screenshot(path=str(tmp_path / "feedback-errors-phone.png"), full_page=True)
        page.get_by_role("radiogroup", name=SATISFACTION).get_by_role(
            "radio", name="1 heel ontevreden"
        ).focus()
        for _ in range(4):
            page.keyboard.press("ArrowRight")  # moves through the scale to 5
        assert page.get_by_role("radio", name="5 heel tevreden").is_checked()
        _answer(
            page,
            {USEFULNESS: "4 nuttig", MOTIVATED: "5 helemaal akkoord", ABLE: "3 neutraal"},
            "Heel bruikbaar, graag meer voorbeelden van kleine gemeenten.",
        )
        page.get_by_role("button", name="Verstuur mijn feedback").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.get_by_role("heading", level=1).inner_text() == "Bedankt voor je feedback!"
        page.screenshot(path=str(tmp_path / "feedback-thanks-phone.png"), full_page=True)

        # Bert answers; Chris never does
        page.goto(link("bert"))
        _answer(
            page,
            {
                SATISFACTION: "3 neutraal",
                USEFULNESS: "4 nuttig",
                MOTIVATED: "2 niet akkoord",
                ABLE: "4 akkoord",
            },
            None,
        )
        page.screenshot(path=str(tmp_path / "feedback-form-phone.png"), full_page=True)
        with page.expect_navigation():
            page.get_by_role("button", name="Verstuur mijn feedback").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Bedankt voor je feedback!"

        # An's link again: a kind refusal, nothing changes
        page.goto(link("an"))
        assert page.get_by_role("heading", level=1).inner_text() == "Je hebt al geantwoord"
        context.close()

        expected = {
            "feedback-gevraagd": (
                100.0,
                [{"session_kind": "info_session", "sessions": 1, "sessions_asked": 1, "value": 100.0}],
            ),
            "feedback-respons": (
                66.7,
                [{"session_kind": "info_session", "requests": 3, "answered": 2, "value": 66.7}],
            ),
            "feedback-tevredenheid": (4.0, [{"session_kind": "info_session", "answers": 2, "value": 4.0}]),
            "feedback-gemotiveerd": (
                50.0,
                [{"session_kind": "info_session", "answers": 2, "agree": 1, "value": 50.0}],
            ),
            "feedback-zelf-realiseren": (
                50.0,
                [{"session_kind": "info_session", "answers": 2, "agree": 1, "value": 50.0}],
            ),
        }
        wait_until(lambda: _feedback_values(kpi, scenario["year"]) == expected, 30, 0.3, "the feedback KPIs")

    published = envelope_values(_run(read_topic(kafka_bootstrap, topic_prefix + topics.FEEDBACK_EVENTS)))
    assert sorted(e["type"].split(".")[-2] for e in published) == ["received"] * 2 + ["requested"] * 3
    assert "kleine gemeenten" not in str(published)  # free text never leaves the feedback service
