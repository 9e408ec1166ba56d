"""The double opt-in, the rate limits' pages and an outsider's own data, on SQLite and PostgreSQL with the
real broker and a real SMTP server started by the test (aiosmtpd):

- an unknown address's sign-up holds no seat until its link is followed and the button pressed; a GET
  (a mail client's link scanner) confirms nothing; a form from elsewhere, an expired link, a closed
  session change nothing; unconfirmed sign-ups go with the retention job;
- a browser over a rate limit gets a Dutch page with 429 and Retry-After, a script the JSON;
- an outside participant asks for their data by address, gets a link by mail (nobody learns whether
  an address signed up), sees what is kept and erases it: the sign-up details go, future seats are
  freed (the waiting list moves up) and every personal link answers a Dutch 404; an erased member's
  links stop working too;
- hostile input (scripts, formulas, control characters, overlong values) and 10,000 sign-ups from one
  address change nothing beyond the limits."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlmodel import Session, col

from services.events import optin, signup
from services.events.app import build
from services.events.tables import ActivitySession, PublicSignup, Registration, SignupMail
from shared import events, topics
from shared.limits import RateLimiter
from tests import infra
from tests.infra import auth, wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher, Received
from tests.public.conftest import PUBLIC_BASE, Agenda, anonymous, in_days
from tests.public.test_signup import (
    FORM,
    SAME_SITE,
    confirm,
    count,
    known_member,
    links,
    optin_token,
    published,
    registrations,
    sign_up,
    signups,
)
from tests.public.test_signup_mails import _settings, confirmed_by_mail

pytestmark = pytest.mark.integration

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
DATA_LINK = re.compile(re.escape(PUBLIC_BASE) + r"/agenda/mijn-gegevens/([A-Za-z0-9_-]+)")
CANCEL_LINK = re.compile(re.escape(PUBLIC_BASE) + r"/agenda/afmelden/([A-Za-z0-9_-]+)")
CONFIRM_LINK = re.compile(re.escape(PUBLIC_BASE) + r"/agenda/bevestigen/([A-Za-z0-9_-]+)")
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    server = MailCatcher().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mailed(
    database_url: str, kafka_bootstrap: str, topic_prefix: str, catcher: MailCatcher
) -> Iterator[Agenda]:
    app = build(_settings(database_url, kafka_bootstrap, topic_prefix, catcher.port))
    with TestClient(app, headers=auth("staff")) as staff:
        yield Agenda(staff, anonymous(staff), app.state.runtime.engine, kafka_bootstrap, topic_prefix)


def seats_taken(agenda: Agenda, session_id: str) -> int:
    return sum(1 for r in registrations(agenda, session_id) if r.status == "registered" and not r.waitlisted)


def bad_link_page(response: Any) -> None:
    """A personal link that no longer works: a Dutch page, 404, not indexed."""
    assert response.status_code == 404, response.text
    assert "Deze link werkt niet (meer)" in response.text
    assert '<html lang="nl-BE">' in response.text
    assert response.headers["X-Robots-Tag"] == "noindex"


def link_in(mail: Received, pattern: re.Pattern[str]) -> str:
    found = pattern.search(mail.part("plain"))
    assert found is not None, mail.part("plain")
    return found.group(1)


def ask_for_data(agenda: Agenda, email: str, **headers: str) -> Any:
    return agenda.public.post(
        "/agenda/mijn-gegevens", data={"email": email, "website": ""}, headers=headers or None
    )


# --- the double opt-in ----------------------------------------------------------------------------


def test_an_unconfirmed_sign_up_holds_no_seat_and_confirming_later_joins_the_waiting_list(
    agenda: Agenda,
) -> None:
    session = agenda.schedule(capacity=1)
    assert sign_up(agenda, session["id"]).status_code == 200
    token = optin_token(agenda, FORM["email"])
    # the one seat goes to whoever registers meanwhile
    agenda.register(session["id"])
    assert seats_taken(agenda, session["id"]) == 1
    for _ in range(3):  # scanners and previews open the link: nothing happens
        page = agenda.public.get(f"/agenda/bevestigen/{token}")
        assert page.status_code == 200 and 'method="post"' in page.text
        assert "je komt op de wachtlijst" in page.text
    assert len(registrations(agenda, session["id"])) == 1
    done = confirm(agenda, token)
    assert done.status_code == 200 and "Je staat op de wachtlijst" in done.text
    *_, mine = registrations(agenda, session["id"])
    assert (mine.waitlisted, mine.member_id, mine.organisation_kind) == (True, None, "middenveldorganisatie")
    assert [n for n, _ in published(agenda, session["id"])].count("registration.received") == 2


def test_a_form_from_elsewhere_or_without_the_token_confirms_nothing(agenda: Agenda) -> None:
    session = agenda.schedule()
    assert sign_up(agenda, session["id"]).status_code == 200
    token = optin_token(agenda, FORM["email"])
    url = f"/agenda/bevestigen/{token}"
    assert (
        agenda.public.post(
            url, data={"token": token}, headers={"Origin": "https://kwaad.example"}
        ).status_code
        == 403
    )
    assert (
        agenda.public.post(url, data={"token": token}, headers={"Sec-Fetch-Site": "cross-site"}).status_code
        == 403
    )
    assert agenda.public.post(url, data={}, headers=SAME_SITE).status_code == 400
    altered = ("y" if token[0] == "x" else "x") + token[1:]  # differs from the token whatever it starts with
    assert agenda.public.post(url, data={"token": altered}, headers=SAME_SITE).status_code == 400
    other = "y" * len(token)
    bad_link_page(agenda.public.post(f"/agenda/bevestigen/{other}", data={"token": other}, headers=SAME_SITE))
    bad_link_page(agenda.public.get(f"/agenda/bevestigen/{other}"))
    bad_link_page(agenda.public.get("/agenda/bevestigen/" + "z" * 5000))
    assert (registrations(agenda, session["id"]), signups(agenda)) == ([], [])


def test_an_expired_link_or_a_closed_session_registers_nobody_and_the_retention_job_purges(
    agenda: Agenda,
) -> None:
    soon, later = agenda.schedule(in_days(3)), agenda.schedule(in_days(9))
    assert sign_up(agenda, soon["id"]).status_code == 200
    soon_token = optin_token(agenda, FORM["email"])
    assert sign_up(agenda, later["id"]).status_code == 200
    later_token = optin_token(agenda, FORM["email"])
    # the first session closes for sign-up before the link is followed
    with Session(agenda.engine) as db:
        row = db.get(ActivitySession, uuid.UUID(soon["id"]))
        assert row is not None
        row.registration_deadline = datetime.now(UTC) - timedelta(minutes=1)
        db.add(row)
        db.commit()
    closed = confirm(agenda, soon_token)
    assert closed.status_code == 409 and "Inschrijven kan niet meer" in closed.text
    # the second link is 49 hours old: expired
    with Session(agenda.engine) as db:
        db.execute(
            update(optin.OutsiderLink)
            .where(col(optin.OutsiderLink.session_id) == uuid.UUID(later["id"]))
            .values(
                created_at=datetime.now(UTC) - timedelta(hours=49),
                expires_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )
        db.commit()
    bad_link_page(agenda.public.get(f"/agenda/bevestigen/{later_token}"))
    bad_link_page(confirm(agenda, later_token))
    assert count(agenda, Registration) == 0
    # the hourly job: the expired one goes with what its form said, the other stays until it expires
    signup.forget_old_signups(agenda.engine, datetime.now(UTC))
    assert [link.session_id for link in links(agenda)] == [uuid.UUID(soon["id"])]
    everything = json.dumps([repr(vars(link)) for link in links(agenda)])
    assert everything.count("sam@buiten.example") == 1


def test_the_opt_in_mail_goes_once_in_dutch_and_keeps_no_token_after(
    mailed: Agenda, catcher: MailCatcher
) -> None:
    session = mailed.schedule(in_days(14), capacity=5)
    assert sign_up(mailed, session["id"], email="kim@buiten.example", name="Kim").status_code == 200
    # asked again before confirming: the same answer, no second mail
    assert sign_up(mailed, session["id"], email="kim@buiten.example", name="Kim").status_code == 200
    [mail] = catcher.wait_for("kim@buiten.example")
    assert mail.message["Subject"] == "Bevestig je inschrijving: Infosessie digitale drempels"
    assert mail.message["Content-Language"] == "nl-BE"
    text = mail.part("plain")
    assert text.startswith("Dag Kim,") and "48 uur" in text
    [link] = links(mailed)
    assert (link.mail_status, link.mail_token) == ("sent", None)
    assert seats_taken(mailed, session["id"]) == 0
    confirm(mailed, link_in(mail, CONFIRM_LINK))
    confirmation = catcher.wait_for("kim@buiten.example", n=2)[1]
    assert confirmation.message["Subject"] == "Inschrijving bevestigd: Infosessie digitale drempels"
    assert seats_taken(mailed, session["id"]) == 1
    assert len(catcher.to("kim@buiten.example")) == 2


def test_a_link_mail_waits_for_an_absent_server_and_is_never_sent_twice(
    agenda: Agenda, catcher: MailCatcher, database_url: str, kafka_bootstrap: str, topic_prefix: str
) -> None:
    """The conftest's service mails to a port where no server listens: the opt-in mail stays pending,
    with its token; the next sender (here: another process's) sends it once; a mail claimed by a sender
    that stopped before the server answered is settled as interrupted and never sent."""
    settings = _settings(database_url, kafka_bootstrap, topic_prefix, catcher.port)
    session = agenda.schedule(in_days(10))
    assert sign_up(agenda, session["id"], email="een@buiten.example").status_code == 200
    [link] = links(agenda)
    assert (link.mail_status, bool(link.mail_token)) == ("pending", True)
    sender = optin.OptinSender(agenda.engine, settings)
    assert sender.send_due() == 1
    assert sender.send_due() == 0 and optin.OptinSender(agenda.engine, settings).send_due() == 0
    [mail] = catcher.wait_for("een@buiten.example")
    assert mail.message["Subject"].startswith("Bevestig je inschrijving")
    assert sign_up(agenda, session["id"], email="twee@buiten.example").status_code == 200
    with Session(agenda.engine) as db:
        db.execute(
            update(optin.OutsiderLink)
            .where(col(optin.OutsiderLink.mail_status) == "pending")
            .values(mail_status="sending")
        )
        db.commit()
    restarted = optin.OptinSender(agenda.engine, settings)
    assert restarted.resolve_interrupted() == 1
    assert restarted.send_due() == 0
    assert catcher.to("twee@buiten.example") == []
    assert [(x.mail_status, x.mail_token) for x in links(agenda)] == [("sent", None), ("interrupted", None)]


# --- the rate limits' pages -------------------------------------------------------------------------


def test_a_browser_over_a_limit_gets_a_dutch_page_with_retry_after_and_a_script_json(agenda: Agenda) -> None:
    session = agenda.schedule()
    app = agenda.public.app
    app.state.signup_rate_limiter = RateLimiter(1, burst=1)  # type: ignore[attr-defined]
    assert sign_up(agenda, session["id"]).status_code == 200
    before = len(links(agenda))
    refused = agenda.public.post(f"/agenda/{session['id']}", data={**FORM, "email": "b@x.be"}, headers=HTML)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert int(refused.headers["Retry-After"]) >= 1
    assert "<h1>Even geduld</h1>" in refused.text and "Probeer het over" in refused.text
    assert '<html lang="nl-BE">' in refused.text
    assert all(h in refused.headers for h in SECURITY_HEADERS)
    script = agenda.public.post(f"/agenda/{session['id']}", data={**FORM, "email": "c@x.be"})
    assert script.status_code == 429 and script.headers["content-type"] == "application/json"
    assert "Retry-After" in script.headers and script.json()["detail"]
    # the pages' own limit (shared.limits), the same way
    app.state.public_rate_limiter = RateLimiter(1, burst=1)  # type: ignore[attr-defined]
    assert agenda.public.get("/agenda", headers=HTML).status_code == 200
    page = agenda.public.get("/agenda", headers=HTML)
    assert (page.status_code, page.headers["content-type"].split(";")[0]) == (429, "text/html")
    assert "Retry-After" in page.headers and "Te veel aanvragen" in page.text
    assert agenda.public.get("/agenda.ics").status_code == 429  # a calendar app: no page
    assert len(links(agenda)) == before


def test_the_per_address_limit_answers_a_page_with_retry_after(agenda: Agenda) -> None:
    sessions = [agenda.schedule(in_days(10 + n)) for n in range(6)]
    for s in sessions[:5]:
        assert sign_up(agenda, s["id"]).status_code == 200
    refused = agenda.public.post(f"/agenda/{sessions[5]['id']}", data=FORM, headers=HTML)
    assert refused.status_code == 429 and "Te veel inschrijvingen" in refused.text
    assert 86_000 < int(refused.headers["Retry-After"]) <= 86_401


# --- an outsider's own data --------------------------------------------------------------------------


def test_an_outsider_sees_their_data_by_a_mailed_link_and_erasing_it_frees_the_seat(
    mailed: Agenda, catcher: MailCatcher
) -> None:
    full = mailed.schedule(in_days(20), capacity=1)
    other = mailed.schedule(in_days(30), capacity=10, title="Netwerkmoment bibliotheken")
    waiting = mailed.schedule(in_days(40))
    me = "sam@buiten.example"
    confirmed_by_mail(mailed, catcher, full["id"], me, name="Sam Buiten")
    confirmed_by_mail(mailed, catcher, full["id"], "kim@wacht.example", name="Kim Wacht")  # waits behind me
    confirmed_by_mail(mailed, catcher, other["id"], me, name="Sam Buiten")
    assert sign_up(mailed, waiting["id"], email=me, name="Sam Buiten").status_code == 200  # not confirmed
    catcher.wait_for(me, n=5)  # opt-in and confirmation twice, one opt-in not followed
    cancel_tokens = [link_in(m, CANCEL_LINK) for m in catcher.to(me) if CANCEL_LINK.search(m.part("plain"))]
    optin_tokens = [link_in(m, CONFIRM_LINK) for m in catcher.to(me) if CONFIRM_LINK.search(m.part("plain"))]
    assert (len(cancel_tokens), len(optin_tokens)) == (2, 3)
    seen = len(catcher.to(me))

    # the form: its own page, Dutch, a link back in the footer of every page
    form = mailed.public.get("/agenda/mijn-gegevens")
    assert form.status_code == 200 and 'name="email"' in form.text
    assert all(h in form.headers for h in SECURITY_HEADERS)
    assert 'href="/agenda/mijn-gegevens"' in mailed.public.get("/agenda").text
    # an unknown address and a known one get the same answer; only the known one gets a mail
    nobody = ask_for_data(mailed, "niemand@buiten.example")
    answer = ask_for_data(mailed, "  SAM@buiten.example ")
    assert nobody.status_code == answer.status_code == 200
    assert nobody.text == answer.text and "Kijk in je mailbox" in answer.text
    data_mail = catcher.wait_for(me, n=seen + 1)[seen]
    assert data_mail.message["Subject"] == "Je gegevens bij de agenda digitale inclusie"
    token = link_in(data_mail, DATA_LINK)

    page = mailed.public.get(f"/agenda/mijn-gegevens/{token}")
    assert page.status_code == 200 and page.headers["X-Robots-Tag"] == "noindex"
    for shown in ("Sam Buiten", me, "Vzw De Brug", "Middenveldorganisatie", "Netwerkmoment bibliotheken"):
        assert shown in page.text
    assert page.text.count('<h2 id="inschrijving-') == 3
    assert "nog niet bevestigd" in page.text and "ingeschreven" in page.text
    assert "Kim Wacht" not in page.text  # someone else's sign-up, for the same session
    # a GET changes nothing; a foreign form neither
    assert len(signups(mailed)) == 3
    foreign = mailed.public.post(
        f"/agenda/mijn-gegevens/{token}", data={"token": token}, headers={"Origin": "https://kwaad.example"}
    )
    assert foreign.status_code == 403 and len(signups(mailed)) == 3

    erased = mailed.public.post(f"/agenda/mijn-gegevens/{token}", data={"token": token}, headers=SAME_SITE)
    assert erased.status_code == 200 and "Je gegevens zijn gewist" in erased.text
    assert "geannuleerd" in erased.text
    # what the form told us is gone; the registrations stay, anonymous, and my seats are free
    assert [s.name for s in signups(mailed)] == ["Kim Wacht"]
    with Session(mailed.engine) as db:
        remaining = {link.email for link in db.execute(select(optin.OutsiderLink)).scalars()}
        assert me not in remaining
        kept = [
            m for m in db.execute(select(SignupMail)).scalars() if m.recipient == me or m.name == "Sam Buiten"
        ]
        assert kept == []
    first, kim = registrations(mailed, full["id"])
    assert (first.status, kim.status, kim.waitlisted) == ("cancelled", "registered", False)  # moved up
    [mine] = registrations(mailed, other["id"])
    assert mine.status == "cancelled" and mine.organisation_kind == "middenveldorganisatie"
    assert registrations(mailed, waiting["id"]) == []
    moved = catcher.wait_for("kim@wacht.example", n=3)[2]
    assert moved.message["Subject"].startswith("Er is een plaats vrijgekomen")
    # every personal link of mine answers the same Dutch 404, by GET and by POST
    for cancel in cancel_tokens:
        bad_link_page(mailed.public.get(f"/agenda/afmelden/{cancel}"))
        bad_link_page(
            mailed.public.post(f"/agenda/afmelden/{cancel}", data={"token": cancel}, headers=SAME_SITE)
        )
    for pending in optin_tokens:
        bad_link_page(mailed.public.get(f"/agenda/bevestigen/{pending}"))
        bad_link_page(confirm(mailed, pending))
    bad_link_page(mailed.public.get(f"/agenda/mijn-gegevens/{token}"))
    bad_link_page(
        mailed.public.post(f"/agenda/mijn-gegevens/{token}", data={"token": token}, headers=SAME_SITE)
    )
    # nothing kept, so asking again mails nothing
    assert ask_for_data(mailed, me).status_code == 200
    total = catcher.count()
    wait_until(
        lambda: all(link.mail_status != "pending" for link in links(mailed)), what="no link mail pending"
    )
    assert catcher.count() == total
    assert not any(DATA_LINK.search(m.part("plain")) for m in catcher.to(me)[seen + 1 :])


def test_data_links_are_few_a_day_and_a_member_is_sent_to_the_members_service(
    mailed: Agenda, catcher: MailCatcher
) -> None:
    session = mailed.schedule(in_days(20))
    confirmed_by_mail(mailed, catcher, session["id"], "sam@buiten.example")
    for _ in range(5):
        assert ask_for_data(mailed, "sam@buiten.example").status_code == 200
    wait_until(
        lambda: all(link.mail_status != "pending" for link in links(mailed)), what="no link mail pending"
    )
    assert sum(1 for m in catcher.to("sam@buiten.example") if DATA_LINK.search(m.part("plain"))) == 3
    # a member's sign-up keeps no address: nothing for this page to show, no data link
    known_member(mailed, "an.lid@zemst.example")
    assert sign_up(mailed, session["id"], email="an.lid@zemst.example").status_code == 200
    assert ask_for_data(mailed, "an.lid@zemst.example").status_code == 200
    wait_until(
        lambda: all(link.mail_status != "pending" for link in links(mailed)), what="no link mail pending"
    )
    settle = catcher.wait_for("an.lid@zemst.example")  # the sign-up's own confirmation
    assert not any(DATA_LINK.search(m.part("plain")) for m in settle)
    assert not any(DATA_LINK.search(m.part("plain")) for m in catcher.to("an.lid@zemst.example"))


def test_an_erased_members_links_stop_working(agenda: Agenda) -> None:
    """An address signs up before the service knows it as a member's (the opt-in waits), becomes a
    member's and signs up as the member elsewhere; member.erased: both links answer the Dutch 404."""
    early, later = agenda.schedule(in_days(20)), agenda.schedule(in_days(25))
    assert sign_up(agenda, early["id"], email="wis.mij@zemst.example").status_code == 200
    opt_in = optin_token(agenda, "wis.mij@zemst.example")
    member, _ = known_member(agenda, "wis.mij@zemst.example")
    assert sign_up(agenda, later["id"], email="wis.mij@zemst.example").status_code == 200  # at once
    with Session(agenda.engine) as db:
        [cancel_row] = db.execute(select(PublicSignup)).scalars()
        assert cancel_row.member_id == member
    [mail] = [m for m in agenda_mail_rows(agenda) if m.kind == "confirmation"]
    cancel = mail.token
    assert cancel and agenda.public.get(f"/agenda/afmelden/{cancel}").status_code == 200
    assert agenda.public.get(f"/agenda/bevestigen/{opt_in}").status_code == 200
    erased = events.MemberErased(member_id=member, erased_on=in_days(0))
    record = events.encode(events.new_envelope(erased, source="/services/members"))
    asyncio.run(
        infra.produce(
            agenda.bootstrap, [(agenda.prefix + topics.MEMBERS_EVENTS, erased.key().encode(), record)]
        )
    )
    wait_until(lambda: signups(agenda) == [] and links(agenda) == [], what="the member's links forgotten")
    bad_link_page(agenda.public.get(f"/agenda/afmelden/{cancel}"))
    bad_link_page(agenda.public.get(f"/agenda/bevestigen/{opt_in}"))
    bad_link_page(confirm(agenda, opt_in))
    assert [r.status for r in registrations(agenda, later["id"])] == ["cancelled"]
    assert registrations(agenda, early["id"]) == []


def agenda_mail_rows(agenda: Agenda) -> list[SignupMail]:
    with Session(agenda.engine) as db:
        return list(db.execute(select(SignupMail).order_by(col(SignupMail.id))).scalars())


# --- hostile input ----------------------------------------------------------------------------------

HOSTILE = [
    '"><script>alert(1)</script>',
    '=HYPERLINK("https://evil.example","klik")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "Sam\u202eBuiten",  # right-to-left override: shown, not interpreted
]
REFUSED = [
    ({"name": "Sam\x00Buiten"}, "name"),
    ({"name": "Sam\x07Buiten"}, "name"),
    ({"organisation": "Vzw\x1b[2J"}, "organisation"),
    ({"name": "x" * 201}, "name"),
    ({"organisation": "y" * 301}, "organisation"),
    ({"email": "a" * 310 + "@x.be"}, "email"),
    ({"email": "sam@buiten.example\r\nBcc: iedereen@kwaad.example"}, "email"),
    ({"email": "<script>@x.be"}, "email"),
    ({"organisation_kind": "'; DROP TABLE ev_registrations; --"}, "organisation_kind"),
]


def test_hostile_text_is_kept_as_typed_and_shown_escaped_on_the_data_page(
    mailed: Agenda, catcher: MailCatcher
) -> None:
    session = mailed.schedule(in_days(20), capacity=50)
    for n, text in enumerate(HOSTILE):
        confirmed_by_mail(
            mailed, catcher, session["id"], f"h{n}@buiten.example", name=text, organisation=text
        )
    kept = {s.email: (s.name, s.organisation_name) for s in signups(mailed)}
    assert kept == {f"h{n}@buiten.example": (t, t) for n, t in enumerate(HOSTILE)}
    assert ask_for_data(mailed, "h0@buiten.example").status_code == 200
    data_mail = [m for m in catcher.wait_for("h0@buiten.example", n=3) if DATA_LINK.search(m.part("plain"))]
    page = mailed.public.get(f"/agenda/mijn-gegevens/{link_in(data_mail[0], DATA_LINK)}").text
    assert "<script>alert(1)" not in page and "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert seats_taken(mailed, session["id"]) == len(HOSTILE)


@pytest.mark.parametrize(("changes", "field"), REFUSED, ids=[f for _, f in REFUSED])
def test_control_characters_and_overlong_values_are_refused_and_nothing_is_stored(
    agenda: Agenda, changes: dict[str, str], field: str
) -> None:
    session = agenda.schedule()
    before = published(agenda, session["id"])
    response = sign_up(agenda, session["id"], **changes)
    assert response.status_code == 422
    assert f'id="veld-{field}"' in response.text and 'aria-invalid="true"' in response.text
    assert "\x00" not in response.text and "\x1b" not in response.text
    assert (registrations(agenda, session["id"]), signups(agenda), links(agenda)) == ([], [], [])
    assert published(agenda, session["id"]) == before


@pytest.mark.parametrize(
    "email",
    [
        "",
        "geen-adres",
        "a\x00@b.be",
        "x" * 400 + "@b.be",
        "<script>alert(1)</script>",
        "=1+1@b.be\r\nBcc: x@y",
    ],
)
def test_the_data_form_refuses_what_is_not_an_address_and_stores_nothing(agenda: Agenda, email: str) -> None:
    response = ask_for_data(agenda, email)
    assert response.status_code == 422 and 'aria-invalid="true"' in response.text
    assert "<script>alert(1)" not in response.text and "\x00" not in response.text
    assert links(agenda) == []


def test_ten_thousand_sign_ups_from_one_address_change_no_more_than_the_limits_allow(agenda: Agenda) -> None:
    """One client, one address, 10,000 posts over ten sessions, on both databases, with the
    service's own limits (60 pages a minute → 10 sign-ups a minute per client, a burst of 5): at most
    five sign-ups of the address a day get through, and as an unknown address none of them takes a
    seat before it is confirmed; then a member's address, registered at once, takes at most five."""
    app = agenda.public.app
    app.state.signup_rate_limiter = RateLimiter(10, burst=5)  # type: ignore[attr-defined]
    sessions = [agenda.schedule(in_days(10 + n), capacity=3) for n in range(10)]
    ids = [s["id"] for s in sessions]
    answers: dict[int, int] = {}
    # the database sees only what passes the client's limit; sent from the app's own loop (below),
    # the 10,000 take seconds on either database
    posts = 10_000

    async def hammer() -> None:
        # one client in the app's own event loop: a TestClient hands every request to that loop
        # and waits for the answer in another thread, which made the hops cost more than the app
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            for n in range(posts):
                status = (await client.post(f"/agenda/{ids[n % 10]}", data=FORM)).status_code
                answers[status] = answers.get(status, 0) + 1

    assert agenda.public.portal is not None
    agenda.public.portal.call(hammer)
    assert set(answers) <= {200, 429}
    # the burst and what refills while the test runs pass the client's limit; of those, the address's
    # limit lets five make a link (asking again for the same session answers 200 and makes none)
    assert answers[429] >= posts - 100
    assert len(links(agenda)) == 5
    assert count(agenda, Registration) == 0
    assert all(seats_taken(agenda, i) == 0 for i in ids)

    # a member's address (registered at once), the client limiter out of the way: the address's limit
    app.state.signup_rate_limiter = RateLimiter(1_000_000, burst=1_000_000)  # type: ignore[attr-defined]
    known_member(agenda, "an.lid@zemst.example")
    statuses = [sign_up(agenda, ids[n % 10], email="an.lid@zemst.example").status_code for n in range(300)]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) <= {409, 429}
    assert sum(seats_taken(agenda, i) for i in ids) == 5
    assert sorted(seats_taken(agenda, i) for i in ids) == [0] * 5 + [1] * 5
