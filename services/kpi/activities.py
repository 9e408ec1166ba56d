"""Activities (OD 1.1 meetings – OD 3.3 tailored support): the read models of sessions, registrations,
attendance, advice and trajectories, how `activities.events` fill them, and the KPIs computed from them.

Every row is either a fact keyed by its event id or the latest state of one thing, where the event with
the latest envelope time wins (ties broken by event id), so arrival order and redelivery never matter.
A session counts as held in a year when a `session.held` names a day of that year; participant hours
are the latest `attendance.recorded` per registration, whatever arrived first."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Column, Executable, Text, bindparam, select
from sqlmodel import Field, SQLModel, col

from services.kpi import membership
from services.kpi.core import Computed, Context, Handler, among, naive_utc, raw_id, until, within
from services.kpi.store import ReadModels
from shared import events

# --- read models --------------------------------------------------------------------------------


class KpiActivitySession(SQLModel, table=True):
    """What a session is (from `session.scheduled`) and when (the latest schedule wins)."""

    __tablename__ = "kpi_act_sessions"

    session_id: uuid.UUID = Field(primary_key=True)
    kind: str | None = Field(default=None, max_length=40)
    title: str | None = Field(default=None, max_length=500)
    theme: str | None = Field(default=None, max_length=500)
    lead: str | None = Field(default=None, max_length=20)
    format: str | None = Field(default=None, max_length=20)
    requested_by_organisation_id: uuid.UUID | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    planned_hours: float | None = None
    schedule_time: datetime | None = None
    schedule_event_id: str | None = Field(default=None, max_length=200)
    recording_url: str | None = Field(default=None, max_length=2000)
    recording_time: datetime | None = None
    recording_event_id: str | None = Field(default=None, max_length=200)
    # the day it was held: the latest `session.held` (by envelope time, then event id) of the facts,
    # kept here as they arrive so that "held in year Y up to D" is one indexed range
    held_on: date | None = Field(default=None, index=True)
    held_time: datetime | None = None
    held_event_id: str | None = Field(default=None, max_length=200)


class KpiActivitySessionFact(SQLModel, table=True):
    """`session.held` or `session.cancelled`, on its business date."""

    __tablename__ = "kpi_act_session_facts"

    event_id: str = Field(primary_key=True, max_length=200)
    session_id: uuid.UUID = Field(index=True)
    fact: str = Field(max_length=20)
    on_date: date = Field(index=True)
    event_time: datetime
    participants: int | None = None
    participant_hours: float | None = None


class KpiActivityRegistration(SQLModel, table=True):
    """Latest `registration.received` per registration (a promotion from the waiting list publishes
    it again); a `registration.cancelled` ends it for good."""

    __tablename__ = "kpi_act_registrations"

    registration_id: uuid.UUID = Field(primary_key=True)
    session_id: uuid.UUID = Field(index=True)
    member_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    organisation_kind: str | None = Field(default=None, max_length=60)
    waitlisted: bool | None = None
    version_time: datetime | None = None
    version_event_id: str | None = Field(default=None, max_length=200)
    cancelled: bool = False


class KpiActivityAttendance(SQLModel, table=True):
    """Latest `attendance.recorded` per registration: it carries the registration's total hours."""

    __tablename__ = "kpi_act_attendance"

    registration_id: uuid.UUID = Field(primary_key=True)
    session_id: uuid.UUID = Field(index=True)
    attended: bool
    hours: float
    version_time: datetime
    version_event_id: str = Field(max_length=200)


class KpiActivityAdvice(SQLModel, table=True):
    __tablename__ = "kpi_act_advice"

    advice_id: uuid.UUID = Field(primary_key=True)
    organisation_id: uuid.UUID
    given_on: date = Field(index=True)
    topic: str = Field(max_length=500)
    channel: str = Field(max_length=20)
    with_mediawijs: bool
    version_time: datetime
    version_event_id: str = Field(max_length=200)


class KpiActivityTrajectory(SQLModel, table=True):
    """A tailored-support trajectory: its start (and what it is) and its completion, in any order."""

    __tablename__ = "kpi_act_trajectories"

    trajectory_id: uuid.UUID = Field(primary_key=True)
    organisation_id: uuid.UUID | None = None
    started_on: date | None = None
    stage: str | None = Field(default=None, max_length=20)
    methodology: str | None = Field(default=None, max_length=500)
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    started_time: datetime | None = None
    started_event_id: str | None = Field(default=None, max_length=200)
    completed_on: date | None = None
    completed_time: datetime | None = None
    completed_event_id: str | None = Field(default=None, max_length=200)


TABLES = (
    KpiActivitySession,
    KpiActivitySessionFact,
    KpiActivityRegistration,
    KpiActivityAttendance,
    KpiActivityAdvice,
    KpiActivityTrajectory,
)


# --- projection ---------------------------------------------------------------------------------


def _newer(event: events.Event, time: datetime | None, event_id: str | None) -> bool:
    """Does this event win over the stored version? Later envelope time wins; ties by event id."""
    if time is None or event_id is None:
        return True
    return (naive_utc(event.time), event.id) >= (naive_utc(time), event_id)


def _session_row(store: ReadModels, session_id: uuid.UUID) -> KpiActivitySession:
    row = store.get(KpiActivitySession, session_id)
    return row if row is not None else store.new(KpiActivitySession, session_id=session_id)


def _scheduled(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.SessionScheduled)
    row = _session_row(store, data.session_id)
    row.kind, row.title, row.theme = data.kind, data.title, data.theme
    row.lead, row.format = data.lead, data.format
    row.requested_by_organisation_id = data.requested_by_organisation_id
    if _newer(event, row.schedule_time, row.schedule_event_id):
        row.starts_at, row.ends_at, row.planned_hours = data.starts_at, data.ends_at, data.planned_hours
        row.schedule_time, row.schedule_event_id = event.time, event.id
    store.add(row)


def _rescheduled(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.SessionRescheduled)
    row = _session_row(store, data.session_id)
    if _newer(event, row.schedule_time, row.schedule_event_id):
        row.starts_at, row.ends_at, row.planned_hours = data.starts_at, data.ends_at, data.planned_hours
        row.schedule_time, row.schedule_event_id = event.time, event.id
    store.add(row)


def _recording(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.RecordingPublished)
    row = _session_row(store, data.session_id)
    if _newer(event, row.recording_time, row.recording_event_id):
        row.recording_url, row.recording_time, row.recording_event_id = data.url, event.time, event.id
    store.add(row)


def _session_fact(store: ReadModels, event: events.Event) -> None:
    data = event.data
    if isinstance(data, events.SessionHeld):  # a later cancellation never undoes it
        row = _session_row(store, data.session_id)
        if _newer(event, row.held_time, row.held_event_id):
            row.held_on, row.held_time, row.held_event_id = data.held_on, event.time, event.id
        store.add(row)
    if store.get(KpiActivitySessionFact, event.id) is not None:
        return
    if isinstance(data, events.SessionHeld):
        fact = store.new(
            KpiActivitySessionFact,
            event_id=event.id,
            session_id=data.session_id,
            fact="held",
            on_date=data.held_on,
            event_time=event.time,
            participants=data.participants,
            participant_hours=data.participant_hours,
        )
    elif isinstance(data, events.SessionCancelled):
        fact = store.new(
            KpiActivitySessionFact,
            event_id=event.id,
            session_id=data.session_id,
            fact="cancelled",
            on_date=data.cancelled_on,
            event_time=event.time,
        )
    else:
        raise TypeError(type(data))
    store.add(fact)


def _registration_row(
    store: ReadModels, registration_id: uuid.UUID, session_id: uuid.UUID
) -> KpiActivityRegistration:
    row = store.get(KpiActivityRegistration, registration_id)
    return (
        row
        if row is not None
        else store.new(KpiActivityRegistration, registration_id=registration_id, session_id=session_id)
    )


def _registration(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.RegistrationReceived)
    row = _registration_row(store, data.registration_id, data.session_id)
    if _newer(event, row.version_time, row.version_event_id):
        row.session_id, row.member_id = data.session_id, data.member_id
        row.organisation_id, row.organisation_kind = data.organisation_id, data.organisation_kind
        row.waitlisted = data.waitlisted
        row.version_time, row.version_event_id = event.time, event.id
    store.add(row)


def _registration_cancelled(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.RegistrationCancelled)
    row = _registration_row(store, data.registration_id, data.session_id)
    row.cancelled = True
    store.add(row)


def _attendance(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.AttendanceRecorded)
    row = store.get(KpiActivityAttendance, data.registration_id)
    if row is None:
        row = store.new(
            KpiActivityAttendance,
            registration_id=data.registration_id,
            session_id=data.session_id,
            attended=data.attended,
            hours=data.hours,
            version_time=event.time,
            version_event_id=event.id,
        )
    elif _newer(event, row.version_time, row.version_event_id):
        row.session_id, row.attended, row.hours = data.session_id, data.attended, data.hours
        row.version_time, row.version_event_id = event.time, event.id
    store.add(row)


def _advice(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.AdviceGiven)
    row = store.get(KpiActivityAdvice, data.advice_id)
    if row is not None and not _newer(event, row.version_time, row.version_event_id):
        return
    if row is None:
        row = store.new(
            KpiActivityAdvice,
            advice_id=data.advice_id,
            organisation_id=data.organisation_id,
            given_on=data.given_on,
            topic=data.topic,
            channel=data.channel,
            with_mediawijs=data.with_mediawijs,
            version_time=event.time,
            version_event_id=event.id,
        )
    else:
        row.organisation_id, row.given_on, row.topic = data.organisation_id, data.given_on, data.topic
        row.channel, row.with_mediawijs = data.channel, data.with_mediawijs
        row.version_time, row.version_event_id = event.time, event.id
    store.add(row)


def _trajectory(store: ReadModels, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.SupportTrajectoryStarted | events.SupportTrajectoryCompleted)
    row = store.get(KpiActivityTrajectory, data.trajectory_id)
    if row is None:
        row = store.new(KpiActivityTrajectory, trajectory_id=data.trajectory_id)
    if isinstance(data, events.SupportTrajectoryStarted):
        if _newer(event, row.started_time, row.started_event_id):
            row.organisation_id, row.started_on, row.stage = data.organisation_id, data.started_on, data.stage
            row.methodology, row.description = data.methodology, data.description
            row.started_time, row.started_event_id = event.time, event.id
    elif _newer(event, row.completed_time, row.completed_event_id):
        row.completed_on, row.completed_time, row.completed_event_id = data.completed_on, event.time, event.id
    store.add(row)


HANDLERS: dict[type[events.EventData], Handler] = {
    events.SessionScheduled: _scheduled,
    events.SessionRescheduled: _rescheduled,
    events.SessionCancelled: _session_fact,
    events.SessionHeld: _session_fact,
    events.RecordingPublished: _recording,
    events.RegistrationReceived: _registration,
    events.RegistrationCancelled: _registration_cancelled,
    events.AttendanceRecorded: _attendance,
    events.AdviceGiven: _advice,
    events.SupportTrajectoryStarted: _trajectory,
    events.SupportTrajectoryCompleted: _trajectory,
}

# The rows these handlers look up, and the events that name them (by the key's field, or by their own
# id for an `event_id` key): the projection preloads them per batch.
LOOKUPS: dict[type[SQLModel], tuple[type[events.EventData], ...]] = {
    KpiActivitySession: (
        events.SessionScheduled,
        events.SessionRescheduled,
        events.RecordingPublished,
        events.SessionHeld,
    ),
    KpiActivitySessionFact: (events.SessionHeld, events.SessionCancelled),
    KpiActivityRegistration: (events.RegistrationReceived, events.RegistrationCancelled),
    KpiActivityAttendance: (events.AttendanceRecorded,),
    KpiActivityAdvice: (events.AdviceGiven,),
    KpiActivityTrajectory: (events.SupportTrajectoryStarted, events.SupportTrajectoryCompleted),
}


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeldSession:
    """A session held in the period asked for, with its participants from the attendance records."""

    session_id: uuid.UUID
    kind: str
    held_on: date
    title: str
    theme: str | None
    lead: str | None
    format: str | None
    participants: int
    participant_hours: float
    registrations: int
    recording_url: str | None

    def item(self) -> dict[str, Any]:
        return {
            "session_id": str(self.session_id),
            "title": self.title,
            "date": self.held_on.isoformat(),
            "kind": self.kind,
            "lead": self.lead,
            "format": self.format,
            "theme": self.theme,
            "participants": self.participants,
            "participant_hours": self.participant_hours,
            "registrations": self.registrations,
            "recording_url": self.recording_url,
        }


def held_sessions(ctx: Context) -> list[HeldSession]:
    """Sessions held in the period (held_on between 1 January and D), in date order. Public: the
    feedback KPIs use it to know which sessions were held."""

    def load() -> list[HeldSession]:
        # columns, not ORM objects: building an instance per registration and attendance row cost more
        # than the queries (the year's sessions are indexed by held_on, their rows by session_id)
        sessions = {row.session_id: row for row in ctx.session.execute(_held_in_period(), ctx.bounds)}
        held: dict[uuid.UUID, date] = {sid: row.held_on for sid, row in sessions.items()}
        if not held:
            return []
        ids = {"ids": list(held)}
        registrations = ctx.session.execute(_registrations_of_sessions(), ids).all()
        cancelled = {row.registration_id for row in registrations if row.cancelled}
        seats: dict[Any, int] = defaultdict(int)
        for row in registrations:
            if not row.cancelled and row.received and not row.waitlisted:
                seats[row.session_id] += 1
        hours: dict[Any, list[float]] = defaultdict(list)
        for row in ctx.session.execute(_attendances_of_sessions(), ids):
            if row.attended and row.registration_id not in cancelled:
                hours[row.session_id].append(row.hours)
        result = []
        for session_id, day in held.items():
            found = sessions.get(session_id)
            if found is None or found.kind is None:  # not scheduled as far as we know yet: no kind to count
                continue
            key = ctx.raw_key(session_id)
            attended = sorted(hours.get(key, []))
            result.append(
                HeldSession(
                    session_id=session_id,
                    kind=found.kind,
                    held_on=day,
                    title=found.title or "",
                    theme=found.theme,
                    lead=found.lead,
                    format=found.format,
                    participants=len(attended),
                    participant_hours=round(sum(attended), 2),
                    registrations=seats.get(key, 0),
                    recording_url=found.recording_url,
                )
            )
        return sorted(result, key=lambda s: (s.held_on, s.title, str(s.session_id)))

    return ctx.memo("activities.held_sessions", load)


@cache
def _held_in_period() -> Executable:
    s = KpiActivitySession
    return select(
        col(s.session_id),
        col(s.held_on),
        col(s.kind),
        col(s.title),
        col(s.theme),
        col(s.lead),
        col(s.format),
        col(s.recording_url),
    ).where(within(col(s.held_on)))


# The registrations' and attendances' ids as the driver gives them (raw_id): compared with each other
# and looked up by the session's raw key, never turned into uuid.UUID objects one row at a time.


@cache
def _registrations_of_sessions() -> Executable:
    r = KpiActivityRegistration
    return select(
        raw_id(col(r.registration_id)).label("registration_id"),
        raw_id(col(r.session_id)).label("session_id"),
        col(r.cancelled),
        col(r.version_time).is_not(None).label("received"),
        col(r.waitlisted),
    ).where(among(col(r.session_id)))


@cache
def _attendances_of_sessions() -> Executable:
    a = KpiActivityAttendance
    return select(
        raw_id(col(a.registration_id)).label("registration_id"),
        raw_id(col(a.session_id)).label("session_id"),
        col(a.attended),
        col(a.hours),
    ).where(among(col(a.session_id)))


def _held_of(ctx: Context, kinds: set[str], lead: str | None = None) -> list[HeldSession]:
    return [s for s in held_sessions(ctx) if s.kind in kinds and (lead is None or s.lead == lead)]


def _count(kinds: set[str], lead: str | None = None) -> Callable[[Context], Computed]:
    def compute(ctx: Context) -> Computed:
        sessions = _held_of(ctx, kinds, lead)
        return Computed(len(sessions), [s.item() for s in sessions])

    return compute


def _hours(kinds: set[str], lead: str | None = None) -> Callable[[Context], Computed]:
    def compute(ctx: Context) -> Computed:
        sessions = _held_of(ctx, kinds, lead)
        total = round(sum(sorted(s.participant_hours for s in sessions)), 2)
        return Computed(total, [s.item() for s in sessions])

    return compute


def advice(ctx: Context) -> Computed:
    """OD3.2-advies: advice conversations given in the period; items: the conversations."""
    rows = ctx.session.scalars(_advice_in_period(), ctx.bounds).all()
    organisations = membership.organisations(ctx, [row.organisation_id for row in rows])
    items = []
    for row in sorted(rows, key=lambda a: (a.given_on, str(a.advice_id))):
        organisation = organisations.get(row.organisation_id)
        items.append(
            {
                "advice_id": str(row.advice_id),
                "date": row.given_on.isoformat(),
                "organisation_id": str(row.organisation_id),
                "organisation": organisation.name if organisation else None,
                "organisation_kind": membership.kind_of(ctx, row.organisation_id),
                "topic": row.topic,
                "channel": row.channel,
                "with_mediawijs": row.with_mediawijs,
            }
        )
    return Computed(len(items), items)


@cache
def _advice_in_period() -> Executable:
    return select(KpiActivityAdvice).where(within(col(KpiActivityAdvice.given_on)))


def tailored_support(ctx: Context) -> Computed:
    """OD3.3-op-maat: organisations with a trajectory active in the year (started by D, not completed
    before 1 January); items: one per organisation with its trajectories."""
    period = ctx.period
    per_organisation: dict[uuid.UUID, list[KpiActivityTrajectory]] = defaultdict(list)
    rows = ctx.session.execute(_trajectories_in_period(), ctx.bounds).scalars()
    for row in rows:
        if row.started_on is None or row.organisation_id is None:  # (the query leaves none)
            continue
        per_organisation[row.organisation_id].append(row)
    organisations = membership.organisations(ctx, per_organisation)
    items: list[tuple[tuple[str, str], dict[str, Any]]] = []
    for organisation_id, trajectories in per_organisation.items():
        organisation = organisations.get(organisation_id)
        name = organisation.name if organisation else None
        item = {
            "organisation_id": str(organisation_id),
            "organisation": name,
            "organisation_kind": membership.kind_of(ctx, organisation_id),
            "trajectories": [
                {
                    "trajectory_id": str(t.trajectory_id),
                    "stage": t.stage,
                    "methodology": t.methodology,
                    "description": t.description,
                    "started_on": t.started_on.isoformat() if t.started_on else None,
                    "completed_on": (
                        t.completed_on.isoformat()
                        if t.completed_on is not None and t.completed_on <= period.end
                        else None
                    ),
                }
                for t in sorted(trajectories, key=lambda t: (t.started_on or date.min, str(t.trajectory_id)))
            ],
        }
        items.append((((name or "").lower(), str(organisation_id)), item))
    return Computed(len(items), [item for _, item in sorted(items, key=lambda pair: pair[0])])


@cache
def _trajectories_in_period() -> Executable:
    t = KpiActivityTrajectory
    return select(t).where(
        until(col(t.started_on)),
        col(t.organisation_id).is_not(None),
        col(t.completed_on).is_(None) | (col(t.completed_on) >= bindparam("start")),
    )


KPIS: dict[str, Callable[[Context], Computed]] = {
    "OD1.1-bijeenkomsten-algemeen": _count({"network_meeting_general"}),
    "OD1.1-bijeenkomsten-specifiek": _count({"network_meeting_thematic"}),
    "OD1.2-infosessies": _count({"info_session"}, lead="vvsg"),
    "OD1.2-deelnemersuren": _hours({"info_session"}, lead="vvsg"),
    "OD1.2-inspiratiedag-fysiek": _count({"inspiration_day_physical"}),
    "OD1.2-inspiratiedag-online": _count({"inspiration_day_online"}),
    "OD1.3-op-vraag": _count({"presentation_on_request", "workshop_on_request"}),
    "OD2.1-meerdaagse": _count({"training_multiday"}),
    "OD2.2-thematisch": _count({"training_thematic"}),
    "OD2.2-geintegreerd": _count({"training_integrated"}),
    "OD2.2-deelnemersuren": _hours({"training_thematic", "training_integrated"}),
    "OD3.2-advies": advice,
    "OD3.3-op-maat": tailored_support,
    "afstemming-stuurgroep": _count({"steering_group"}),
    "afstemming-overleg": _count({"coordination_meeting"}),
}
