"""Signing up on a session's public page, on SQLite and PostgreSQL with the real broker feeding the
service's copy of the members: an outsider (once they confirmed through the opt-in link) and a member
recognised by e-mail address (at once) both become ordinary `registration.received` events without a
name or address on them; the third person for two seats waits; bad or hostile input, a filled
honeypot, a second sign-up with the same address, too many from one address or one client, and a
closed session change nothing; erasing a member forgets the digest their sign-up kept."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session, col

from services.events import domain, optin, signup
from services.events.app import forget_old_signups_hourly
from services.events.tables import (
    ActivitySession,
    ContactDigest,
    KnownMember,
    KnownOrganisation,
    PublicSignup,
    Registration,
)
from shared import events, topics
from shared.limits import RateLimiter
from shared.outbox import OutboxMessage
from tests import infra
from tests.public.conftest import PUBLIC_BASE, Agenda, brussels, in_days

pytestmark = pytest.mark.integration

FORM = {
    "name": "Sam Buiten",
    "email": "sam@buiten.example",
    "organisation": "Vzw De Brug",
    "organisation_kind": "middenveldorganisatie",
    "website": "",
}


SAME_SITE = {"Origin": PUBLIC_BASE}


def sign_up(agenda: Agenda, session_id: str, **changes: str) -> Any:
    return agenda.public.post(f"/agenda/{session_id}", data={**FORM, **changes})


def optin_token(agenda: Agenda, email: str) -> str:
    """The raw token of the newest opt-in link for this address, while its mail waits in the row (the
    conftest's service has no mail server: the mail stays pending)."""
    digest = domain.email_digest(email)
    with Session(agenda.engine) as db:
        rows = list(
            db.execute(
                select(optin.OutsiderLink)
                .where(
                    col(optin.OutsiderLink.email_sha256) == digest, col(optin.OutsiderLink.kind) == "optin"
                )
                .order_by(col(optin.OutsiderLink.created_at))
            ).scalars()
        )
    assert rows and rows[-1].mail_token, "no opt-in link waiting for its mail"
    return rows[-1].mail_token


def confirm(agenda: Agenda, token: str) -> Any:
    return agenda.public.post(f"/agenda/bevestigen/{token}", data={"token": token}, headers=SAME_SITE)


def sign_up_confirmed(agenda: Agenda, session_id: str, **changes: str) -> Any:
    """An outsider signs up and follows the opt-in link: the answer to the confirmation."""
    asked = sign_up(agenda, session_id, **changes)
    assert asked.status_code == 200 and "Bevestig je inschrijving" in asked.text, asked.text
    return confirm(agenda, optin_token(agenda, changes.get("email", FORM["email"])))


def links(agenda: Agenda) -> list[optin.OutsiderLink]:
    with Session(agenda.engine) as db:
        return list(
            db.execute(select(optin.OutsiderLink).order_by(col(optin.OutsiderLink.created_at))).scalars()
        )


def published(agenda: Agenda, key: str) -> list[tuple[str, dict[str, Any]]]:
    with Session(agenda.engine) as db:
        rows = db.execute(
            select(OutboxMessage).where(col(OutboxMessage.key) == key).order_by(col(OutboxMessage.id))
        ).scalars()
        values = [json.loads(row.value) for row in rows if row.value]
    return [(v["type"].removeprefix(events.TYPE_PREFIX).rsplit(".v", 1)[0], v) for v in values]


def registrations(agenda: Agenda, session_id: str) -> list[Registration]:
    with Session(agenda.engine) as db:
        return list(
            db.execute(
                select(Registration)
                .where(col(Registration.session_id) == uuid.UUID(session_id))
                .order_by(col(Registration.registered_at))
            ).scalars()
        )


def signups(agenda: Agenda) -> list[PublicSignup]:
    with Session(agenda.engine) as db:
        return list(db.execute(select(PublicSignup)).scalars())


def count(agenda: Agenda, model: Any) -> int:
    with Session(agenda.engine) as db:
        return int(db.execute(select(func.count()).select_from(model)).scalar_one())


def known_member(agenda: Agenda, email: str) -> tuple[uuid.UUID, uuid.UUID]:
    """A member of a local government, with their address on the contacts topic, as the members
    service publishes them; waits until the events service has its copy."""
    organisation, member = uuid.uuid4(), uuid.uuid4()
    datas = [
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
            agenda.prefix + topics.MEMBERS_EVENTS,
            d.key().encode(),
            events.encode(events.new_envelope(d, source="/services/members")),
        )
        for d in datas
    ]
    contact = json.dumps({"member_id": str(member), "email": email}).encode()
    records.append((agenda.prefix + topics.MEMBERS_CONTACTS, str(member).encode(), contact))
    asyncio.run(infra.produce(agenda.bootstrap, records))

    def copied() -> bool:
        with Session(agenda.engine) as db:
            return all(
                (
                    db.get(KnownMember, member),
                    db.get(KnownOrganisation, organisation),
                    db.get(ContactDigest, member),
                )
            )

    infra.wait_until(copied, what="the member, their organisation and address digest in the local copy")
    return member, organisation


# --- who signs up -------------------------------------------------------------------------------


def test_an_outsider_signs_up_as_an_ordinary_registration_without_personal_data_on_it(agenda: Agenda) -> None:
    session = agenda.schedule(capacity=10)
    page = agenda.public.get(f"/agenda/{session['id']}").text
    assert '<form class="signup" method="post"' in page and 'name="website"' in page
    response = sign_up(agenda, session["id"])
    assert response.status_code == 200, response.text
    assert "Bevestig je inschrijving" in response.text
    # not registered yet: no seat, nothing published, what the form said only on the opt-in link
    assert (registrations(agenda, session["id"]), signups(agenda)) == ([], [])
    assert [name for name, _ in published(agenda, session["id"])] == ["session.scheduled"]
    assert "Nog 10 plaatsen vrij" in agenda.public.get(f"/agenda/{session['id']}").text
    [link] = links(agenda)
    assert (link.kind, link.name, link.email, link.session_id) == (
        "optin",
        "Sam Buiten",
        "sam@buiten.example",
        uuid.UUID(session["id"]),
    )
    token = optin_token(agenda, "sam@buiten.example")
    # a GET (a mail client's link scanner) shows the button and changes nothing
    page = agenda.public.get(f"/agenda/bevestigen/{token}")
    assert page.status_code == 200 and "Bevestig mijn inschrijving" in page.text
    assert page.headers["X-Robots-Tag"] == "noindex"
    assert registrations(agenda, session["id"]) == []
    response = confirm(agenda, token)
    assert response.status_code == 200, response.text
    assert "Je bent ingeschreven" in response.text
    [registration] = registrations(agenda, session["id"])
    assert (registration.member_id, registration.organisation_kind, registration.waitlisted) == (
        None,
        "middenveldorganisatie",
        False,
    )
    name, envelope = published(agenda, session["id"])[-1]
    assert name == "registration.received"
    assert envelope["data"]["registration_id"] == str(registration.id)
    assert envelope["data"]["organisation_kind"] == "middenveldorganisatie"
    everything = json.dumps(published(agenda, session["id"]))
    for secret in ("Sam Buiten", "sam@buiten.example", "De Brug", "buiten"):
        assert secret not in everything
    [kept] = signups(agenda)
    assert (kept.name, kept.email, kept.organisation_name, kept.member_id) == (
        "Sam Buiten",
        "sam@buiten.example",
        "Vzw De Brug",
        None,
    )
    assert "Nog 9 plaatsen vrij" in agenda.public.get(f"/agenda/{session['id']}").text
    # the link has done its work: what the form said lives on the sign-up only; a second click says so
    [link] = links(agenda)
    assert (link.name, link.email, link.organisation_name, link.registration_id) == (
        None,
        None,
        None,
        registration.id,
    )
    again = confirm(agenda, token)
    assert again.status_code == 409 and "al bevestigd" in again.text
    assert len(registrations(agenda, session["id"])) == 1


def test_a_member_is_recognised_by_their_address_and_keeps_their_organisation(agenda: Agenda) -> None:
    member, organisation = known_member(agenda, "An.Peeters@Zemst.example")
    session = agenda.schedule()
    response = sign_up(agenda, session["id"], email="  an.peeters@zemst.EXAMPLE ", organisation_kind="andere")
    assert response.status_code == 200, response.text
    [registration] = registrations(agenda, session["id"])
    assert (registration.member_id, registration.organisation_id, registration.organisation_kind) == (
        member,
        organisation,
        "lokaal_bestuur",  # the local copy's, not what the form said
    )
    data = published(agenda, session["id"])[-1][1]["data"]
    assert (data["member_id"], data["organisation_kind"]) == (str(member), "lokaal_bestuur")
    [kept] = signups(agenda)
    assert (kept.member_id, kept.name, kept.email, kept.organisation_name) == (member, None, None, None)
    # the same member once more, through the API or the form: still one registration
    again = sign_up(agenda, session["id"], email="an.peeters@zemst.example")
    assert again.status_code == 409 and "al ingeschreven" in again.text
    assert len(registrations(agenda, session["id"])) == 1


def test_the_third_for_two_seats_waits_and_moves_up_when_a_seat_frees(agenda: Agenda) -> None:
    session = agenda.schedule(capacity=2)
    answers = [sign_up_confirmed(agenda, session["id"], email=f"deelnemer{n}@example.be") for n in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert "Je bent ingeschreven" in answers[1].text
    assert "Je staat op de wachtlijst" in answers[2].text
    first, _, third = registrations(agenda, session["id"])
    assert third.waitlisted
    assert "Volzet" in agenda.public.get(f"/agenda/{session['id']}").text
    cancelled = agenda.staff.post(f"/sessions/{session['id']}/registrations/{first.id}/cancel")
    assert [r["id"] for r in cancelled.json()["promoted"]] == [str(third.id)]


# --- what changes nothing -----------------------------------------------------------------------


def test_a_second_sign_up_with_the_same_address_changes_nothing(agenda: Agenda) -> None:
    session = agenda.schedule()
    assert sign_up(agenda, session["id"]).status_code == 200
    # before confirming: the same answer, no second link and no second mail
    waiting = sign_up(agenda, session["id"], email="Sam@Buiten.example", name="Iemand anders")
    assert waiting.status_code == 200 and "Bevestig je inschrijving" in waiting.text
    [link] = links(agenda)
    assert link.name == "Sam Buiten"
    assert confirm(agenda, optin_token(agenda, "sam@buiten.example")).status_code == 200
    again = sign_up(agenda, session["id"], email="SAM@buiten.example", name="Iemand anders")
    assert again.status_code == 409
    assert "Je bent al ingeschreven" in again.text
    assert (len(registrations(agenda, session["id"])), len(signups(agenda)), len(links(agenda))) == (1, 1, 1)


def test_a_filled_honeypot_is_thanked_and_nothing_is_stored(agenda: Agenda) -> None:
    session = agenda.schedule()
    before = published(agenda, session["id"])
    response = sign_up(agenda, session["id"], website="https://spam.example")
    assert response.status_code == 200
    assert "Bedankt voor je inschrijving" in response.text
    assert (registrations(agenda, session["id"]), signups(agenda), links(agenda)) == ([], [], [])
    assert published(agenda, session["id"]) == before


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Vul dit veld in."),
        ({"email": "geen-adres"}, "email", "Dit is geen geldig e-mailadres"),
        ({"email": "a@b@c.be"}, "email", "Dit is geen geldig e-mailadres"),
        ({"name": "Sam\x1b[31m Buiten"}, "name", "stuurteken"),
        ({"organisation": "x" * 301}, "organisation", "te lang"),
        ({"organisation_kind": "geheim"}, "organisation_kind", "Kies een van de mogelijkheden."),
        ({"organisation_kind": ""}, "organisation_kind", "Kies een van de mogelijkheden."),
    ],
)
def test_bad_input_is_named_on_its_field_and_nothing_is_stored(
    agenda: Agenda, changes: dict[str, str], field: str, message: str
) -> None:
    session = agenda.schedule()
    before = published(agenda, session["id"])
    response = sign_up(agenda, session["id"], **changes)
    assert response.status_code == 422
    html = response.text
    assert "<title>Fout: " in html
    assert f'href="#veld-{field}"' in html and message in html
    assert f'id="veld-{field}"' in html and 'aria-invalid="true"' in html
    assert (registrations(agenda, session["id"]), signups(agenda), links(agenda)) == ([], [], [])
    assert published(agenda, session["id"]) == before


def test_hostile_input_comes_back_as_text_and_a_formula_is_just_a_name(agenda: Agenda) -> None:
    session = agenda.schedule()
    hostile = '"><script>alert(1)</script>'
    refused = sign_up(agenda, session["id"], name=hostile, email="")
    assert refused.status_code == 422
    assert "<script>alert(1)" not in refused.text and "&#34;&gt;&lt;script&gt;alert(1)" in refused.text
    formula = '=HYPERLINK("https://evil.example","klik")'
    assert sign_up_confirmed(agenda, session["id"], name=formula, organisation=hostile).status_code == 200
    [kept] = signups(agenda)
    assert (kept.name, kept.organisation_name) == (formula, hostile)  # stored as typed, escaped where shown


def test_a_closed_or_cancelled_session_takes_no_sign_up(agenda: Agenda) -> None:
    day = in_days(5)
    closed = agenda.schedule(day, registration_deadline=brussels(in_days(-1), 12))
    cancelled = agenda.schedule()
    agenda.staff.post(f"/sessions/{cancelled['id']}/cancel")
    past = agenda.schedule(in_days(-2))
    for session in (closed, cancelled, past):
        page = agenda.public.get(f"/agenda/{session['id']}").text
        assert '<form class="signup"' not in page
        response = sign_up(agenda, session["id"])
        assert response.status_code == 409, session["title"]
    assert (signups(agenda), links(agenda)) == ([], [])
    assert count(agenda, Registration) == 0
    assert sign_up(agenda, str(uuid.uuid4())).status_code == 404


def test_one_address_signs_up_a_few_times_a_day_and_no_more(agenda: Agenda) -> None:
    sessions = [agenda.schedule(in_days(10 + n)) for n in range(7)]
    answers = [sign_up(agenda, s["id"]) for s in sessions]
    assert [a.status_code for a in answers] == [200] * 5 + [429] * 2
    # the unconfirmed sign-ups count: an address gets at most five opt-in mails a day
    assert (count(agenda, Registration), len(links(agenda))) == (0, 5)
    refused = sign_up(agenda, sessions[6]["id"])
    assert "Te veel inschrijvingen" in refused.text
    # the first of the five leaves the day's window in a day, less the seconds the test took
    assert 86_000 < int(refused.headers["Retry-After"]) <= 86_401
    # confirmed ones count as well (a member's address, registered at once, the same)
    token = optin_token(agenda, FORM["email"])
    assert confirm(agenda, token).status_code == 200
    assert sign_up(agenda, sessions[6]["id"]).status_code == 429
    assert count(agenda, Registration) == 1


def test_many_sign_ups_from_one_client_are_held_back(agenda: Agenda) -> None:
    agenda.public.app.state.signup_rate_limiter = RateLimiter(10, burst=3)  # type: ignore[attr-defined]
    session = agenda.schedule()
    answers = [sign_up(agenda, session["id"], email=f"bot{n}@example.be").status_code for n in range(40)]
    assert answers[:3] == [200, 200, 200]
    assert answers.count(429) >= 30
    assert (count(agenda, Registration), len(links(agenda))) == (0, answers.count(200))


def test_erasing_a_member_forgets_the_digest_their_sign_up_kept(agenda: Agenda) -> None:
    member, _ = known_member(agenda, "wis.mij@zemst.example")
    session = agenda.schedule(in_days(20))
    assert sign_up(agenda, session["id"], email="wis.mij@zemst.example").status_code == 200
    assert [s.member_id for s in signups(agenda)] == [member]
    [exported] = agenda.staff.get(f"/people/{member}").json()["public_signups"]  # the right of access
    assert (exported["session_id"], exported["email_digest_held"]) == (session["id"], True)
    erased = events.MemberErased(member_id=member, erased_on=in_days(0))
    record = events.encode(events.new_envelope(erased, source="/services/members"))
    asyncio.run(
        infra.produce(
            agenda.bootstrap, [(agenda.prefix + topics.MEMBERS_EVENTS, erased.key().encode(), record)]
        )
    )
    infra.wait_until(lambda: signups(agenda) == [], what="the sign-up's digest to be forgotten")
    assert agenda.staff.get(f"/people/{member}").json()["public_signups"] == []
    [registration] = registrations(agenda, session["id"])
    assert registration.status == "cancelled"  # a seat at a session still to come is freed
    # with the digest gone, the address is nobody's: it signs up as an outsider, with the opt-in
    assert sign_up_confirmed(agenda, session["id"], email="wis.mij@zemst.example").status_code == 200
    assert registrations(agenda, session["id"])[-1].member_id is None


def test_the_sign_up_form_is_on_the_page_only_while_registration_is_open(agenda: Agenda) -> None:
    day = in_days(3)
    session = agenda.schedule(day, registration_deadline=brussels(day - timedelta(days=1), 12))
    page = agenda.public.get(f"/agenda/{session['id']}").text
    assert 'action="/agenda/' + session["id"] + '"' in page
    assert 'autocomplete="email"' in page and 'aria-hidden="true"' in page


def test_sign_up_details_are_forgotten_some_time_after_the_session_and_the_registration_stays(
    agenda: Agenda,
) -> None:
    old, recent = agenda.schedule(in_days(3)), agenda.schedule(in_days(4))
    for session in (old, recent):
        assert sign_up_confirmed(agenda, session["id"]).status_code == 200
    # the first session ended 61 days ago by now, the second one 59 days ago
    with Session(agenda.engine) as db:
        for session, days in ((old, 61), (recent, 59)):
            row = db.get(ActivitySession, uuid.UUID(session["id"]))
            assert row is not None
            row.starts_at, row.ends_at = now_minus(days, hours=3), now_minus(days)
            db.add(row)
        db.commit()
    assert signup.forget_old_signups(agenda.engine, datetime.now(UTC)) == 1
    assert [s.session_id for s in signups(agenda)] == [uuid.UUID(recent["id"])]
    assert [r.status for r in registrations(agenda, old["id"])] == ["registered"]
    assert signup.forget_old_signups(agenda.engine, datetime.now(UTC)) == 0  # nothing twice
    assert any(job.func is forget_old_signups_hourly for job in agenda_jobs(agenda))  # run by the service


def now_minus(days: int, hours: int = 0) -> datetime:
    return datetime.now(UTC) - timedelta(days=days, hours=hours)


def agenda_jobs(agenda: Agenda) -> list[Any]:
    runtime = agenda.public.app.state.runtime  # type: ignore[attr-defined]
    return [job for job in runtime.background if hasattr(job, "func")]
