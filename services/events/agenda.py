"""The public agenda's read model: which sessions the public sees and what it sees of them, in Dutch.

Only what a session is (kind, title, theme, lead, place, description, times, seats left) reaches the
public: never who registered, who asked for a session given on request, who changed it or why it
was cancelled (staff's reason may name a person). Internal meetings (steering group, coordination)
and sessions given on request for one organisation are not on the agenda.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlmodel import Session, col

from services.events import domain, seats
from services.events.tables import ActivitySession
from shared import events
from shared.text import MONTHS, WEEKDAYS

# --- what people read (nl-BE), kept together for review and translation ----------------------------

SITE = "VVSG – digitale inclusie"
KINDS: dict[str, str] = {
    "network_meeting_general": "Algemene bijeenkomst van het netwerk",
    "network_meeting_thematic": "Thematische bijeenkomst van het netwerk",
    "info_session": "Infosessie",
    "inspiration_day_physical": "Inspiratiedag",
    "inspiration_day_online": "Online inspiratiedag",
    "training_multiday": "Meerdaagse opleiding",
    "training_thematic": "Thematische opleiding",
    "training_integrated": "VVSG-opleiding",
    "presentation_on_request": "Presentatie op vraag",
    "workshop_on_request": "Workshop op vraag",
    "steering_group": "Stuurgroep",
    "coordination_meeting": "Overleg",
}
LEADS: dict[str, str] = {"vvsg": "VVSG", "mediawijs": "Mediawijs", "joint": "VVSG en Mediawijs"}
FORMATS: dict[str, str] = {"online": "online", "physical": "ter plaatse", "hybrid": "ter plaatse en online"}
ONLINE_WORD = "online"
PLACE_UNKNOWN = "plaats volgt nog"

# the kinds the public agenda shows: not the internal meetings, not what one organisation asked for
PUBLIC_KINDS: frozenset[str] = frozenset(KINDS) - {
    "steering_group",
    "coordination_meeting",
    "presentation_on_request",
    "workshop_on_request",
}
# what the agenda feed keeps of the past, so that a subscribed calendar still shows recent sessions
FEED_PAST = timedelta(days=92)
AGENDA_LIMIT = 500

# C0 and C1 control characters except tab and newline: older rows (before the API refused them) or a
# direct database fix may hold them, and XML and iCalendar may not carry them
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_WEB_LINK = re.compile(r"^https?://[^\s\x00-\x1f\x7f-\x9f]+$")


def clean(text: str | None) -> str:
    """Stored text as it may be shown or written into a feed: no control characters, \\r\\n as \\n."""
    if not text:
        return ""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


# --- Brussels time, in words ------------------------------------------------------------------------


def local(moment: datetime) -> datetime:
    return domain.to_utc(moment).astimezone(domain.BRUSSELS)


def day_words(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()]} {day.day} {MONTHS[day.month - 1]} {day.year}"


def clock(moment: datetime) -> str:
    return f"{moment.hour:02d}.{moment.minute:02d} uur"


def when_words(starts_at: datetime, ends_at: datetime) -> str:
    """'dinsdag 4 maart 2026, 14.00 tot 17.00 uur', or both days for a session over several days."""
    start, end = local(starts_at), local(ends_at)
    if start.date() == end.date():
        return f"{day_words(start.date())}, {start.hour:02d}.{start.minute:02d} tot {clock(end)}"
    return f"{day_words(start.date())}, {clock(start)} tot {day_words(end.date())}, {clock(end)}"


def month_words(moment: datetime) -> str:
    start = local(moment)
    return f"{MONTHS[start.month - 1]} {start.year}"


# --- one session as the public sees it ----------------------------------------------------------------


@dataclass(frozen=True)
class PublicSession:
    id: uuid.UUID
    kind: str
    title: str
    theme: str
    lead: str
    format: str
    starts_at: datetime
    ends_at: datetime
    location: str | None
    description: str
    registration_deadline: datetime | None
    capacity: int | None
    registered: int
    waitlisted: int
    status: str
    previous_starts_at: datetime | None
    recording_url: str | None
    revision: int
    updated_at: datetime

    @property
    def kind_words(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def lead_words(self) -> str:
        return LEADS.get(self.lead, self.lead)

    @property
    def format_words(self) -> str:
        return FORMATS.get(self.format, self.format)

    @property
    def cancelled(self) -> bool:
        return self.status == domain.CANCELLED

    @property
    def rescheduled(self) -> bool:
        return self.status == domain.SCHEDULED and self.previous_starts_at is not None

    @property
    def online(self) -> bool:
        return self.format in ("online", "hybrid")

    @property
    def venue(self) -> str | None:
        """The venue's address, when there is one to go to."""
        if self.format == "online" or not self.location or self.location.strip().lower() == events.ONLINE:
            return None
        return self.location

    @property
    def place_words(self) -> str:
        """Where: the venue, "online", or both for a hybrid session."""
        if self.format == "online":
            return ONLINE_WORD
        venue = self.venue or PLACE_UNKNOWN
        return f"{venue} en {ONLINE_WORD}" if self.format == "hybrid" else venue

    @property
    def when_words(self) -> str:
        return when_words(self.starts_at, self.ends_at)

    @property
    def previous_when_words(self) -> str:
        return day_words(local(self.previous_starts_at).date()) if self.previous_starts_at else ""

    @property
    def seats_left(self) -> int | None:
        """Free seats; none: no limit. A waiting list means none are free, whatever the count says."""
        if self.capacity is None:
            return None
        if self.waitlisted:
            return 0
        return max(0, self.capacity - self.registered)

    def closes_at(self) -> datetime:
        return domain.to_utc(self.registration_deadline or self.starts_at)

    def open_for_registration(self, now: datetime) -> bool:
        return self.status == domain.SCHEDULED and now < self.closes_at()

    def seats_words(self, now: datetime) -> str:
        if self.cancelled:
            return "Geannuleerd"
        if not self.open_for_registration(now):
            return "Inschrijvingen afgesloten"
        left = self.seats_left
        if left is None:
            return "Nog plaatsen vrij"
        if left == 0:
            return "Volzet: je kan je op de wachtlijst zetten"
        return "Nog 1 plaats vrij" if left == 1 else f"Nog {left} plaatsen vrij"

    def deadline_words(self) -> str:
        if self.registration_deadline is None:
            return ""
        deadline = local(self.registration_deadline)
        return f"{day_words(deadline.date())}, {clock(deadline)}"


def public_session(activity: ActivitySession, counts: seats.Counts | None) -> PublicSession:
    counts = counts or seats.Counts()
    return PublicSession(
        id=activity.id,
        kind=activity.kind,
        title=clean(activity.title),
        theme=clean(activity.theme),
        lead=activity.lead,
        format=activity.format,
        starts_at=domain.to_utc(activity.starts_at),
        ends_at=domain.to_utc(activity.ends_at),
        location=clean(activity.location) or None,
        description=clean(activity.description),
        registration_deadline=activity.registration_deadline,
        capacity=activity.capacity,
        registered=counts.registered,
        waitlisted=counts.waitlisted,
        status=activity.status,
        previous_starts_at=activity.previous_starts_at,
        # the API takes only web links; a row from elsewhere with another scheme is not linked to
        recording_url=activity.recording_url if _WEB_LINK.match(activity.recording_url or "") else None,
        revision=activity.revision,
        updated_at=domain.to_utc(activity.updated_at),
    )


def _with_counts(db: Session, rows: Sequence[ActivitySession]) -> list[PublicSession]:
    counts = seats.counts(db, [r.id for r in rows])
    return [public_session(r, counts.get(r.id)) for r in rows]


_IS_PUBLIC = col(ActivitySession.kind).in_(sorted(PUBLIC_KINDS))


def upcoming(db: Session, now: datetime, theme: str | None = None) -> list[PublicSession]:
    """Sessions not yet over, cancelled ones included (shown as such), in order of their start."""
    stmt = select(ActivitySession).where(
        _IS_PUBLIC,
        col(ActivitySession.ends_at) > now,
        col(ActivitySession.status) != domain.HELD,
    )
    if theme:
        stmt = stmt.where(col(ActivitySession.theme) == theme)
    rows = db.execute(
        stmt.order_by(col(ActivitySession.starts_at), col(ActivitySession.id)).limit(AGENDA_LIMIT)
    ).scalars()
    return _with_counts(db, list(rows))


def upcoming_themes(db: Session, now: datetime) -> list[str]:
    rows = db.execute(
        select(col(ActivitySession.theme))
        .where(
            _IS_PUBLIC,
            col(ActivitySession.ends_at) > now,
            col(ActivitySession.status) != domain.HELD,
        )
        .distinct()
    ).scalars()
    return sorted({clean(t) for t in rows if clean(t)}, key=str.casefold)


def for_feed(db: Session, now: datetime) -> list[PublicSession]:
    """What the agenda feed carries: the recent past and everything ahead, cancelled ones included."""
    rows = db.execute(
        select(ActivitySession)
        .where(_IS_PUBLIC, col(ActivitySession.ends_at) > now - FEED_PAST)
        .order_by(col(ActivitySession.starts_at), col(ActivitySession.id))
        .limit(AGENDA_LIMIT)
    ).scalars()
    return _with_counts(db, list(rows))


def one(db: Session, session_id: uuid.UUID) -> PublicSession | None:
    activity = db.get(ActivitySession, session_id)
    if activity is None or activity.kind not in PUBLIC_KINDS:
        return None
    return _with_counts(db, [activity])[0]


def recordings(db: Session, search: str = "", theme: str | None = None) -> list[PublicSession]:
    """Sessions with a recording, newest first; `search` is looked for in title, theme and description
    (as text: % and _ are no wildcards)."""
    stmt = select(ActivitySession).where(
        _IS_PUBLIC,
        col(ActivitySession.recording_url).is_not(None),
        col(ActivitySession.status) != domain.CANCELLED,
    )
    if theme:
        stmt = stmt.where(col(ActivitySession.theme) == theme)
    for word in search.split()[:8]:
        stmt = stmt.where(
            or_(
                col(ActivitySession.title).icontains(word, autoescape=True),
                col(ActivitySession.theme).icontains(word, autoescape=True),
                col(ActivitySession.description).icontains(word, autoescape=True),
            )
        )
    rows = db.execute(
        stmt.order_by(col(ActivitySession.starts_at).desc(), col(ActivitySession.id)).limit(AGENDA_LIMIT)
    ).scalars()
    return _with_counts(db, list(rows))


def recording_themes(db: Session) -> list[str]:
    rows = db.execute(
        select(col(ActivitySession.theme))
        .where(
            _IS_PUBLIC,
            col(ActivitySession.recording_url).is_not(None),
            col(ActivitySession.status) != domain.CANCELLED,
        )
        .distinct()
    ).scalars()
    return sorted({clean(t) for t in rows if clean(t)}, key=str.casefold)
