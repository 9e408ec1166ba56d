"""The public agenda as anyone meets it, without signing in, on SQLite and PostgreSQL: the pages list
upcoming sessions by month with their seats left and mark cancelled and moved ones; the calendar
files parse with `icalendar` and keep the announced Brussels hour across the daylight-saving change;
the Atom feed parses with `feedparser` without a bozo error; the JSON-LD is a schema.org Event; stored
hostile text comes out as text; no personal data and no internal meeting reaches a public page."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import feedparser
import icalendar
import pytest

from shared.clock import BRUSSELS
from tests.public.conftest import PUBLIC_BASE, Agenda, brussels, in_days

pytestmark = pytest.mark.integration

LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


def json_ld(html: str) -> dict[str, Any]:
    [found] = LD.findall(html)
    return dict(json.loads(found))


def events_of(body: bytes) -> list[Any]:
    parsed = icalendar.Calendar.from_ical(body)
    return [c for c in parsed.walk("VEVENT")]


def next_dst_end(after: date) -> date:
    """The last Sunday of October on or after `after`: summer time ends there at 03:00."""
    year = after.year
    while True:
        last = date(year, 10, 31)
        sunday = last - timedelta(days=(last.weekday() + 1) % 7)
        if sunday > after:
            return sunday
        year += 1


# --- the agenda page ----------------------------------------------------------------------------


def test_the_agenda_lists_upcoming_sessions_by_month_with_what_a_person_needs(agenda: Agenda) -> None:
    first = agenda.schedule(in_days(10), capacity=2, description="Hoe een bestuur drempels opspoort.")
    agenda.register(first["id"])
    later = agenda.schedule(
        in_days(70), title="Online netwerkmoment", format="online", location="online", lead="joint"
    )
    agenda.schedule(in_days(-10), title="Voorbij en vergeten")
    page = agenda.public.get("/agenda")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="nl-BE">' in html
    assert "Voorbij en vergeten" not in html
    assert html.index("Infosessie digitale drempels") < html.index("Online netwerkmoment")
    day = datetime.fromisoformat(first["starts_at"]).astimezone(BRUSSELS)
    month = "januari februari maart april mei juni juli augustus september oktober november december"
    month_names = month.split(" ")
    assert "<h2 " in html and f"{month_names[day.month - 1]} {day.year}</h2>" in html
    assert f"{day.day} {month_names[day.month - 1]} {day.year}, 14.00 tot 17.00 uur" in html
    assert "Nog 1 plaats vrij" in html
    assert "Bischoffsheimlaan 1-8, 1000 Brussel" in html
    assert "Hoe een bestuur drempels opspoort." in html
    assert "VVSG en Mediawijs" in html and ">online<" in html.replace("<dd>online</dd>", ">online<")
    assert f'href="/agenda/{later["id"]}"' in html


def test_the_agenda_filters_on_a_theme(agenda: Agenda) -> None:
    agenda.schedule(theme="digitale drempels", title="Over drempels")
    agenda.schedule(theme="e-inclusie in de bib", title="Over de bib")
    html = agenda.public.get("/agenda", params={"thema": "e-inclusie in de bib"}).text
    assert "Over de bib" in html and "Over drempels" not in html
    assert '<option value="digitale drempels">' in html  # the other themes stay to choose from
    assert "Er staan geen sessies" in agenda.public.get("/agenda", params={"thema": "onbekend"}).text


def test_internal_meetings_and_sessions_on_request_stay_off_the_public_side(agenda: Agenda) -> None:
    steering = agenda.schedule(kind="steering_group", title="Stuurgroep intern")
    asked = agenda.schedule(
        kind="workshop_on_request",
        title="Workshop voor Zoersel",
        requested_by_organisation_id=str(uuid.uuid4()),
    )
    for path in ("/agenda", "/agenda.atom", "/agenda.ics"):
        body = agenda.public.get(path).text
        assert "Stuurgroep intern" not in body and "Workshop voor Zoersel" not in body, path
    for session in (steering, asked):
        assert agenda.public.get(f"/agenda/{session['id']}").status_code == 404
        assert agenda.public.get(f"/agenda/{session['id']}.ics").status_code == 404


def test_a_full_session_offers_the_waiting_list(agenda: Agenda) -> None:
    session = agenda.schedule(capacity=2)
    for _ in range(3):
        agenda.register(session["id"])
    html = agenda.public.get(f"/agenda/{session['id']}").text
    assert "Volzet: je kan je op de wachtlijst zetten" in html
    data = json_ld(html)
    assert data["offers"]["availability"] == "https://schema.org/SoldOut"
    assert (data["maximumAttendeeCapacity"], data["remainingAttendeeCapacity"]) == (2, 0)


def test_pages_carry_the_security_headers_and_no_token_is_needed(agenda: Agenda) -> None:
    session = agenda.schedule()
    for path in ("/agenda", f"/agenda/{session['id']}", "/agenda/opnames", "/agenda/nergens"):
        response = agenda.public.get(path)
        assert response.status_code in (200, 404), path
        headers = response.headers
        assert headers["content-type"].startswith("text/html"), path
        assert "default-src 'none'" in headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in headers["content-security-policy"], path
        assert "script-src" not in headers["content-security-policy"], path  # no script runs
        assert headers["x-content-type-options"] == "nosniff", path
        assert headers["referrer-policy"] == "no-referrer", path
        assert headers["x-frame-options"] == "DENY", path
        # nothing from elsewhere: every src and href stays on this site, but the canonical address and
        # the organisers' sites in the JSON-LD (data, not requests)
        for url in re.findall(r'(?:src|href)="([^"]+)"', response.text):
            assert url.startswith(("/", "#", PUBLIC_BASE)), (path, url)


def test_an_unknown_or_malformed_session_is_a_dutch_404(agenda: Agenda) -> None:
    for path in (f"/agenda/{uuid.uuid4()}", "/agenda/niet-een-id", f"/agenda/{uuid.uuid4()}.ics"):
        response = agenda.public.get(path)
        assert response.status_code == 404, path
        assert "Deze sessie vinden we niet" in response.text, path


# --- one session: its page and JSON-LD ----------------------------------------------------------


def test_the_session_page_carries_a_schema_org_event(agenda: Agenda) -> None:
    day = in_days(20)
    session = agenda.schedule(
        day,
        format="hybrid",
        capacity=30,
        online_link="https://meet.example.be/geheim-123",
        description="Een middag over drempels.",
        registration_deadline=brussels(day - timedelta(days=2), 12),
    )
    html = agenda.public.get(f"/agenda/{session['id']}").text
    data = json_ld(html)
    url = f"{PUBLIC_BASE}/agenda/{session['id']}"
    assert (data["@context"], data["@type"], data["url"], data["name"]) == (
        "https://schema.org",
        "Event",
        url,
        "Infosessie digitale drempels",
    )
    assert datetime.fromisoformat(data["startDate"]) == datetime.fromisoformat(brussels(day, 14))
    assert data["startDate"].endswith(("+01:00", "+02:00"))  # Brussels time, with its offset
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    place, virtual = data["location"]
    assert (place["@type"], place["address"]) == ("Place", "Bischoffsheimlaan 1-8, 1000 Brussel")
    assert virtual == {"@type": "VirtualLocation", "url": url}
    assert data["offers"]["availability"] == "https://schema.org/InStock"
    assert datetime.fromisoformat(data["offers"]["validThrough"]) == datetime.fromisoformat(
        brussels(day - timedelta(days=2), 12)
    )
    assert data["organizer"][0]["name"] == "VVSG"
    # the link to join goes to those registered only, never to the public page
    assert "geheim-123" not in html
    assert "Inschrijven kan tot" in html


def test_a_moved_session_says_so_and_a_cancelled_one_too(agenda: Agenda) -> None:
    moved = agenda.schedule(in_days(15))
    new_day = in_days(22)
    response = agenda.staff.post(
        f"/sessions/{moved['id']}/reschedule",
        json={"starts_at": brussels(new_day, 9), "ends_at": brussels(new_day, 12)},
    )
    assert response.status_code == 200, response.text
    data = json_ld(agenda.public.get(f"/agenda/{moved['id']}").text)
    assert data["eventStatus"] == "https://schema.org/EventRescheduled"
    assert datetime.fromisoformat(data["previousStartDate"]) == datetime.fromisoformat(
        brussels(in_days(15), 14)
    )
    assert "verplaatst" in agenda.public.get(f"/agenda/{moved['id']}").text

    cancelled = agenda.schedule(in_days(16), title="Gaat niet door")
    reason = "Spreker An Janssens is ziek"
    assert (
        agenda.staff.post(f"/sessions/{cancelled['id']}/cancel", json={"reason": reason}).status_code == 200
    )
    page = agenda.public.get(f"/agenda/{cancelled['id']}").text
    assert "Deze sessie is geannuleerd" in page
    assert json_ld(page)["eventStatus"] == "https://schema.org/EventCancelled"
    assert json_ld(page)["offers"]["availability"] == "https://schema.org/Discontinued"
    listing = agenda.public.get("/agenda").text
    item = listing[listing.index("Gaat niet door") - 300 : listing.index("Gaat niet door")]
    assert "Geannuleerd" in item
    feed = feedparser.parse(agenda.public.get("/agenda.atom").content)
    assert any(e.title == "Geannuleerd: Gaat niet door" for e in feed.entries)
    [event] = [
        e
        for e in events_of(agenda.public.get("/agenda.ics").content)
        if str(e["UID"]).startswith(cancelled["id"])
    ]
    assert (str(event["STATUS"]), int(event["SEQUENCE"])) == ("CANCELLED", 1)
    for path in (
        "/agenda",
        f"/agenda/{cancelled['id']}",
        "/agenda.atom",
        "/agenda.ics",
        f"/agenda/{cancelled['id']}.ics",
    ):
        assert "Janssens" not in agenda.public.get(path).text, path


# --- calendar files -----------------------------------------------------------------------------


def test_session_calendars_keep_the_brussels_hour_across_the_daylight_saving_change(agenda: Agenda) -> None:
    summer = agenda.schedule(date(2026, 10, 24), hour=10, hours=2, title="Nog zomertijd")
    winter = agenda.schedule(date(2026, 10, 26), hour=10, hours=2, title="Al wintertijd")
    expected = {
        summer["id"]: datetime(2026, 10, 24, 8, tzinfo=UTC),  # 10:00 CEST (+02:00)
        winter["id"]: datetime(2026, 10, 26, 9, tzinfo=UTC),  # 10:00 CET (+01:00)
    }
    for session_id, start in expected.items():
        response = agenda.public.get(f"/agenda/{session_id}.ics")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/calendar; charset=utf-8"
        assert b"\r\n" in response.content and b"\n" not in response.content.replace(b"\r\n", b"")
        [event] = events_of(response.content)
        starts, ends = event.decoded("DTSTART"), event.decoded("DTEND")
        assert starts == start and ends - starts == timedelta(hours=2)
        assert starts.astimezone(BRUSSELS).hour == 10
        assert str(event["UID"]) == f"{session_id}@agenda.digitale-inclusie.vvsg.be"
        assert str(event["STATUS"]) == "CONFIRMED"
        assert str(event["URL"]) == f"{PUBLIC_BASE}/agenda/{session_id}"
        calendar = icalendar.Calendar.from_ical(response.content)
        assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Europe/Brussels"]
    # the same file again: the same UID and the same content (stable for calendar apps)
    assert (
        agenda.public.get(f"/agenda/{summer['id']}.ics").content
        == agenda.public.get(f"/agenda/{summer['id']}.ics").content
    )


def test_the_agenda_feed_holds_every_upcoming_session_with_stable_uids(agenda: Agenda) -> None:
    sunday = next_dst_end(datetime.now(BRUSSELS).date())
    before = agenda.schedule(sunday - timedelta(days=1), hour=10, title="Zaterdag voor de omschakeling")
    after = agenda.schedule(sunday + timedelta(days=1), hour=10, title="Maandag na de omschakeling")
    first = agenda.public.get("/agenda.ics")
    assert first.status_code == 200
    assert first.headers["content-type"] == "text/calendar; charset=utf-8"
    events = {str(e["UID"]).split("@")[0]: e for e in events_of(first.content)}
    assert set(events) == {before["id"], after["id"]}
    for event in events.values():
        assert event.decoded("DTSTART").astimezone(BRUSSELS).hour == 10
    assert events[before["id"]].decoded("DTSTART").utcoffset() == timedelta(hours=2)
    assert events[after["id"]].decoded("DTSTART").utcoffset() == timedelta(hours=1)
    # a move keeps the UID and raises the SEQUENCE
    later = sunday + timedelta(days=8)
    agenda.staff.post(
        f"/sessions/{after['id']}/reschedule",
        json={"starts_at": brussels(later, 10), "ends_at": brussels(later, 13)},
    )
    moved = {str(e["UID"]).split("@")[0]: e for e in events_of(agenda.public.get("/agenda.ics").content)}
    assert int(moved[after["id"]]["SEQUENCE"]) == int(events[after["id"]]["SEQUENCE"]) + 1
    assert moved[after["id"]].decoded("DTSTART").date() == later


def test_long_and_special_text_in_a_calendar_is_escaped_and_folded(agenda: Agenda) -> None:
    title = "Digitale inclusie; drempels, kansen \\ en één lange titel " + "é" * 80
    session = agenda.schedule(title=title, description="Eerste regel\nTweede regel, met komma; en puntkomma")
    body = agenda.public.get(f"/agenda/{session['id']}.ics").content
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    [event] = events_of(body)
    assert str(event["SUMMARY"]) == title
    assert "Eerste regel\nTweede regel, met komma; en puntkomma" in str(event["DESCRIPTION"])


# --- the Atom feed ------------------------------------------------------------------------------


def test_the_atom_feed_parses_without_errors_and_lists_upcoming_sessions(agenda: Agenda) -> None:
    coming = agenda.schedule(title="Komt eraan & <snel>")
    agenda.schedule(in_days(-3), title="Al voorbij")
    response = agenda.public.get("/agenda.atom")
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.title == "VVSG – digitale inclusie: agenda"
    [entry] = feed.entries
    assert entry.id == f"urn:uuid:{coming['id']}"
    assert entry.title == "Komt eraan & <snel>"
    assert entry.link == f"{PUBLIC_BASE}/agenda/{coming['id']}"
    assert "Infosessie" in entry.summary


# --- recordings ---------------------------------------------------------------------------------


def test_recordings_by_theme_and_searchable(agenda: Agenda) -> None:
    found = agenda.schedule(
        in_days(-20), title="Webinar digitale kluis", theme="e-overheid", format="online", location="online"
    )
    other = agenda.schedule(
        in_days(-40), title="Webinar over de bib", theme="bibliotheken", format="online", location="online"
    )
    agenda.schedule(in_days(-30), title="Zonder opname", theme="bibliotheken")
    for session, url in ((found, "https://video.example.be/kluis"), (other, "https://video.example.be/bib")):
        assert agenda.staff.post(f"/sessions/{session['id']}/recording", json={"url": url}).status_code == 200
    html = agenda.public.get("/agenda/opnames").text
    assert "2 opnames gevonden." in html
    assert 'href="https://video.example.be/kluis"' in html and "Zonder opname" not in html
    assert html.index(">bibliotheken</h2>") < html.index(">e-overheid</h2>")
    searched = agenda.public.get("/agenda/opnames", params={"zoek": "KLUIS"}).text
    assert "1 opname gevonden." in searched and "Webinar over de bib" not in searched
    assert "0 opnames gevonden." in agenda.public.get("/agenda/opnames", params={"zoek": "%"}).text
    themed = agenda.public.get("/agenda/opnames", params={"thema": "bibliotheken"}).text
    assert "Webinar over de bib" in themed and "digitale kluis" not in themed
    # an overlong search or theme is cut to its limit, and the person still gets the Dutch page
    long = agenda.public.get("/agenda/opnames", params={"zoek": "kluis" + "x" * 10_000, "thema": "b" * 5_000})
    assert long.status_code == 200 and "text/html" in long.headers["content-type"]
    assert "0 opnames gevonden." in long.text


# --- hostile text and personal data -------------------------------------------------------------

SCRIPT = '</script><script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("https://evil.example","klik")'


def test_stored_hostile_text_comes_out_as_text_everywhere(agenda: Agenda) -> None:
    session = agenda.schedule(title=SCRIPT, theme=FORMULA)
    # control characters the API refuses today, written straight into the row as an older one might hold
    agenda.store(
        session["id"],
        title=SCRIPT + "\x0b\x08",
        location="Zaal \x1f1",
        description="Gewoon\x07 tekst\x1b[31m\u0085 hier",
        recording_url="javascript:alert(1)",
    )
    page = agenda.public.get(f"/agenda/{session['id']}").text
    listing = agenda.public.get("/agenda").text
    for html in (page, listing):
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;/script&gt;&lt;script&gt;alert(&#34;x&#34;)" in html
        assert "=HYPERLINK(&#34;https://evil.example&#34;" in html
        assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", html)
        assert "javascript:" not in html
    data = json_ld(page)
    assert data["name"] == SCRIPT and data["about"] == FORMULA  # the JSON is right, and it is escaped
    assert "Zaal 1" in page
    feed = feedparser.parse(agenda.public.get("/agenda.atom").content)
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.entries[0].title == SCRIPT
    [event] = events_of(agenda.public.get(f"/agenda/{session['id']}.ics").content)
    assert str(event["SUMMARY"]) == SCRIPT and str(event["CATEGORIES"].cats[0]) == FORMULA


def test_no_personal_data_reaches_a_public_page(agenda: Agenda) -> None:
    member, organisation = uuid.uuid4(), uuid.uuid4()
    session = agenda.schedule(capacity=5)
    registration = agenda.register(session["id"], member)
    asked = agenda.schedule(
        kind="info_session", title="Voor iedereen", requested_by_organisation_id=str(organisation)
    )
    bodies = [
        agenda.public.get(p).text for p in ("/agenda", "/agenda.atom", "/agenda.ics", "/agenda/opnames")
    ]
    bodies += [
        agenda.public.get(f"/agenda/{s['id']}{x}").text for s in (session, asked) for x in ("", ".ics")
    ]
    for body in bodies:
        for secret in (str(member), str(organisation), registration["id"], "tester@vvsg.be"):
            assert secret not in body
