"""The mails about a public sign-up, on SQLite and PostgreSQL with the real broker and a real SMTP server
started by the test (aiosmtpd): an outsider first gets the opt-in mail and confirms through its link;
then the confirmation arrives once, in Dutch, with the session as an
iCalendar attachment (METHOD:PUBLISH) that `icalendar` parses and a personal link to cancel; the link's
form cancels through the staff API's handler, so the third person for two seats moves up and gets
"er is een plaats vrijgekomen" once; a cross-site or token-less POST changes nothing; the link dies
with the sign-up details (erasure, retention); a sender that is run again or restarted — even one that
stopped in the middle of a mail — sends nothing twice; hostile names and titles add no header and no
recipient."""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlmodel import Session, col

from services.events import mails, signup
from services.events.app import build
from services.events.settings import EventsSettings
from services.events.tables import ActivitySession, PublicSignup, SignupMail
from shared import events, topics
from tests import infra
from tests.infra import AUTH_SECRET, auth, wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher, Received
from tests.public.conftest import PUBLIC_BASE, Agenda, anonymous, in_days
from tests.public.test_signup import confirm, known_member, registrations, sign_up, sign_up_confirmed

pytestmark = pytest.mark.integration

LINK = re.compile(re.escape(PUBLIC_BASE) + r"/agenda/afmelden/([A-Za-z0-9_-]+)")
CONFIRM_LINK = re.compile(re.escape(PUBLIC_BASE) + r"/agenda/bevestigen/([A-Za-z0-9_-]+)")
SAME_SITE = {"Origin": PUBLIC_BASE}


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    server = MailCatcher().start()
    try:
        yield server
    finally:
        server.stop()


def _settings(database_url: str, kafka_bootstrap: str, topic_prefix: str, port: int) -> EventsSettings:
    return EventsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,
        public_base_url=PUBLIC_BASE,
        public_rate_per_minute=100_000,
        smtp_port=port,
        signup_mail_poll_seconds=0.2,
    )


@pytest.fixture
def mailed(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, catcher: MailCatcher
) -> Iterator[Agenda]:
    """The events service as it runs, its mail sender loop pointed at the test's SMTP server."""
    app = build(_settings(database_url, kafka_bootstrap, topic_prefix, catcher.port))
    with TestClient(app, headers=auth("staff")) as staff:
        yield Agenda(staff, anonymous(staff), app.state.runtime.engine, kafka_bootstrap, topic_prefix)


def attachment(received: Received) -> Any:
    [part] = [p for p in received.message.iter_attachments() if p.get_content_type() == "text/calendar"]
    return part


def link_of(received: Received) -> str:
    found = LINK.search(received.part("plain"))
    assert found is not None, received.part("plain")
    return found.group(1)


def confirmed_by_mail(
    agenda: Agenda, catcher: MailCatcher, session_id: str, email: str, **changes: str
) -> Received:
    """An outsider signs up, gets the opt-in mail (sent right after the answer), follows its link and
    presses the button; returns the opt-in mail."""

    def optins() -> list[Received]:
        return [m for m in catcher.to(email) if str(m.message["Subject"]).startswith("Bevestig je")]

    seen = len(optins())
    assert sign_up(agenda, session_id, email=email, **changes).status_code == 200
    optin_mail = wait_until(lambda: optins()[seen:], what=f"an opt-in mail to {email}")[0]
    found = CONFIRM_LINK.search(optin_mail.part("plain"))
    assert found is not None, optin_mail.part("plain")
    answer = confirm(agenda, found.group(1))
    assert answer.status_code == 200, answer.text
    return optin_mail


def mail_rows(agenda: Agenda) -> list[SignupMail]:
    with Session(agenda.engine) as db:
        return list(db.execute(select(SignupMail).order_by(col(SignupMail.id))).scalars())


def settle(catcher: MailCatcher, agenda: Agenda) -> None:
    """Until nothing is pending and a few more rounds of the sender loop have passed."""
    wait_until(lambda: all(r.status != mails.PENDING for r in mail_rows(agenda)), what="no mail pending")
    time.sleep(1.0)  # five rounds of the loop: a second sending would show now


def test_confirmation_once_with_ics_and_a_cancel_link_that_moves_the_waiting_list_up(
    mailed: Agenda, catcher: MailCatcher
) -> None:
    day = in_days(25)
    session = mailed.schedule(
        day, capacity=2, format="hybrid", online_link="https://meet.example.be/sessie-42"
    )
    people = ["an@buiten.example", "bo@buiten.example", "cas@buiten.example"]
    for i, address in enumerate(people):
        confirmed_by_mail(mailed, catcher, session["id"], address, name=f"Persoon {i}")
    first, second, third = (catcher.wait_for(a, n=2)[1] for a in people)

    assert first.message["Subject"] == "Inschrijving bevestigd: Infosessie digitale drempels"
    assert third.message["Subject"] == "Op de wachtlijst: Infosessie digitale drempels"
    assert "Bischoffsheimlaan 1-8, 1000 Brussel" in first.part("plain")
    assert "https://meet.example.be/sessie-42" in first.part("plain")  # seated: the link to join
    assert "https://meet.example.be/sessie-42" not in third.part("plain")  # waiting: not yet
    assert "wachtlijst" in third.part("plain")
    assert first.message["To"].addresses[0].addr_spec == people[0]
    assert second.message["Subject"] == first.message["Subject"]  # the second seat

    part = attachment(first)
    assert part.get_param("method") == "PUBLISH"
    parsed = icalendar.Calendar.from_ical(part.get_content())
    assert str(parsed["METHOD"]) == "PUBLISH"
    [event] = [c for c in parsed.walk() if c.name == "VEVENT"]
    assert event.decoded("DTSTART").astimezone(UTC) == datetime.fromisoformat(
        session["starts_at"]
    ).astimezone(UTC)

    # only the token's digest is kept; the sent mails keep no address, name or token
    token = link_of(first)
    with Session(mailed.engine) as db:
        digests = set(db.execute(select(col(PublicSignup.cancel_token_sha256))).scalars())
    assert hashlib.sha256(token.encode()).hexdigest() in digests
    settle(catcher, mailed)
    rows = mail_rows(mailed)
    assert [r.status for r in rows] == ["sent"] * 3
    assert all(r.recipient is None and r.token is None and r.name is None for r in rows)

    page = mailed.public.get(f"/agenda/afmelden/{token}")
    assert page.status_code == 200 and "Meld me af" in page.text
    assert page.headers["X-Robots-Tag"] == "noindex"

    # a form on another site, or one without the token, changes nothing
    foreign = mailed.public.post(
        f"/agenda/afmelden/{token}", data={"token": token}, headers={"Origin": "https://kwaad.example"}
    )
    assert foreign.status_code == 403
    cross = mailed.public.post(
        f"/agenda/afmelden/{token}", data={"token": token}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    hidden = {"Origin": "null", "Sec-Fetch-Site": "cross-site"}  # a page under no-referrer elsewhere
    assert (
        mailed.public.post(f"/agenda/afmelden/{token}", data={"token": token}, headers=hidden).status_code
        == 403
    )
    assert mailed.public.post(f"/agenda/afmelden/{token}", data={}, headers=SAME_SITE).status_code == 400
    other = {"token": ("y" if token[0] == "x" else "x") + token[1:]}  # differs whatever the token starts with
    assert mailed.public.post(f"/agenda/afmelden/{token}", data=other, headers=SAME_SITE).status_code == 400
    assert [r.status for r in registrations(mailed, session["id"])] == ["registered"] * 3

    done = mailed.public.post(f"/agenda/afmelden/{token}", data={"token": token}, headers=SAME_SITE)
    assert done.status_code == 200 and "Je bent afgemeld" in done.text
    states = [(r.status, r.waitlisted) for r in registrations(mailed, session["id"])]
    assert states == [
        ("cancelled", False),
        ("registered", False),
        ("registered", False),
    ]  # the third moved up
    moved = catcher.wait_for(people[2], n=3)[2]
    assert moved.message["Subject"] == "Er is een plaats vrijgekomen: Infosessie digitale drempels"
    assert "https://meet.example.be/sessie-42" in moved.part("plain")

    again = mailed.public.post(f"/agenda/afmelden/{token}", data={"token": token}, headers=SAME_SITE)
    assert again.status_code == 409
    assert mailed.public.get(f"/agenda/afmelden/{token}").status_code == 409
    assert mailed.public.get("/agenda/afmelden/" + "x" * 43).status_code == 404

    settle(catcher, mailed)
    assert [len(catcher.to(a)) for a in people] == [2, 2, 3]  # opt-in, confirmation (, moved up)
    assert catcher.count() == 7


def test_the_link_stops_working_once_the_member_is_erased(mailed: Agenda, catcher: MailCatcher) -> None:
    member, _ = known_member(mailed, "wis.mij@zemst.example")
    session = mailed.schedule(in_days(20))
    assert sign_up(mailed, session["id"], email="wis.mij@zemst.example").status_code == 200
    token = link_of(catcher.wait_for("wis.mij@zemst.example")[0])
    assert mailed.public.get(f"/agenda/afmelden/{token}").status_code == 200
    erased = events.MemberErased(member_id=member, erased_on=in_days(0))
    record = events.encode(events.new_envelope(erased, source="/services/members"))
    asyncio.run(
        infra.produce(
            mailed.bootstrap, [(mailed.prefix + topics.MEMBERS_EVENTS, erased.key().encode(), record)]
        )
    )

    def forgotten() -> bool:
        with Session(mailed.engine) as db:
            return db.execute(select(PublicSignup)).first() is None

    wait_until(forgotten, what="the sign-up forgotten")
    assert mailed.public.get(f"/agenda/afmelden/{token}").status_code == 404
    refused = mailed.public.post(f"/agenda/afmelden/{token}", data={"token": token}, headers=SAME_SITE)
    assert refused.status_code == 404


def test_the_link_stops_working_past_retention_and_unsent_mails_are_dropped(agenda: Agenda) -> None:
    # the conftest's service: its sender has no mail server, so the mail stays pending
    session = agenda.schedule(in_days(3))
    assert sign_up_confirmed(agenda, session["id"]).status_code == 200
    [row] = mail_rows(agenda)
    assert row.status == mails.PENDING and row.token
    token = row.token
    assert agenda.public.get(f"/agenda/afmelden/{token}").status_code == 200
    with Session(agenda.engine) as db:
        activity = db.get(ActivitySession, uuid.UUID(session["id"]))
        assert activity is not None
        activity.starts_at = datetime.now(UTC) - timedelta(days=61, hours=3)
        activity.ends_at = datetime.now(UTC) - timedelta(days=61)
        db.add(activity)
        db.commit()
    # refused as soon as it is past retention, before the hourly job ran
    assert agenda.public.get(f"/agenda/afmelden/{token}").status_code == 404
    assert signup.forget_old_signups(agenda.engine, datetime.now(UTC)) == 1
    [row] = mail_rows(agenda)
    assert (row.status, row.recipient, row.name, row.token) == (mails.DROPPED, None, None, None)
    assert agenda.public.get(f"/agenda/afmelden/{token}").status_code == 404


def test_a_sender_run_again_or_restarted_sends_nothing_twice(
    agenda: Agenda, catcher: MailCatcher, database_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    settings = _settings(database_url, kafka_bootstrap, topic_prefix, catcher.port)
    session = agenda.schedule(in_days(10))
    assert sign_up_confirmed(agenda, session["id"], email="een@buiten.example").status_code == 200
    sender = mails.MailSender(agenda.engine, settings)
    assert sender.send_due() == 1
    assert sender.send_due() == 0
    assert mails.MailSender(agenda.engine, settings).send_due() == 0  # a new process
    assert len(catcher.to("een@buiten.example")) == 1

    # a sender that claimed a mail and stopped before the server answered: the mail may have gone,
    # so the next one settles it as interrupted and never sends it
    assert sign_up_confirmed(agenda, session["id"], email="twee@buiten.example").status_code == 200
    with Session(agenda.engine) as db:
        db.execute(
            update(SignupMail).where(col(SignupMail.status) == mails.PENDING).values(status=mails.SENDING)
        )
        db.commit()
    restarted = mails.MailSender(agenda.engine, settings)
    assert restarted.resolve_interrupted() == 1
    assert restarted.send_due() == 0
    assert catcher.to("twee@buiten.example") == []
    assert [r.status for r in mail_rows(agenda)] == [mails.SENT, mails.INTERRUPTED]
    assert all(r.token is None and r.recipient is None for r in mail_rows(agenda))


def test_hostile_names_and_titles_add_no_header_and_no_recipient(
    mailed: Agenda, catcher: MailCatcher
) -> None:
    session = mailed.schedule(in_days(12))
    # a title the API would refuse today, written straight into the table
    mailed.store(session["id"], title="Infosessie\r\nBcc: iedereen@kwaad.example")
    hostile = [
        ('Eve" <eve@kwaad.example>, Bcc: alle@kwaad.example', "eve@buiten.example"),
        ("=?utf-8?q?Bcc=3A_x=40kwaad=2Eexample?=", "q@buiten.example"),
        ("Zoë 'O'Brien; <script>", "zoe@buiten.example"),
    ]
    for name, address in hostile:
        confirmed_by_mail(mailed, catcher, session["id"], address, name=name)
    for name, address in hostile:
        opt_in, received = catcher.wait_for(address, n=2)
        assert opt_in.message["Subject"] == "Bevestig je inschrijving: Infosessie Bcc: iedereen@kwaad.example"
        assert received.message["Subject"] == "Inschrijving bevestigd: Infosessie Bcc: iedereen@kwaad.example"
        for mail in (opt_in, received):
            assert mail.rcpt_tos == [address]
            [to] = mail.message["To"].addresses
            # an encoded-word look-alike would be decoded by a mail client: that name is left off the header
            assert (to.addr_spec, to.display_name) == (address, "" if "=?" in name else name)
            assert name in mail.part("plain")
            assert mail.message["Bcc"] is None and mail.message["Cc"] is None
            assert not any(
                b"kwaad.example" in line and line.lower().startswith(b"bcc") for line in mail.raw.splitlines()
            )
    settle(catcher, mailed)
    assert catcher.count() == 6
