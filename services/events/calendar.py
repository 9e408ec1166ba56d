"""iCalendar (RFC 5545) for the public agenda: one session's `.ics` and the agenda feed to subscribe to.

Times are written in Europe/Brussels with the zone's VTIMEZONE (its rules since 1996: summer time
from the last Sunday of March, 02:00, to the last Sunday of October, 03:00), so a calendar shows the
hour VVSG announced whatever side of a daylight-saving change the session falls. Each session keeps
one UID for ever; SEQUENCE follows its revision, and a cancelled session stays in the feed with
STATUS:CANCELLED so that subscribed calendars drop it instead of keeping a ghost."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from services.events import agenda
from services.events.agenda import PublicSession

CRLF = "\r\n"
PRODUCT = "-//VVSG//Digitale inclusie agenda 1.0//NL"
UID_DOMAIN = "agenda.digitale-inclusie.vvsg.be"
TZID = "Europe/Brussels"
VTIMEZONE = (
    "BEGIN:VTIMEZONE",
    f"TZID:{TZID}",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
)


def uid(session: PublicSession) -> str:
    return f"{session.id}@{UID_DOMAIN}"


def text(value: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks escaped."""
    value = agenda.clean(value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line: str) -> str:
    """Content lines longer than 75 octets folded (RFC 5545 3.1), never inside a UTF-8 character."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    if len(encoded) == len(line):  # ASCII: a character is an octet
        return (CRLF + " ").join([line[:75], *(line[i : i + 74] for i in range(75, len(line), 74))])
    parts: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # a continuation line starts with one space
        current += char
        size += width
    parts.append(current)
    return (CRLF + " ").join(parts)


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _brussels(moment: datetime) -> str:
    return agenda.local(moment).strftime("%Y%m%dT%H%M%S")


def _event(session: PublicSession, page_url: str) -> list[str]:
    description = [f"{session.kind_words} – {session.theme}", f"Georganiseerd door {session.lead_words}"]
    if session.description:
        description.append(session.description)
    description.append(f"Meer info en inschrijven: {page_url}")
    summary = ("Geannuleerd: " if session.cancelled else "") + session.title
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid(session)}",
        f"DTSTAMP:{_utc(session.updated_at)}",
        f"LAST-MODIFIED:{_utc(session.updated_at)}",
        f"SEQUENCE:{session.revision}",
        f"DTSTART;TZID={TZID}:{_brussels(session.starts_at)}",
        f"DTEND;TZID={TZID}:{_brussels(session.ends_at)}",
        f"SUMMARY:{text(summary)}",
        f"DESCRIPTION:{text(chr(10).join(description))}",
        f"LOCATION:{text(session.place_words)}",
        f"CATEGORIES:{text(session.theme)}",
        f"URL:{page_url}",  # a URI value, not TEXT: our own address, no escaping
        "STATUS:" + ("CANCELLED" if session.cancelled else "CONFIRMED"),
        "TRANSP:OPAQUE",
        "END:VEVENT",
    ]
    return lines


def calendar(sessions: Sequence[PublicSession], page_url_of: Iterable[str], name: str | None = None) -> str:
    """A VCALENDAR with one VEVENT per session (`page_url_of` gives each session's page, in order)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODUCT}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH"]
    if name:
        lines += [f"X-WR-CALNAME:{text(name)}", f"X-WR-TIMEZONE:{TZID}"]
    lines += VTIMEZONE
    for session, url in zip(sessions, page_url_of, strict=True):
        lines += _event(session, url)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)
