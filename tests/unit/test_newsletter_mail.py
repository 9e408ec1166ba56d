"""Composition of the mails: both parts, the list headers, personal links, stable Message-IDs."""

from __future__ import annotations

import email
import uuid
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage

from services.newsletter import mail
from shared.links import read_token

SECRET = "unit-link-secret-" + "s" * 32
CONFIG = mail.MailConfig(
    mail_from="Digitale inclusie VVSG <digitale.inclusie@vvsg.be>",
    newsletter_public_url="https://nieuwsbrief.example",
    feedback_public_url="https://feedback.example",
    link_secret=SECRET,
    feedback_link_valid_days=30,
)
NOW = datetime(2025, 10, 14, 8, 30, tzinfo=UTC)
ISSUE, SUBSCRIBER = uuid.UUID(int=7), uuid.UUID(int=8)


def _newsletter(body: str = "Hallo **iedereen**.") -> EmailMessage:
    return mail.newsletter(
        CONFIG,
        issue_id=ISSUE,
        title="Nieuwsbrief oktober",
        body=body,
        subscriber_id=SUBSCRIBER,
        recipient=mail.Recipient("an@gemeente.be", "An"),
        now=NOW,
    )


def _parsed(message: EmailMessage) -> EmailMessage:
    parsed = email.message_from_bytes(mail.wire_bytes(message), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _part(message: EmailMessage, subtype: str) -> str:
    body = message.get_body(preferencelist=(subtype,))
    assert body is not None
    return str(body.get_content())  # type: ignore[attr-defined]


def test_a_newsletter_mail_has_a_text_and_an_html_part_with_the_personal_unsubscribe_link() -> None:
    parsed = _parsed(_newsletter())
    link = CONFIG.unsubscribe_url(SUBSCRIBER)
    assert parsed.get_content_type() == "multipart/alternative"
    assert link in _part(parsed, "plain") and link in _part(parsed, "html")
    assert "Hallo **iedereen**." in _part(parsed, "plain")
    assert "<strong>iedereen</strong>" in _part(parsed, "html")
    token = link.rpartition("/")[2]
    assert read_token(SECRET, "newsletter-unsubscribe", token) == str(SUBSCRIBER)


def test_the_list_headers_survive_the_wire_unfolded_and_readable() -> None:
    parsed = _parsed(_newsletter())
    assert parsed["List-Unsubscribe"] == f"<{CONFIG.unsubscribe_url(SUBSCRIBER)}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["To"] == "An <an@gemeente.be>"
    assert parsed["Content-Language"] == "nl-BE"


def test_the_message_id_depends_only_on_issue_and_subscriber() -> None:
    first, again = _newsletter(), _newsletter(body="Andere tekst")
    other = mail.newsletter(
        CONFIG,
        issue_id=ISSUE,
        title="x",
        body="y",
        subscriber_id=uuid.uuid4(),
        recipient=mail.Recipient("b@gemeente.be"),
        now=NOW,
    )
    assert first["Message-ID"] == again["Message-ID"] != other["Message-ID"]
    assert first["Message-ID"].endswith("@vvsg.be>")


def test_html_typed_into_an_issue_is_shown_not_run() -> None:
    html_part = _part(_parsed(_newsletter("Kijk <script>alert(1)</script> <b>hier</b>")), "html")
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part


def test_lines_starting_with_a_dot_are_doubled_on_the_wire() -> None:
    wire = mail.wire_bytes(_newsletter(".punt vooraan"))
    assert b"\r\n..punt vooraan" in wire
    assert wire.endswith(b"\r\n") and not wire.endswith(b"\r\n.\r\n")


def test_the_feedback_invitation_carries_the_feedback_services_link_for_the_request() -> None:
    request_id = uuid.uuid4()
    message = mail.feedback_invitation(
        CONFIG,
        cause_id="evt-1",
        request_id=request_id,
        subject_type="session",
        recipient=mail.Recipient("an@gemeente.be", "An"),
        subject=mail.SubjectInfo("info_session", "Infosessie AI", NOW, "online"),
        now=NOW,
    )
    text = _part(_parsed(message), "plain")
    link = CONFIG.feedback_url(request_id)
    assert link.startswith("https://feedback.example/feedback/")
    assert link in text and "Beste An," in text and "30 dagen" in text
    assert message["Subject"] == "Wat vond je van Infosessie AI?"


def test_a_registration_confirmation_names_the_session_and_its_time_in_dutch() -> None:
    message = mail.registration_confirmation(
        CONFIG,
        cause_id="evt-2",
        recipient=mail.Recipient("an@gemeente.be", "An"),
        subject=mail.SubjectInfo("info_session", "Infosessie AI", NOW, "hybrid"),
        waitlisted=False,
        now=NOW,
    )
    text = _part(_parsed(message), "plain")
    assert "Wanneer: dinsdag 14 oktober 2025 om 10.30 uur, hybride." in text
    assert message["Subject"] == "Je inschrijving voor Infosessie AI is bevestigd"
