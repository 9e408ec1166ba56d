"""The newsletter service as ops run it (`python -m services.newsletter`) against the real broker, each
database, and a real SMTP server in the test process: double opt-in, the mails' headers and links,
bounces, a server that is down, service mails, erasure and the communications log."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka.partitioner import murmur2
from sqlalchemy import create_engine, text

from services.newsletter.domain import today
from services.newsletter.mail import LIST_ID
from shared import events, topics
from shared.db import normalise_url
from shared.links import read_token
from tests import infra
from tests.infra import LINK_SECRET, ServiceProcess, produce, read_topic, wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher, Received

pytestmark = pytest.mark.integration

FEEDBACK_URL = "http://feedback.example.test"


@dataclass
class Stack:
    service: ServiceProcess
    catcher: MailCatcher
    bootstrap: str
    prefix: str
    database_url: str

    def client(self) -> httpx.Client:
        return self.service.client("staff")

    def public(self) -> httpx.Client:
        return httpx.Client(base_url=self.service.url, timeout=30)

    def topic(self, base: str) -> str:
        return self.prefix + base

    def publish(self, *datas: events.EventData, time: datetime | None = None) -> list[bytes]:
        values = [events.encode(events.new_envelope(d, source="/test", time=time)) for d in datas]
        self.send_raw(
            [(self.topic(d.TOPIC), d.key().encode(), v) for d, v in zip(datas, values, strict=True)]
        )
        return values

    def send_raw(self, records: list[tuple[str, bytes | None, bytes | None]]) -> None:
        asyncio.run(produce(self.bootstrap, records))

    def contact(self, member_id: uuid.UUID, email: str, consent: bool, first_name: str = "Lien") -> None:
        value = {
            "member_id": str(member_id),
            "first_name": first_name,
            "last_name": "Peeters",
            "email": email,
            "phone": None,
            "organisation_id": str(uuid.uuid4()),
            "newsletter_consent": consent,
            "active": True,
            "updated_at": datetime.now(UTC).isoformat(),
        }
        self.send_raw(
            [(self.topic(topics.MEMBERS_CONTACTS), str(member_id).encode(), json.dumps(value).encode())]
        )

    def published(self, event_type: str) -> list[dict[str, Any]]:
        records = asyncio.run(read_topic(self.bootstrap, self.topic(topics.COMMUNICATIONS_EVENTS)))
        values = [json.loads(r.value) for r in records]
        return [v for v in values if v["type"] == f"be.vvsg.digitaleinclusie.{event_type}.v1"]

    def subscriber(self, address: str) -> dict[str, Any] | None:
        with self.client() as client:
            items = client.get("/subscribers", params={"q": address}).json()["items"]
        return next((s for s in items if s["email"] == address), None)

    def rows_mentioning(self, needle: str) -> list[str]:
        """Every row of this service's nl_ tables in which a text appears (the erasure check)."""
        engine = create_engine(normalise_url(self.database_url))
        found: list[str] = []
        with engine.connect() as conn:
            for table in (
                "nl_contacts",
                "nl_subscribers",
                "nl_bounces",
                "nl_service_mails",
                "nl_deliveries",
                "nl_erased_members",
            ):
                for row in conn.execute(text(f"SELECT * FROM {table}")):
                    if needle in " ".join(str(v) for v in row):
                        found.append(f"{table}: {row}")
        engine.dispose()
        return found


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def stack(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """One running service per database for this module's tests (each test uses its own people)."""
    workdir = tmp_path_factory.mktemp(f"newsletter-{request.param}")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    catcher = MailCatcher().start()
    with _database(request, workdir) as database_url:
        service = ServiceProcess(
            "newsletter",
            {
                "DATABASE_URL": database_url,
                "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                "KAFKA_TOPIC_PREFIX": prefix,
                "SMTP_HOST": "127.0.0.1",
                "SMTP_PORT": str(catcher.port),
                "FEEDBACK_PUBLIC_URL": FEEDBACK_URL,
                "OUTBOX_POLL_SECONDS": "0.2",
                "NEWSLETTER_POLL_SECONDS": "0.3",
                "NEWSLETTER_RETRY_SECONDS": "0.2",
                "NEWSLETTER_RETRY_MAX_SECONDS": "0.5",
                "PUBLIC_RATE_PER_MINUTE": "6000",  # every request here comes from 127.0.0.1
            },
            workdir,
        )
        service.env["NEWSLETTER_PUBLIC_URL"] = service.url
        service.start()
        try:
            yield Stack(service, catcher, kafka_bootstrap, prefix, database_url)
        finally:
            service.stop()
            catcher.stop()


class _database:
    def __init__(self, request: pytest.FixtureRequest, workdir: Any) -> None:
        self.request, self.workdir = request, workdir
        self._pg: Any = None

    def __enter__(self) -> str:
        if self.request.param == "sqlite":
            return f"sqlite:///{self.workdir}/newsletter.db"
        self._pg = infra.postgres_database(self.request.getfixturevalue("postgres_server"))
        return str(self._pg.__enter__())

    def __exit__(self, *exc: object) -> None:
        if self._pg is not None:
            self._pg.__exit__(*exc)


def _key_in_same_partition(member_id: uuid.UUID, partitions: int = 3) -> uuid.UUID:
    """Another member id whose records land in the same partition (Kafka's murmur2 partitioner),
    so that its record is read after the ones sent before it."""

    def partition(key: uuid.UUID) -> int:
        return (murmur2(str(key).encode()) & 0x7FFFFFFF) % partitions

    while True:
        candidate = uuid.uuid4()
        if partition(candidate) == partition(member_id):
            return candidate


def _address(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@gemeente.example"


def _link(received: Received, path: str) -> str:
    match = re.search(rf"(http://\S+/{path}/\S+)", received.part("plain"))
    assert match, f"no {path} link in the mail"
    return match.group(1)


def _subscribe(stack: Stack, address: str) -> Received:
    """Fill in the public form; the confirmation mail it brings."""
    before = len(stack.catcher.to(address))
    with stack.public() as public:
        answer = public.post("/nieuwsbrief", data={"email": address, "first_name": "Jan"})
    assert answer.status_code == 200, answer.text
    assert "Bijna klaar" in answer.text
    return stack.catcher.wait_for(address, before + 1)[-1]


def _confirm(stack: Stack, confirmation: Received) -> httpx.Response:
    link = _link(confirmation, "nieuwsbrief/bevestigen")
    with stack.public() as public:
        assert public.get(link).status_code == 200
        return public.post(link)


def _send_issue(stack: Stack, title: str) -> dict[str, Any]:
    with stack.client() as client:
        issue = client.post(
            "/issues", json={"title": title, "body": "## Nieuws\n\nLees [meer](https://vvsg.be)."}
        )
        assert issue.status_code == 201, issue.text
        sent = client.post(f"/issues/{issue.json()['id']}/send")
        assert sent.status_code == 202, sent.text
        issue_id = issue.json()["id"]
        return dict(
            wait_until(
                lambda: (lambda i: i if i["status"] == "sent" else None)(
                    client.get(f"/issues/{issue_id}").json()
                ),
                30,
                0.1,
                f"issue {title} to be sent",
            )
        )


def _issue_mail(stack: Stack, address: str, title: str) -> Received:
    mails = [m for m in stack.catcher.to(address) if m.message["Subject"] == title]
    assert len(mails) == 1, f"{len(mails)} mails of {title!r} to {address}"
    return mails[0]


# --- subscribing ----------------------------------------------------------------------------------


def test_double_opt_in_sends_only_a_confirmation_until_the_link_is_used(stack: Stack) -> None:
    address = _address("optin")
    confirmation = _subscribe(stack, address)
    assert confirmation.message["Subject"] == "Bevestig je inschrijving op de nieuwsbrief digitale inclusie"
    assert "Bevestig je inschrijving via deze link" in confirmation.part("plain")
    assert _link(confirmation, "nieuwsbrief/bevestigen") in confirmation.part("html")
    pending = stack.subscriber(address)
    assert pending is not None and pending["status"] == "pending"
    reader = _address("reader")  # someone already subscribed, so that an issue can go out meanwhile
    stack.contact(uuid.uuid4(), reader, consent=True)
    wait_until(lambda: stack.subscriber(reader), 20, 0.1, "a subscribed member")
    pending_issue = f"Voor de bevestiging {uuid.uuid4().hex[:6]}"
    _send_issue(stack, pending_issue)
    assert _issue_mail(stack, reader, pending_issue)
    assert [m.message["Subject"] for m in stack.catcher.to(address)] == [confirmation.message["Subject"]]

    answer = _confirm(stack, confirmation)
    assert answer.status_code == 200 and "Je inschrijving is bevestigd" in answer.text
    active = stack.subscriber(address)
    assert active is not None and active["status"] == "active"
    subscribed = wait_until(
        lambda: [e for e in stack.published("newsletter.subscribed") if e["subject"] == active["id"]],
        20,
        0.2,
        "newsletter.subscribed",
    )
    assert subscribed[0]["data"] == {
        "subscriber_id": active["id"],
        "member_id": None,
        "subscribed_on": today().isoformat(),
    }
    assert "@" not in json.dumps(subscribed[0])  # ids only on the topic


def test_a_newsletter_mail_has_both_parts_the_list_headers_and_a_working_unsubscribe_link(
    stack: Stack,
) -> None:
    address = _address("reader")
    _confirm(stack, _subscribe(stack, address))
    subscriber = stack.subscriber(address)
    assert subscriber is not None
    title = f"Nieuwsbrief {uuid.uuid4().hex[:6]}"
    issue = _send_issue(stack, title)

    received = _issue_mail(stack, address, title)
    headers = received.message
    unsubscribe = _link(received, "nieuwsbrief/uitschrijven")
    assert headers["List-Unsubscribe"] == f"<{unsubscribe}>"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Id"] == LIST_ID
    assert headers["From"] == "Digitale inclusie VVSG <digitale.inclusie@vvsg.be>"
    assert headers["To"] == f"Jan <{address}>"
    assert re.fullmatch(r"<nieuwsbrief\.[0-9a-f]{32}@vvsg\.be>", headers["Message-ID"])
    assert received.message.get_content_type() == "multipart/alternative"
    assert "Lees meer (https://vvsg.be)." in received.part("plain")
    assert '<a href="https://vvsg.be">meer</a>' in received.part("html")
    assert unsubscribe in received.part("html")
    assert issue["recipients"] >= 1

    with stack.public() as public:
        page = public.get(unsubscribe)
        assert page.status_code == 200 and 'lang="nl"' in page.text and "Schrijf me uit" in page.text
        done = public.post(unsubscribe)
    assert done.status_code == 200 and "Je bent uitgeschreven" in done.text
    after = stack.subscriber(address)
    assert after is not None and after["status"] == "unsubscribed"
    unsubscribed = wait_until(
        lambda: [e for e in stack.published("newsletter.unsubscribed") if e["subject"] == subscriber["id"]],
        20,
        0.2,
        "newsletter.unsubscribed",
    )
    assert set(unsubscribed[0]["data"]) == {"subscriber_id", "unsubscribed_on"}


def test_the_one_click_post_of_a_mail_client_unsubscribes_and_resubscribing_works(stack: Stack) -> None:
    address = _address("oneclick")
    _confirm(stack, _subscribe(stack, address))
    title = f"Eén klik {uuid.uuid4().hex[:6]}"
    _send_issue(stack, title)
    unsubscribe = _issue_mail(stack, address, title).message["List-Unsubscribe"].strip("<>")
    with stack.public() as public:  # RFC 8058: what a mail client sends, without any page
        answer = public.post(
            unsubscribe,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert answer.status_code == 200
    assert (stack.subscriber(address) or {}).get("status") == "unsubscribed"

    again = _subscribe(stack, address)  # a second confirmation mail
    assert len(stack.catcher.to(address)) == 3  # confirmation, newsletter, new confirmation
    assert _confirm(stack, again).status_code == 200
    assert (stack.subscriber(address) or {}).get("status") == "active"


def test_invalid_addresses_get_422_and_nothing_is_stored(stack: Stack) -> None:
    bad = ["", "geen-adres", "a@b", "twee@@gemeente.be", "spatie in@gemeente.be", "x" * 250 + "@a.be"]
    with stack.public() as public:
        for address in bad:
            answer = public.post("/subscriptions", json={"email": address})
            assert answer.status_code == 422, (address, answer.text)
            assert answer.json()["detail"][0]["loc"][-1] == "email"
            page = public.post("/nieuwsbrief", data={"email": address})
            assert page.status_code == 422, address
            assert 'role="alert"' in page.text and 'aria-invalid="true"' in page.text
        assert (
            public.post("/subscriptions", json={"email": "ok@gemeente.example", "extra": 1}).status_code
            == 422
        )
    with stack.client() as client:
        for address in bad[1:]:
            assert client.get("/subscribers", params={"q": address[:20]}).json()["total"] == 0


def test_a_member_who_consents_is_subscribed_without_opt_in_and_withdrawing_unsubscribes(
    stack: Stack,
) -> None:
    member = uuid.uuid4()
    address = _address("member")
    stack.contact(member, address, consent=True)
    subscriber = wait_until(
        lambda: (lambda s: s if s and s["status"] == "active" else None)(stack.subscriber(address)),
        20,
        0.1,
        "the member to be subscribed",
    )
    assert subscriber["member_id"] == str(member) and subscriber["source"] == "member"
    assert stack.catcher.to(address) == []  # no confirmation mail: consent was given to the members service
    stack.contact(member, address, consent=False)
    wait_until(
        lambda: (stack.subscriber(address) or {}).get("status") == "unsubscribed", 20, 0.1, "withdrawal"
    )


# --- sending --------------------------------------------------------------------------------------


def test_a_550_marks_the_address_bounced_and_it_is_never_mailed_again(stack: Stack) -> None:
    address = _address("bounce")
    stack.catcher.refuse[address] = "550 5.1.1 Deze mailbox bestaat niet"
    stack.contact(uuid.uuid4(), address, consent=True)
    wait_until(lambda: stack.subscriber(address), 20, 0.1, "the member to be subscribed")
    first = _send_issue(stack, f"Eerste {uuid.uuid4().hex[:6]}")
    assert first["deliveries"].get("bounced", 0) >= 1
    subscriber = stack.subscriber(address)
    assert subscriber is not None and subscriber["bounced"] is True
    stack.catcher.refuse.pop(address)
    # someone still to send to, whichever tests ran before this one on the module's service
    healthy = _address("healthy")
    stack.contact(uuid.uuid4(), healthy, consent=True)
    wait_until(lambda: stack.subscriber(healthy), 20, 0.1, "the other member to be subscribed")
    second = _send_issue(stack, f"Tweede {uuid.uuid4().hex[:6]}")
    assert second["deliveries"].get("bounced", 0) == 0
    assert stack.catcher.to(address) == []


def test_a_server_that_is_down_loses_nothing(stack: Stack) -> None:
    address = _address("patient")
    stack.contact(uuid.uuid4(), address, consent=True)
    wait_until(lambda: stack.subscriber(address), 20, 0.1, "the member to be subscribed")
    stack.catcher.stop()
    try:
        title = f"Tijdens de panne {uuid.uuid4().hex[:6]}"
        with stack.client() as client:
            issue = client.post("/issues", json={"title": title, "body": "Even geduld."}).json()
            assert client.post(f"/issues/{issue['id']}/send").status_code == 202
            status = wait_until(
                lambda: (lambda s: s if s["smtp"]["reachable"] is False else None)(
                    client.get("/mail/status").json()
                ),
                20,
                0.1,
                "the sender to find the server down",
            )
            assert status["newsletter"].get("queued", 0) >= 1
            assert client.get(f"/issues/{issue['id']}").json()["status"] == "sending"
    finally:
        stack.catcher.start()
    received = stack.catcher.wait_for(address)
    assert [m.message["Subject"] for m in received] == [title]
    with stack.client() as client:
        done = wait_until(
            lambda: (lambda i: i if i["status"] == "sent" else None)(
                client.get(f"/issues/{issue['id']}").json()
            ),
            20,
            0.1,
            "the issue to be sent",
        )
    # every delivery that waited went out once the server was back
    assert done["deliveries"] == {"sent": done["recipients"], "unconfirmed": 0}
    assert len([m for m in stack.catcher.received if m.message["Subject"] == title]) == done["recipients"]


# --- service mails --------------------------------------------------------------------------------


def _session(session_id: uuid.UUID, title: str) -> events.SessionScheduled:
    starts = datetime.now(UTC) + timedelta(days=10)
    return events.SessionScheduled(
        session_id=session_id,
        kind="info_session",
        title=title,
        theme="digitale inclusie",
        lead="vvsg",
        format="online",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        planned_hours=2,
    )


def test_a_registration_is_confirmed_once_even_when_the_event_comes_again(stack: Stack) -> None:
    member, session_id, registration = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    address = _address("registrant")
    stack.contact(member, address, consent=False, first_name="Sofie")
    received_event = events.RegistrationReceived(
        registration_id=registration,
        session_id=session_id,
        member_id=member,
        organisation_kind="lokaal_bestuur",
        waitlisted=False,
    )
    _, value = stack.publish(_session(session_id, "Infosessie digitale drempels"), received_event)
    mail = stack.catcher.wait_for(address)[0]
    assert mail.message["Subject"] == "Je inschrijving voor Infosessie digitale drempels is bevestigd"
    assert mail.part("plain").startswith("Beste Sofie,")
    assert "Wanneer: " in mail.part("plain") and "online" in mail.part("plain")
    assert "Infosessie digitale drempels" in mail.part("html")

    # the same record again, and the same registration under a new event id: no second mail
    stack.send_raw([(stack.topic(topics.ACTIVITIES_EVENTS), str(session_id).encode(), value)])
    stack.publish(received_event)
    # a later registration for the same session (same partition): once its mail is there, the copies
    # before it were handled
    marker, marker_member = _address("marker"), uuid.uuid4()
    stack.contact(marker_member, marker, consent=False)
    stack.publish(
        events.RegistrationReceived(
            registration_id=uuid.uuid4(),
            session_id=session_id,
            member_id=marker_member,
            organisation_kind="lokaal_bestuur",
            waitlisted=True,
        )
    )
    waitlisted = stack.catcher.wait_for(marker)[0]
    assert "wachtlijst" in waitlisted.message["Subject"]
    assert len(stack.catcher.to(address)) == 1


def test_an_old_registration_replayed_mails_nobody(stack: Stack) -> None:
    member, session_id = uuid.uuid4(), uuid.uuid4()
    address = _address("history")
    stack.contact(member, address, consent=False)
    stack.publish(
        events.RegistrationReceived(
            registration_id=uuid.uuid4(),
            session_id=session_id,
            member_id=member,
            organisation_kind="lokaal_bestuur",
            waitlisted=False,
        ),
        time=datetime.now(UTC) - timedelta(days=30),
    )
    fresh = _address("fresh")
    fresh_member = uuid.uuid4()
    stack.contact(fresh_member, fresh, consent=False)
    stack.publish(
        events.RegistrationReceived(
            registration_id=uuid.uuid4(),
            session_id=session_id,
            member_id=fresh_member,
            organisation_kind="lokaal_bestuur",
            waitlisted=False,
        )
    )
    stack.catcher.wait_for(fresh)  # same partition, later offset: the old one was handled before it
    assert stack.catcher.to(address) == []


def test_a_feedback_request_mails_the_personal_link_of_the_feedback_service(stack: Stack) -> None:
    member, session_id, request_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    address = _address("attendee")
    stack.contact(member, address, consent=False, first_name="Ahmed")
    stack.publish(_session(session_id, "Netwerkdag inclusie"))
    stack.publish(
        events.FeedbackRequested(
            request_id=request_id,
            subject_type="session",
            subject_id=session_id,
            member_id=member,
            requested_on=date.today(),
        )
    )
    mail = stack.catcher.wait_for(address)[0]
    assert mail.message["Subject"] == "Wat vond je van Netwerkdag inclusie?"
    link = re.search(rf"{re.escape(FEEDBACK_URL)}/feedback/(\S+)", mail.part("plain"))
    assert link is not None
    assert read_token(LINK_SECRET, "feedback", link.group(1)) == str(request_id)
    assert f"{FEEDBACK_URL}/feedback/{link.group(1)}" in mail.part("html")


# --- erasure --------------------------------------------------------------------------------------


def test_an_erased_member_leaves_no_address_behind(stack: Stack) -> None:
    by_tombstone, by_event = uuid.uuid4(), uuid.uuid4()
    first, second = _address("erase-a"), _address("erase-b")
    stack.catcher.refuse[second] = "550 5.1.1 unknown"
    session_id = uuid.uuid4()
    for member, address in ((by_tombstone, first), (by_event, second)):
        stack.contact(member, address, consent=True)
        stack.publish(
            events.RegistrationReceived(
                registration_id=uuid.uuid4(),
                session_id=session_id,
                member_id=member,
                organisation_kind="andere",
                waitlisted=False,
            )
        )
    stack.catcher.wait_for(first)
    wait_until(lambda: (stack.subscriber(second) or {}).get("bounced"), 20, 0.1, "the bounce")
    assert stack.rows_mentioning(first) and stack.rows_mentioning(second)

    stack.send_raw([(stack.topic(topics.MEMBERS_CONTACTS), str(by_tombstone).encode(), None)])
    stack.publish(events.MemberErased(member_id=by_event, erased_on=date.today()))
    wait_until(
        lambda: not stack.rows_mentioning(first) and not stack.rows_mentioning(second),
        20,
        0.2,
        "both addresses to be gone",
    )
    # a late copy of the contact record does not bring the erased member back
    stack.contact(by_event, second, consent=True)
    marker = _address("after-erasure")
    stack.contact(_key_in_same_partition(by_event), marker, consent=True)
    wait_until(lambda: stack.subscriber(marker), 20, 0.1, "a later contact record")
    assert not stack.rows_mentioning(second)


# --- communications log ---------------------------------------------------------------------------


def test_articles_and_good_practices_are_recorded_and_published(stack: Stack) -> None:
    with stack.client() as client:
        article = client.post(
            "/articles",
            json={
                "title": "Digitale inclusie in je gemeente",
                "published_on": "2025-03-01",
                "url": "https://lokaal.be/a",
            },
        )
        assert article.status_code == 201, article.text
        assert article.json()["magazine"] == "Lokaal"
        practice = client.post(
            "/good-practices",
            json={
                "title": "Digipunt in de bib",
                "published_on": "2025-04-02",
                "url": f"https://vvsg.be/{uuid.uuid4().hex}",
            },
        )
        assert practice.status_code == 201, practice.text
        assert client.post("/good-practices", json={"title": "x", "url": "geen-link"}).status_code == 422
        future = (date.today() + timedelta(days=3)).isoformat()
        assert client.post("/articles", json={"title": "x", "published_on": future}).status_code == 422
        assert (
            client.post(
                "/articles", json={"title": "Digitale inclusie in je gemeente", "published_on": "2025-03-01"}
            ).status_code
            == 409
        )
        assert stack.service.client("viewer").post("/articles", json={"title": "x"}).status_code == 403
    articles = wait_until(
        lambda: [e for e in stack.published("article.published") if e["subject"] == article.json()["id"]],
        20,
        0.2,
        "article.published",
    )
    assert articles[0]["data"]["magazine"] == "Lokaal" and articles[0]["data"]["published_on"] == "2025-03-01"
    assert wait_until(
        lambda: [
            e for e in stack.published("good_practice.published") if e["subject"] == practice.json()["id"]
        ],
        20,
        0.2,
        "good_practice.published",
    )


def test_a_draft_can_be_previewed_and_changed_but_a_sent_issue_is_final(stack: Stack) -> None:
    reader = _address("preview")
    stack.contact(uuid.uuid4(), reader, consent=True)
    wait_until(lambda: stack.subscriber(reader), 20, 0.1, "a subscriber")
    with stack.client() as client:
        issue = client.post("/issues", json={"title": "Concept", "body": "Eerste *versie*."}).json()
        changed = client.patch(f"/issues/{issue['id']}", json={"body": "Tweede *versie*."})
        assert changed.status_code == 200 and changed.json()["status"] == "draft"
        preview = client.get(f"/issues/{issue['id']}/preview")
        assert preview.headers["content-type"].startswith("text/html")
        assert "<em>versie</em>" in preview.text and 'lang="nl"' in preview.text
        assert (
            "Tweede *versie*." in client.get(f"/issues/{issue['id']}/preview", params={"format": "text"}).text
        )
        assert client.post(f"/issues/{issue['id']}/send").status_code == 202
        assert client.patch(f"/issues/{issue['id']}", json={"title": "Te laat"}).status_code == 409
        assert client.post(f"/issues/{issue['id']}/send").status_code == 409
        assert client.post(f"/issues/{uuid.uuid4()}/send").status_code == 404
        assert client.post("/issues", json={"title": "", "body": "x"}).status_code == 422
