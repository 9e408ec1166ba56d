"""Issue 16's journey in Debian's Chromium, on the real broker with the events, feedback and KPI services
as processes and a real SMTP server: a member (recognised by address) and two outsiders (who confirm
through the opt-in link in their mail) sign up for a session of two seats; the third waits; the first
cancels through the link in her confirmation and the third moves up; the day before, each seated
person is reminded; the session is moved to start now (its new .ics goes out), is held, and the
feedback service asks the member, who does not answer and is reminded once, with a link that opens
the feedback form. Every mail lands exactly once, the confirmations carry an .ics that `icalendar`
parses with the session's time, every page passes axe-core, and the KPI service counts the session
with its two registrations.

The scheduler's rounds (reminders.queue_due) run from the test with its own clock — the day before
the session, three days after the feedback request — on the service's own database, the way the
service's loop runs them; the service's sender sends what they queue."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import icalendar
import pytest
from axe_playwright_python.sync_playwright import Axe

from services.events import reminders
from services.events.settings import EventsSettings
from shared import events, topics
from shared.clock import BRUSSELS
from shared.db import make_engine
from tests import infra
from tests.integration.test_newsletter_mailserver import MailCatcher, Received
from tests.public.conftest import brussels, in_days

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

TITLE = "Infosessie digitale drempels"
MEMBER = ("An Lid", "an.lid@zemst.example")
FIRST = ("Sam Buiten", "sam@buiten.example")
THIRD = ("Kim Wacht", "kim@wacht.example")


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    server = MailCatcher().start()
    try:
        yield server
    finally:
        server.stop()


def grave(page: Any) -> list[str]:
    """The serious and critical axe-core violations on the page."""
    results = Axe().run(page)
    return [v["id"] for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


def link_in(received: Received, pattern: str) -> str:
    found = re.search(pattern + r"[A-Za-z0-9_.-]+", received.part("plain"))
    assert found is not None, received.part("plain")
    return found.group(0)


def mail(catcher: MailCatcher, address: str, subject: str) -> Received:
    """The mail to `address` whose subject starts so, once it has arrived."""

    def arrived() -> Received | None:
        found = [r for r in catcher.to(address) if r.subject.startswith(subject)]
        return found[0] if found else None

    received: Received = infra.wait_until(arrived, 30, 0.1, f"{subject!r} to {address}")
    return received


def calendar_event(received: Received) -> Any:
    [part] = [p for p in received.message.iter_attachments() if p.get_content_type() == "text/calendar"]
    [event] = [c for c in icalendar.Calendar.from_ical(part.get_content()).walk() if c.name == "VEVENT"]
    return event


def subjects(catcher: MailCatcher, address: str) -> list[str]:
    return [r.subject for r in catcher.to(address)]


def known_member(bootstrap: str, prefix: str, events_url: str) -> uuid.UUID:
    organisation, member = uuid.uuid4(), uuid.uuid4()
    datas: list[events.EventData] = [
        events.OrganisationRegistered(
            organisation_id=organisation,
            name="Gemeente Zemst",
            kind="lokaal_bestuur",
            registered_on=date(2024, 1, 1),
        ),
        events.MemberJoined(member_id=member, organisation_id=organisation, joined_on=date(2024, 2, 1)),
    ]
    records: list[tuple[str, bytes | None, bytes | None]] = [
        (
            prefix + d.TOPIC,
            d.key().encode(),
            events.encode(events.new_envelope(d, source="/services/members")),
        )
        for d in datas
    ]
    contact = {"member_id": str(member), "first_name": "An", "last_name": "Lid", "email": MEMBER[1]}
    records.append((prefix + topics.MEMBERS_CONTACTS, str(member).encode(), json.dumps(contact).encode()))
    # in a thread of its own: Playwright's sync API keeps an event loop running in this one
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, infra.produce(bootstrap, records)).result()

    def known() -> bool:
        found = httpx.get(f"{events_url}/people/{member}", headers=infra.auth("staff")).json()
        return bool(found["member"]) and bool(found["email_digest_held"])

    infra.wait_until(known, what="the member and their address in the events service")
    return member


def test_sign_up_wait_move_up_reminders_and_feedback_reminder_each_mail_once(
    services: Callable[..., infra.ServiceProcess],
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
    catcher: MailCatcher,
    browser: Any,
) -> None:
    feedback = services("feedback", f"sqlite:///{tmp_path}/feedback.db")
    kpi = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    database = f"sqlite:///{tmp_path}/events.db"
    service = services(
        "events",
        database,
        PUBLIC_RATE_PER_MINUTE="10000",
        SMTP_PORT=str(catcher.port),
        SIGNUP_MAIL_POLL_SECONDS="0.2",
        SESSION_MAIL_INTERVAL_SECONDS="3600",  # the rounds that matter run below, with the test's clock
        FEEDBACK_PUBLIC_URL=feedback.url,
    )
    staff = infra.auth("staff")
    known_member(kafka_bootstrap, topic_prefix, service.url)
    day = in_days(10)
    created = httpx.post(
        f"{service.url}/sessions",
        json={
            "kind": "info_session",
            "title": TITLE,
            "theme": "digitale drempels",
            "lead": "vvsg",
            "format": "hybrid",
            "location": "Bischoffsheimlaan 1-8, 1000 Brussel",
            "online_link": "https://meet.example.be/drempels",
            "starts_at": brussels(day, 14),
            "ends_at": brussels(day, 17),
            "capacity": 2,
        },
        headers=staff,
    )
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    starts_at = datetime.fromisoformat(created.json()["starts_at"]).astimezone(UTC)
    page = browser.new_context(locale="nl-BE").new_page()
    problems: dict[str, list[str]] = {}

    def sign_up(name: str, address: str) -> str:
        page.goto(f"{service.url}/agenda/{session_id}")
        page.get_by_label("Naam", exact=True).fill(name)
        page.get_by_label("E-mailadres").fill(address)
        page.get_by_label("Organisatie", exact=True).fill("Vzw De Brug")
        page.get_by_label("Soort organisatie").select_option("middenveldorganisatie")
        page.get_by_role("button", name="Schrijf me in").click()
        heading = str(page.locator("h1").inner_text())
        if heading != "Bevestig je inschrijving":
            return heading
        # an address the service does not know as a member's: the opt-in link from the mail first
        optin = mail(catcher, address, f"Bevestig je inschrijving: {TITLE}")
        page.goto(link_in(optin, re.escape(service.url) + "/agenda/bevestigen/"))
        problems[f"opt-in {address}"] = grave(page)
        page.get_by_role("button", name="Bevestig mijn inschrijving").click()
        return str(page.locator("h1").inner_text())

    assert sign_up(*FIRST) == "Je bent ingeschreven"
    assert sign_up(*MEMBER) == "Je bent ingeschreven"  # recognised: no opt-in
    assert sign_up(*THIRD) == "Je staat op de wachtlijst"

    # the confirmations: seated or waiting, each with the session's .ics
    for (_, address), subject in (
        (FIRST, f"Inschrijving bevestigd: {TITLE}"),
        (MEMBER, f"Inschrijving bevestigd: {TITLE}"),
        (THIRD, f"Op de wachtlijst: {TITLE}"),
    ):
        event = calendar_event(mail(catcher, address, subject))
        assert event.decoded("DTSTART").astimezone(UTC) == starts_at
        assert event.decoded("DTSTART").astimezone(BRUSSELS).hour == 14

    # the first one cancels through her confirmation's link: the third moves up and is told
    sams = mail(catcher, FIRST[1], "Inschrijving bevestigd")
    page.goto(link_in(sams, re.escape(service.url) + "/agenda/afmelden/"))
    problems["afmelden"] = grave(page)
    page.get_by_role("button", name="Meld me af").click()
    assert page.locator("h1").inner_text() == "Je bent afgemeld"
    moved_up = mail(catcher, THIRD[1], f"Er is een plaats vrijgekomen: {TITLE}")
    assert "https://meet.example.be/drempels" in moved_up.part("plain")

    # the day before: a reminder to the two seated now, from the scheduler's round with the test's clock
    settings = EventsSettings(database_url=database, feedback_public_url=feedback.url)
    engine = make_engine(database)
    try:
        assert reminders.queue_due(engine, settings, starts_at - timedelta(hours=29)).reminders == 2
        assert reminders.queue_due(engine, settings, starts_at - timedelta(hours=28)).total == 0
        for address, first_words in ((MEMBER[1], "Dag An,"), (THIRD[1], "Dag Kim Wacht,")):
            reminder = mail(catcher, address, f"Herinnering: {TITLE} op ")
            assert reminder.part("plain").startswith(first_words)
            assert "Bischoffsheimlaan 1-8, 1000 Brussel" in reminder.part("plain")
            assert "https://meet.example.be/drempels" in reminder.part("plain")

        # moved to start in a few seconds (so that it can be held now): the new .ics to both
        begins = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=15)
        ends = begins + timedelta(hours=3)
        moved = httpx.post(
            f"{service.url}/sessions/{session_id}/reschedule",
            json={"starts_at": begins.isoformat(), "ends_at": ends.isoformat()},
            headers=staff,
        )
        assert moved.status_code == 200, moved.text
        assert reminders.queue_due(engine, settings, datetime.now(UTC)).changes == 2
        for address in (MEMBER[1], THIRD[1]):
            event = calendar_event(mail(catcher, address, f"Gewijzigd: {TITLE}"))
            assert event.decoded("DTSTART").astimezone(UTC) == begins and int(event["SEQUENCE"]) == 1

        # held: both seated attended; the feedback service asks the member (outsiders have no member id)
        time.sleep(max(0.0, (begins - datetime.now(UTC)).total_seconds()) + 0.5)
        registered = httpx.get(f"{service.url}/sessions/{session_id}/registrations", headers=staff).json()
        seated = [r for r in registered if r["status"] == "registered"]
        assert len(seated) == 2 and not any(r["waitlisted"] for r in seated)
        first_day = begins.astimezone(BRUSSELS).date()
        midnight = datetime.combine(first_day + timedelta(days=1), datetime.min.time(), BRUSSELS)
        first_day_hours = int((min(ends, midnight) - begins).total_seconds() / 36) / 100  # rounded down
        for registration in seated:
            attended = httpx.put(
                f"{service.url}/sessions/{session_id}/registrations/{registration['id']}/attendance",
                # the day and its hours given: run after 21:00 in Brussels, the session runs past
                # midnight, and a session over several days needs them for each attendance
                json={"attended": True, "day": first_day.isoformat(), "hours": first_day_hours},
                headers=staff,
            )
            assert attended.status_code == 200, attended.text
        assert httpx.post(f"{service.url}/sessions/{session_id}/held", headers=staff).status_code == 200

        # not answered three days later: one reminder, with the link to the feedback form
        later = datetime.now(UTC) + timedelta(days=3, hours=1)

        def reminded() -> bool:
            return reminders.queue_due(engine, settings, later).feedback == 1

        # the feedback service asks once the session is held; the request reaches the events service
        infra.wait_until(reminded, 60, 0.5, "the feedback request in the events service, and its reminder")
        assert reminders.queue_due(engine, settings, later + timedelta(days=1)).total == 0
    finally:
        engine.dispose()
    ask = mail(catcher, MEMBER[1], f"Herinnering: wat vond je van {TITLE}?")
    page.goto(link_in(ask, re.escape(feedback.url) + "/feedback/"))
    assert page.locator("form").count() == 1, page.content()
    problems["feedback"] = grave(page)

    # the session and its two registrations in the KPIs
    year = begins.astimezone(BRUSSELS).year

    def counted() -> dict[str, Any] | None:
        try:  # the KPI service may still be catching up on a loaded machine
            answer = httpx.get(f"{kpi.url}/kpis/{year}", headers=infra.auth("viewer"), timeout=30)
        except httpx.TimeoutException:
            return None
        if answer.status_code != 200:
            return None
        found = {k["code"]: k for k in answer.json()["kpis"]}["OD1.2-infosessies"]
        items = [i for i in found.get("items", []) if i.get("session_id") == session_id]
        return items[0] if items and items[0]["registrations"] == 2 else None

    item = infra.wait_until(counted, 120, 0.5, "the info session with its 2 registrations in the KPIs")
    assert item["participants"] == 2

    # every mail exactly once, a few rounds of the sender later
    time.sleep(1.5)
    assert sorted(subjects(catcher, FIRST[1])) == sorted(
        [f"Bevestig je inschrijving: {TITLE}", f"Inschrijving bevestigd: {TITLE}"]
    )
    member_mails = subjects(catcher, MEMBER[1])
    assert member_mails[0] == f"Inschrijving bevestigd: {TITLE}"
    assert member_mails[1].startswith("Herinnering: ") and member_mails[2].startswith("Gewijzigd: ")
    assert member_mails[3] == f"Herinnering: wat vond je van {TITLE}?" and len(member_mails) == 4
    third_mails = subjects(catcher, THIRD[1])
    assert third_mails[:3] == [
        f"Bevestig je inschrijving: {TITLE}",
        f"Op de wachtlijst: {TITLE}",
        f"Er is een plaats vrijgekomen: {TITLE}",
    ]
    assert third_mails[3].startswith("Herinnering: ") and third_mails[4].startswith("Gewijzigd: ")
    assert len(third_mails) == 5 and catcher.count() == 11
    assert {name: found for name, found in problems.items() if found} == {}
