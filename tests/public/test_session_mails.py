"""The mails around a session (issue 16, item 2), on SQLite and PostgreSQL with the real broker and a real
SMTP server started by the test: the events service runs as it does (its sender loop sends), and the
scheduler's round (reminders.queue_due) is called with the test's clock instead of waiting a day.

The reminder reaches each seated person once (not the waiting list, not a cancelled registration),
whatever the number of rounds or instances; a cancelled session mails everyone registered once with an
iCalendar METHOD:CANCEL (same UID, higher SEQUENCE), a moved one the updated event, and neither for a
change older than the window; the feedback reminder goes once to whoever has not answered, with a link
the feedback service accepts, never for an expired request; an erased member is mailed nothing; the
newsletter service confirms a registration made on the public agenda no second time; and the .ics of
the mails keep Brussels time across the daylight-saving changes."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session, col

from services.events import domain, mails, reminders
from services.events.app import build
from services.events.reminders_tables import FeedbackRequest, MemberAddress
from services.events.settings import EventsSettings
from services.events.tables import ActivitySession, KnownMember, Registration, SignupMail
from shared import events, links, topics
from shared.clock import BRUSSELS
from shared.db import make_engine
from tests import infra
from tests.infra import AUTH_SECRET, auth, wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher, Received
from tests.public.conftest import PUBLIC_BASE, Agenda, anonymous, in_days

pytestmark = pytest.mark.integration

LINK_SECRET = "s" * 40
FEEDBACK_BASE = "https://feedback.example.be"


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    server = MailCatcher().start()
    try:
        yield server
    finally:
        server.stop()


def settings_for(database_url: str, kafka_bootstrap: str, topic_prefix: str, port: int) -> EventsSettings:
    return EventsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,
        link_secret=LINK_SECRET,
        public_base_url=PUBLIC_BASE,
        public_rate_per_minute=100_000,
        smtp_port=port,
        signup_mail_poll_seconds=0.2,
        session_mail_interval_seconds=3600,  # the test runs the rounds itself, with its own clock
        feedback_public_url=FEEDBACK_BASE,
    )


@pytest.fixture
def settings(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, catcher: MailCatcher
) -> EventsSettings:
    return settings_for(database_url, kafka_bootstrap, topic_prefix, catcher.port)


@pytest.fixture
def mailed(settings: EventsSettings, kafka_bootstrap: str, topic_prefix: str) -> Iterator[Agenda]:
    app = build(settings)
    with TestClient(app, headers=auth("staff")) as staff:
        yield Agenda(staff, anonymous(staff), app.state.runtime.engine, kafka_bootstrap, topic_prefix)


def produce(agenda: Agenda, *datas: events.EventData, at: datetime | None = None) -> None:
    records: list[tuple[str, bytes | None, bytes | None]] = [
        (
            agenda.prefix + d.TOPIC,
            d.key().encode(),
            events.encode(events.new_envelope(d, source="/services/test", time=at)),
        )
        for d in datas
    ]
    asyncio.run(infra.produce(agenda.bootstrap, records))


def members(agenda: Agenda, *people: tuple[str, str]) -> list[uuid.UUID]:
    """Members of a local government with their (first name, address) on the contacts topic, as the
    members service publishes them; waits until the events service has its copy."""
    organisation = uuid.uuid4()
    ids = [uuid.uuid4() for _ in people]
    datas: list[events.EventData] = [
        events.OrganisationRegistered(
            organisation_id=organisation,
            name="Gemeente Zemst",
            kind="lokaal_bestuur",
            registered_on=date(2024, 1, 1),
        ),
        *(
            events.MemberJoined(member_id=m, organisation_id=organisation, joined_on=date(2024, 2, 1))
            for m in ids
        ),
    ]
    produce(agenda, *datas)
    contacts: list[tuple[str, bytes | None, bytes | None]] = [
        (
            agenda.prefix + topics.MEMBERS_CONTACTS,
            str(m).encode(),
            json.dumps(
                {"member_id": str(m), "first_name": first, "last_name": "Peeters", "email": email}
            ).encode(),
        )
        for m, (first, email) in zip(ids, people, strict=True)
    ]
    asyncio.run(infra.produce(agenda.bootstrap, contacts))

    def copied() -> bool:
        with Session(agenda.engine) as db:
            return all(db.get(MemberAddress, m) and db.get(KnownMember, m) for m in ids)

    wait_until(copied, what="the members and their addresses in the events service")
    return ids


def register(agenda: Agenda, session_id: str, member: uuid.UUID) -> dict[str, Any]:
    return agenda.register(session_id, member)


def starts(session: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(session["starts_at"]).astimezone(UTC)


def address(agenda: Agenda, member: uuid.UUID) -> str | None:
    with Session(agenda.engine) as db:
        found = db.get(MemberAddress, member)
        return found.email if found else None


def changed_at(agenda: Agenda, session_id: str, moment: datetime) -> None:
    """The session's last change, as far as the scheduler can tell, set to `moment`."""
    with Session(agenda.engine) as db:
        activity = db.get(ActivitySession, uuid.UUID(session_id))
        assert activity is not None
        activity.updated_at = moment
        db.add(activity)
        db.commit()


def rows(agenda: Agenda) -> list[SignupMail]:
    with Session(agenda.engine) as db:
        return list(db.execute(select(SignupMail).order_by(col(SignupMail.id))).scalars())


def settle(agenda: Agenda) -> None:
    """Until nothing is pending and a few more rounds of the sender loop have passed."""
    wait_until(lambda: all(r.status != mails.PENDING for r in rows(agenda)), what="no mail pending")
    time.sleep(1.0)  # five rounds of the loop: a second sending would show now


def calendar_of(received: Received) -> Any:
    [part] = [p for p in received.message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return part, icalendar.Calendar.from_ical(part.get_content())


def vevent(parsed: Any) -> Any:
    [event] = [c for c in parsed.walk() if c.name == "VEVENT"]
    return event


# --- the reminder ---------------------------------------------------------------------------------


def test_the_reminder_reaches_each_seated_person_once(
    mailed: Agenda, settings: EventsSettings, catcher: MailCatcher
) -> None:
    anna, bert, cas, dirk = members(
        mailed,
        ("Anna", "anna@zemst.example"),
        ("Bert", "bert@zemst.example"),
        ("Cas", "cas@zemst.example"),
        ("Dirk", "dirk@zemst.example"),
    )
    session = mailed.schedule(
        in_days(10), capacity=2, format="hybrid", online_link="https://meet.example.be/sessie-7"
    )
    register(mailed, session["id"], anna)
    dirks = register(mailed, session["id"], dirk)
    register(mailed, session["id"], bert)  # the session is full now: Bert waits
    cancel = mailed.staff.post(f"/sessions/{session['id']}/registrations/{dirks['id']}/cancel")
    assert cancel.status_code == 200, cancel.text  # Bert moves up into Dirk's seat
    register(mailed, session["id"], cas)  # and Cas waits
    moved_up = catcher.wait_for("bert@zemst.example")[0]
    assert moved_up.message["Subject"] == "Er is een plaats vrijgekomen: Infosessie digitale drempels"
    assert "met een mail naar digitale.inclusie@vvsg.be" in moved_up.part("plain")  # no cancel link
    begins = starts(session)

    assert reminders.queue_due(mailed.engine, settings, begins - timedelta(hours=31)).reminders == 0
    assert reminders.queue_due(mailed.engine, settings, begins - timedelta(hours=29)).reminders == 2
    # later rounds (of this instance or another one on the same database): nothing more
    assert reminders.queue_due(mailed.engine, settings, begins - timedelta(hours=28)).total == 0
    assert reminders.queue_due(mailed.engine, settings, begins - timedelta(hours=5)).total == 0

    [first] = catcher.wait_for("anna@zemst.example")
    [second] = catcher.wait_for("bert@zemst.example", n=2)[1:]
    settle(mailed)
    for received, name in ((first, "Anna"), (second, "Bert")):
        text = received.part("plain")
        assert received.subject.startswith("Herinnering: Infosessie digitale drempels op ")
        assert text.startswith(f"Dag {name},")
        assert received.message["Content-Language"] == "nl-BE"
        assert "Bischoffsheimlaan 1-8, 1000 Brussel" in text  # the place
        assert "https://meet.example.be/sessie-7" in text  # and the link to join
        assert f"{PUBLIC_BASE}/agenda/{session['id']}" in text
    assert catcher.to("cas@zemst.example") == []  # on the waiting list
    assert catcher.to("dirk@zemst.example") == []  # cancelled
    assert catcher.count() == 3  # Bert's move-up and the two reminders
    assert [r.status for r in rows(mailed)] == [mails.SENT] * 3
    assert all(r.recipient is None for r in rows(mailed))  # looked up when sent, never stored


def test_two_instances_at_once_queue_each_reminder_once(
    agenda: Agenda, settings: EventsSettings, database_url: str
) -> None:
    """Two schedulers (two instances of the service) run the same round at the same moment on one
    database: the unique key (registration, kind) lets each mail in once. The conftest's service has
    no mail server, so the rows stay pending and can be counted."""
    people = members(agenda, *((f"Lid{i}", f"lid{i}@zemst.example") for i in range(6)))
    session = agenda.schedule(in_days(9))
    for member in people:
        register(agenda, session["id"], member)
    moment = starts(session) - timedelta(hours=29)
    engines = [make_engine(database_url) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            rounds = list(pool.map(lambda e: reminders.queue_due(e, settings, moment).reminders, engines))
    finally:
        for engine in engines:
            engine.dispose()
    assert sum(rounds) == 6
    kinds = [(r.registration_id, r.kind) for r in rows(agenda)]
    assert len(kinds) == len(set(kinds)) == 6


def test_an_erased_member_is_mailed_nothing(
    mailed: Agenda, settings: EventsSettings, catcher: MailCatcher
) -> None:
    [eva, frank] = members(mailed, ("Eva", "eva@zemst.example"), ("Frank", "frank@zemst.example"))
    session = mailed.schedule(in_days(8))
    register(mailed, session["id"], eva)
    register(mailed, session["id"], frank)
    # Eva's tombstone on the contacts topic (the members service writes one on erasure): her address
    # goes, her registration stays, and the reminder reaches Frank alone
    asyncio.run(
        infra.produce(mailed.bootstrap, [(mailed.prefix + topics.MEMBERS_CONTACTS, str(eva).encode(), None)])
    )
    wait_until(lambda: address(mailed, eva) is None, what="Eva's address gone")
    assert reminders.queue_due(mailed.engine, settings, starts(session) - timedelta(hours=29)).reminders == 1
    catcher.wait_for("frank@zemst.example")

    # Frank erased (member.erased alone): his address goes with it, so the session's cancellation
    # reaches nobody
    produce(mailed, events.MemberErased(member_id=frank, erased_on=in_days(0)))
    wait_until(lambda: address(mailed, frank) is None, what="Frank's address gone")
    assert mailed.staff.post(f"/sessions/{session['id']}/cancel", json={}).status_code == 200
    assert reminders.queue_due(mailed.engine, settings, datetime.now(UTC)).changes == 0
    settle(mailed)
    assert catcher.to("eva@zemst.example") == []
    assert len(catcher.to("frank@zemst.example")) == 1


# --- cancelled or moved ---------------------------------------------------------------------------


def test_a_cancelled_session_mails_everyone_registered_once_with_a_calendar_cancel(
    mailed: Agenda, settings: EventsSettings, catcher: MailCatcher
) -> None:
    gert, hilde = members(mailed, ("Gert", "gert@zemst.example"), ("Hilde", "hilde@zemst.example"))
    session = mailed.schedule(in_days(12), capacity=1)
    register(mailed, session["id"], gert)
    register(mailed, session["id"], hilde)  # waiting: told as well
    before = icalendar.Calendar.from_ical(mailed.public.get(f"/agenda/{session['id']}.ics").content)
    assert reminders.queue_due(mailed.engine, settings, datetime.now(UTC)).total == 0  # nothing changed yet

    assert mailed.staff.post(f"/sessions/{session['id']}/cancel", json={"reason": "ziek"}).status_code == 200
    now = datetime.now(UTC)
    assert reminders.queue_due(mailed.engine, settings, now).changes == 2
    assert reminders.queue_due(mailed.engine, settings, now).total == 0
    # nor a reminder for a cancelled session
    assert reminders.queue_due(mailed.engine, settings, starts(session) - timedelta(hours=29)).total == 0
    for address in ("gert@zemst.example", "hilde@zemst.example"):
        [received] = catcher.wait_for(address)
        assert received.message["Subject"] == "Geannuleerd: Infosessie digitale drempels"
        assert "geannuleerd" in received.part("plain") and "ziek" not in received.part("plain")
        part, parsed = calendar_of(received)
        assert part.get_param("method") == "CANCEL" and str(parsed["METHOD"]) == "CANCEL"
        event = vevent(parsed)
        assert str(event["STATUS"]) == "CANCELLED"
        assert str(event["UID"]) == str(vevent(before)["UID"])
        assert int(event["SEQUENCE"]) > int(vevent(before)["SEQUENCE"])
        assert str(event["ATTENDEE"]) == f"mailto:{address}"
        assert str(event["ORGANIZER"]) == "mailto:digitale.inclusie@vvsg.be"
    settle(mailed)
    assert catcher.count() == 2


def test_a_moved_session_mails_the_updated_event_to_those_registered_before_each_move(
    mailed: Agenda, settings: EventsSettings, catcher: MailCatcher
) -> None:
    ilse, jan = members(mailed, ("Ilse", "ilse@zemst.example"), ("Jan", "jan@zemst.example"))
    session = mailed.schedule(in_days(14))
    register(mailed, session["id"], ilse)

    def move(days: int, hour: int) -> datetime:
        day = in_days(days)
        new_start = datetime(day.year, day.month, day.day, hour, tzinfo=BRUSSELS)
        body = {"starts_at": new_start.isoformat(), "ends_at": (new_start + timedelta(hours=3)).isoformat()}
        assert mailed.staff.post(f"/sessions/{session['id']}/reschedule", json=body).status_code == 200
        return new_start

    first = move(15, 10)
    register(mailed, session["id"], jan)  # after the move: his confirmation tells the new time
    assert reminders.queue_due(mailed.engine, settings, datetime.now(UTC)).changes == 1
    [received] = catcher.wait_for("ilse@zemst.example")
    assert received.subject.startswith("Gewijzigd: Infosessie digitale drempels op ")
    assert "eerst gepland op" in received.part("plain")
    part, parsed = calendar_of(received)
    assert part.get_param("method") == "PUBLISH"
    event = vevent(parsed)
    assert event.decoded("DTSTART").astimezone(UTC) == first.astimezone(UTC)
    assert int(event["SEQUENCE"]) == 1 and str(event["STATUS"]) == "CONFIRMED"
    assert str(event["UID"]) == f"{session['id']}@agenda.digitale-inclusie.vvsg.be"

    second = move(16, 9)  # moved again: both were registered before this move
    assert reminders.queue_due(mailed.engine, settings, datetime.now(UTC)).changes == 2
    assert reminders.queue_due(mailed.engine, settings, datetime.now(UTC)).changes == 0
    for address in ("ilse@zemst.example", "jan@zemst.example"):
        latest = catcher.wait_for(address, n=2 if address.startswith("ilse") else 1)[-1]
        event = vevent(calendar_of(latest)[1])
        assert int(event["SEQUENCE"]) == 2
        assert event.decoded("DTSTART").astimezone(UTC) == second.astimezone(UTC)
    settle(mailed)
    assert catcher.count() == 3


def test_a_change_from_long_ago_or_for_a_past_session_mails_nobody(
    mailed: Agenda, settings: EventsSettings, catcher: MailCatcher
) -> None:
    [kim] = members(mailed, ("Kim", "kim@zemst.example"))
    session = mailed.schedule(in_days(9))
    register(mailed, session["id"], kim)
    assert mailed.staff.post(f"/sessions/{session['id']}/cancel", json={}).status_code == 200
    # cancelled three days ago, as far as the scheduler can tell (a change from before these mails)
    changed_at(mailed, session["id"], datetime.now(UTC) - timedelta(days=3))
    assert reminders.queue_due(mailed.engine, settings, datetime.now(UTC)).total == 0
    # and a change one hour old, for a session that has started: nobody either
    changed_at(mailed, session["id"], datetime.now(UTC) - timedelta(hours=1))
    assert reminders.queue_due(mailed.engine, settings, starts(session) + timedelta(minutes=1)).total == 0
    assert rows(mailed) == [] and catcher.count() == 0


# --- the feedback reminder -----------------------------------------------------------------------


def test_one_feedback_reminder_to_whoever_has_not_answered(
    mailed: Agenda, settings: EventsSettings, catcher: MailCatcher
) -> None:
    lies, marc, nora = members(
        mailed, ("Lies", "lies@zemst.example"), ("Marc", "marc@zemst.example"), ("Nora", "nora@zemst.example")
    )
    session = mailed.schedule(in_days(6))
    subject = uuid.UUID(session["id"])
    for member in (lies, marc, nora):
        register(mailed, session["id"], member)
    requests = {member: uuid.uuid4() for member in (lies, marc, nora)}
    now = datetime.now(UTC)

    def asked(member: uuid.UUID) -> events.FeedbackRequested:
        return events.FeedbackRequested(
            request_id=requests[member],
            subject_type="session",
            subject_id=subject,
            member_id=member,
            requested_on=now.date(),
        )

    produce(mailed, asked(lies), asked(marc), at=now - timedelta(days=4))
    produce(mailed, asked(nora), at=now - timedelta(days=40))  # a request of long ago: expired
    answered = events.FeedbackReceived(
        response_id=uuid.uuid4(),
        request_id=requests[marc],
        subject_type="session",
        subject_id=subject,
        satisfaction=5,
        has_comment=False,
        received_on=now.date(),
    )
    produce(mailed, answered, at=now - timedelta(days=1))

    def consumed() -> bool:
        with Session(mailed.engine) as db:
            seen = list(db.execute(select(FeedbackRequest)).scalars())
        return len(seen) == 3 and any(r.answered for r in seen)

    wait_until(consumed, what="the feedback requests and the answer in the events service")
    assert reminders.queue_due(mailed.engine, settings, now - timedelta(days=2)).feedback == 0  # not yet
    assert reminders.queue_due(mailed.engine, settings, now).feedback == 1
    assert reminders.queue_due(mailed.engine, settings, now + timedelta(days=1)).feedback == 0  # once
    [received] = catcher.wait_for("lies@zemst.example")
    text = received.part("plain")
    assert received.message["Subject"] == "Herinnering: wat vond je van Infosessie digitale drempels?"
    token = text.split(f"{FEEDBACK_BASE}/feedback/")[1].split()[0]
    # the link the feedback service accepts: the same token as the invitation's
    assert links.read_token(LINK_SECRET, "feedback", token) == str(requests[lies])
    settle(mailed)
    assert catcher.count() == 1


# --- one confirmation ---------------------------------------------------------------------------


def test_the_newsletter_service_does_not_confirm_a_public_sign_up_a_second_time(tmp_path: Path) -> None:
    from services.newsletter.app import MIGRATIONS as NEWSLETTER_MIGRATIONS
    from services.newsletter.consumers import Handlers
    from services.newsletter.domain import MailStatus
    from services.newsletter.tables import ServiceMail
    from shared.db import make_engine, migrate
    from shared.outbox import Outbox

    engine = make_engine(f"sqlite:///{tmp_path}/newsletter.db")
    migrate(engine, NEWSLETTER_MIGRATIONS)
    handlers = Handlers(Outbox("/services/newsletter"), max_age_days=30)
    member, session_id = uuid.uuid4(), uuid.uuid4()

    def received(registration: uuid.UUID, actor: str, waitlisted: bool = False) -> events.Event:
        data = events.RegistrationReceived(
            registration_id=registration,
            session_id=session_id,
            member_id=member,
            organisation_kind="lokaal_bestuur",
            waitlisted=waitlisted,
        )
        return events.decode(events.encode(events.new_envelope(data, source="/services/events", actor=actor)))

    public, by_staff = uuid.uuid4(), uuid.uuid4()
    with Session(engine) as db:
        handlers.event(db, received(public, "public", waitlisted=True))
        # the same registration again: its seat freed (by whoever cancelled), its organisation completed
        handlers.event(db, received(public, "staff-" + "0" * 32))
        handlers.event(db, received(public, "events-service"))
        handlers.event(db, received(by_staff, "staff-" + "1" * 32))
        db.commit()
        found = {r.reference_id: r.status for r in db.execute(select(ServiceMail)).scalars()}
    engine.dispose()
    assert found == {public: MailStatus.SKIPPED, by_staff: MailStatus.QUEUED}


# --- Brussels time across the daylight-saving changes ----------------------------------------------


@pytest.mark.parametrize(
    ("day", "hour", "utc_hour"),
    [
        (date(2026, 3, 28), 14, 13),  # the Saturday before: CET, UTC+1
        (date(2026, 3, 29), 1, 0),  # the night of the change, before 02:00: still CET
        (date(2026, 3, 29), 14, 12),  # after: CEST, UTC+2
        (date(2026, 10, 24), 14, 12),  # the Saturday before: CEST
        (date(2026, 10, 25), 14, 13),  # after 03:00: CET again
    ],
)
@pytest.mark.parametrize("kind", [mails.CONFIRMATION, mails.CANCELLED, mails.moved_kind(1)])
def test_the_mails_calendars_keep_brussels_time_across_the_change(
    day: date, hour: int, utc_hour: int, kind: str
) -> None:
    start = datetime(day.year, day.month, day.day, hour, tzinfo=BRUSSELS)
    activity = ActivitySession(
        kind="info_session",
        title="Infosessie",
        theme="digitale drempels",
        lead="vvsg",
        format="physical",
        location="Bischoffsheimlaan 1-8, 1000 Brussel",
        starts_at=start.astimezone(UTC),
        ends_at=start.astimezone(UTC) + timedelta(hours=3),  # three hours of real time
        planned_hours=3,
        status=domain.CANCELLED if kind == mails.CANCELLED else domain.SCHEDULED,
        revision=0 if kind == mails.CONFIRMATION else 1,
        created_by="test",
        updated_by="test",
    )
    registration = Registration(session_id=activity.id, organisation_kind="andere", registered_by="test")
    row = SignupMail(
        registration_id=registration.id, kind=kind, recipient="an@buiten.example", token="t" * 43
    )
    config = mails.MailConfig(mail_from="VVSG <digitale.inclusie@vvsg.be>", public_url=PUBLIC_BASE)
    message = mails.compose(row, activity, registration, config, datetime.now(UTC))
    [part] = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    event = vevent(icalendar.Calendar.from_ical(part.get_content()))
    begins = event.decoded("DTSTART")
    assert begins.astimezone(UTC) == datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)
    assert (begins.astimezone(BRUSSELS).hour, begins.astimezone(BRUSSELS).date()) == (hour, day)
    ends = event.decoded("DTEND").astimezone(UTC)
    assert ends - begins.astimezone(UTC) == timedelta(hours=3)
    assert str(event["STATUS"]) == ("CANCELLED" if kind == mails.CANCELLED else "CONFIRMED")


def test_a_member_registered_inside_the_reminder_window_gets_no_reminder(
    mailed: Agenda, settings: EventsSettings, catcher: MailCatcher
) -> None:
    [olga] = members(mailed, ("Olga", "olga@zemst.example"))
    begins = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=20)
    local = begins.astimezone(BRUSSELS)
    if (local + timedelta(hours=2)).date() != local.date():
        # 20 hours from a run between about 01:00 and 03:00 UTC is a session over Brussels midnight,
        # which needs planned hours: four hours earlier is still inside the reminder window
        begins -= timedelta(hours=4)
    session = mailed.schedule(starts_at=begins.isoformat(), ends_at=(begins + timedelta(hours=2)).isoformat())
    register(mailed, session["id"], olga)
    # registered 20 hours before the start: the confirmation is fresh, a reminder would repeat it
    assert reminders.queue_due(mailed.engine, settings, datetime.now(UTC)).reminders == 0
    assert reminders.queue_due(mailed.engine, settings, begins - timedelta(hours=3)).reminders == 0
    assert rows(mailed) == [] and catcher.count() == 0
