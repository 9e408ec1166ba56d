"""Hostile or broken content against the running newsletter service and a real SMTP server: script
links in an issue never become active in the preview or in the mail sent (issue 11 item 3), and one
issue that cannot be composed is marked failed with its reason while the mail goes on (item 12)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from html.parser import HTMLParser

import httpx
from sqlalchemy import create_engine, select
from sqlmodel import Session

from services.newsletter.tables import Delivery, Issue
from shared.db import normalise_url
from tests.infra import wait_until
from tests.integration import test_newsletter_service as service_tests
from tests.integration.test_newsletter_service import Stack, _address, _issue_mail

# the running service (one per database) of the newsletter service tests, started anew for this module
stack = service_tests.stack

HOSTILE_BODY = """## Doe mee

[klik](javascript:alert(1)) en ![x](javascript:alert(2)) en [data](data:text/html;base64,PHNjcmlwdD4=)
en [vb](vbscript:msgbox(1)) en [verstopt](java&#115;cript:alert(3)) en [hoofdletters](JaVaScRiPt:alert(4))
en [tab](java\tscript:alert(5)) en [ref][1].

<script>alert(6)</script>
<img src=x onerror=alert(7)>
<a href=javascript:alert(8)>a</a>

Wel goed: [VVSG](https://www.vvsg.be/digitale-inclusie) en ![logo](https://www.vvsg.be/logo.png)
en <mailto:digitale.inclusie@vvsg.be>.

[1]: javascript:alert(9)
"""


class _Active(HTMLParser):
    """Every URL-bearing attribute, every event-handler attribute and every script element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str]] = []
        self.handlers: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts += 1
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}")
            if name in ("href", "src", "action", "formaction", "background", "poster"):
                self.urls.append((tag, value or ""))


def _wait_sent(client: httpx.Client, issue_id: str) -> None:
    wait_until(
        lambda: client.get(f"/issues/{issue_id}").json()["status"] == "sent",
        30,
        0.1,
        f"issue {issue_id} sent",
    )


def _assert_inert(page: str) -> None:
    found = _Active()
    found.feed(page)  # the parser decodes entities the way a browser does
    assert found.scripts == 0 and found.handlers == []
    bad = [(t, u) for t, u in found.urls if not u.lower().startswith(("http://", "https://", "mailto:"))]
    assert bad == []
    assert ("a", "https://www.vvsg.be/digitale-inclusie") in found.urls  # safe links stay links
    assert ("img", "https://www.vvsg.be/logo.png") in found.urls
    assert ("a", "mailto:digitale.inclusie@vvsg.be") in found.urls
    # raw HTML stays visible as text, so "javascript:" may be read, but never in an attribute
    assert 'href="javascript' not in page.lower() and 'src="javascript' not in page.lower()


def test_script_links_and_raw_html_are_inert_in_the_preview_and_in_the_mail_sent(stack: Stack) -> None:
    reader = _address("hostile")
    stack.contact(uuid.uuid4(), reader, consent=True)
    wait_until(lambda: stack.subscriber(reader), 20, 0.1, "a subscriber")
    title = f"Nieuwsbrief {uuid.uuid4().hex[:6]}"
    with stack.client() as client:
        issue = client.post("/issues", json={"title": title, "body": HOSTILE_BODY})
        assert issue.status_code == 201, issue.text
        preview = client.get(f"/issues/{issue.json()['id']}/preview")
        assert preview.status_code == 200
        _assert_inert(preview.text)
        assert "&lt;script&gt;" in preview.text  # shown, not dropped silently
        assert client.post(f"/issues/{issue.json()['id']}/send").status_code == 202
        _wait_sent(client, issue.json()["id"])
    received = _issue_mail(stack, reader, title)
    html_part = received.part("html")
    _assert_inert(html_part)
    assert "javascript:alert(1)" not in html_part and "vbscript:" not in html_part
    assert "javascript:alert(1)" not in received.part("plain")  # the text part spells out safe links only
    assert "VVSG (https://www.vvsg.be/digitale-inclusie)" in received.part("plain")


def test_an_old_issue_with_a_line_break_in_its_title_fails_alone_and_says_why(stack: Stack) -> None:
    reader = _address("afterbad")
    stack.contact(uuid.uuid4(), reader, consent=True)
    subscriber = wait_until(lambda: stack.subscriber(reader), 20, 0.1, "a subscriber")
    engine = create_engine(normalise_url(stack.database_url))
    # stored before the API refused line breaks in titles: the sender must cope with it
    with Session(engine) as session:
        bad = Issue(
            title="Nieuws\nBcc: iedereen@example.org",
            body="Hallo",
            status="sending",
            created_by="oud",
            send_requested_at=datetime.now(UTC),
        )
        session.add(bad)
        session.flush()
        session.add(Delivery(issue_id=bad.id, subscriber_id=uuid.UUID(subscriber["id"])))
        session.commit()
        bad_id = bad.id
    title = f"Na de slechte {uuid.uuid4().hex[:6]}"
    with stack.client() as client:
        good = client.post("/issues", json={"title": title, "body": "Gewoon nieuws."}).json()
        assert client.post(f"/issues/{good['id']}/send").status_code == 202
        _wait_sent(client, good["id"])
    received = _issue_mail(stack, reader, title)
    assert received.message["Bcc"] is None
    assert [m.message["Subject"] for m in stack.catcher.to(reader)] == [title]

    with Session(engine) as session:
        delivery = session.execute(select(Delivery).where(Delivery.issue_id == bad_id)).scalars().one()  # type: ignore[arg-type]
        assert delivery.status == "failed"
        assert delivery.last_error is not None and "linefeed" in delivery.last_error
    engine.dispose()
    with stack.client() as client:
        wait_until(lambda: client.get(f"/issues/{bad_id}").json()["status"] == "failed", 20, 0.1, "failed")
        status = client.get("/mail/status").json()
    assert status["smtp"]["reachable"] is True
    assert status["newsletter"]["failed"] >= 1
    reasons = [f for f in status["failures"]["newsletter"] if f["issue_id"] == str(bad_id)]
    assert len(reasons) == 1 and reasons[0]["count"] == 1
    assert reasons[0]["reason"].startswith("cannot be composed: ValueError:")
    assert "linefeed" in reasons[0]["reason"]
    metrics = httpx.get(f"{stack.service.url}/metrics", timeout=10).text
    failures = [
        line
        for line in metrics.splitlines()
        if line.startswith("vvsg_mail_compose_failures_total{") and 'queue="newsletter"' in line
    ]
    assert len(failures) == 1 and float(failures[0].rsplit(" ", 1)[1]) >= 1
    assert any(
        line.startswith("vvsg_mail_queue{") and 'queue="newsletter"' in line and 'status="failed"' in line
        for line in metrics.splitlines()
    )
    assert not [e for e in stack.published("newsletter.sent") if e["subject"] == str(bad_id)]
