"""Composition of every mail this service sends: multipart plain text + HTML, in Dutch (nl-BE).

Each mail gets a Message-ID made from what it is (issue and subscriber, or the service mail's cause),
so a mail composed twice carries the same id. Newsletter mails carry a personal unsubscribe link in
both parts and the List-Unsubscribe / List-Unsubscribe-Post headers (RFC 2369, RFC 8058).
"""

from __future__ import annotations

import hashlib
import html
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from xml.etree import ElementTree

import markdown
import markdown.treeprocessors
import markdown.util

from services.newsletter.domain import BRUSSELS
from services.newsletter.settings import NewsletterSettings
from shared.links import make_token
from shared.text import MONTHS, WEEKDAYS

# Headers are folded only past RFC 5322's hard limit: a folded List-Unsubscribe would be
# encoded (RFC 2047) and no mail client could read the link any more.
_WIRE = policy.SMTP.clone(max_line_length=998)

LIST_ID = "Nieuwsbrief digitale inclusie <digitale-inclusie.nieuwsbrief.vvsg.be>"
NEWSLETTER_NAME = "nieuwsbrief digitale inclusie"

_FORMATS = {"online": "online", "physical": "fysiek", "hybrid": "hybride"}


@dataclass(frozen=True)
class MailConfig:
    mail_from: str
    newsletter_public_url: str
    feedback_public_url: str
    link_secret: str
    feedback_link_valid_days: int

    @classmethod
    def from_settings(cls, settings: NewsletterSettings) -> MailConfig:
        return cls(
            mail_from=settings.mail_from,
            newsletter_public_url=settings.newsletter_public_url.rstrip("/"),
            feedback_public_url=settings.feedback_public_url.rstrip("/"),
            link_secret=settings.link_secret.get_secret_value(),
            feedback_link_valid_days=settings.feedback_link_valid_days,
        )

    @property
    def sender_address(self) -> str:
        return parseaddr(self.mail_from)[1]

    @property
    def domain(self) -> str:
        return self.sender_address.rpartition("@")[2] or "localhost"

    def subscribe_url(self) -> str:
        return f"{self.newsletter_public_url}/nieuwsbrief"

    def confirm_url(self, subscriber_id: uuid.UUID) -> str:
        token = make_token(self.link_secret, "newsletter-confirm", str(subscriber_id))
        return f"{self.newsletter_public_url}/nieuwsbrief/bevestigen/{token}"

    def unsubscribe_url(self, subscriber_id: uuid.UUID) -> str:
        token = make_token(self.link_secret, "newsletter-unsubscribe", str(subscriber_id))
        return f"{self.newsletter_public_url}/nieuwsbrief/uitschrijven/{token}"

    def feedback_url(self, request_id: uuid.UUID) -> str:
        token = make_token(self.link_secret, "feedback", str(request_id))
        return f"{self.feedback_public_url}/feedback/{token}"


@dataclass(frozen=True)
class Recipient:
    email: str
    first_name: str | None = None
    last_name: str | None = None

    @property
    def display_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def greeting(self) -> str:
        return f"Beste {self.first_name}," if self.first_name else "Beste,"


@dataclass(frozen=True)
class SubjectInfo:
    """What a service mail is about, as far as this service knows it."""

    kind: str
    title: str
    starts_at: datetime | None = None
    format: str | None = None


# --- formatting ---------------------------------------------------------------------------------


def dutch_date(moment: datetime) -> str:
    local = moment.astimezone(BRUSSELS)
    return f"{WEEKDAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}"


def dutch_moment(moment: datetime) -> str:
    local = moment.astimezone(BRUSSELS)
    return f"{dutch_date(moment)} om {local:%H.%M} uur"


# Schemes a link in a mail or preview may have; images only load over http(s). Everything else
# (javascript:, data:, vbscript:, file:, relative paths that mean nothing in a mail) loses its link.
_LINK_SCHEMES = ("http://", "https://", "mailto:")
_IMAGE_SCHEMES = ("http://", "https://")
# What a browser ignores inside a URL (so "java\tscript:" still runs): whitespace and control characters
_IGNORED_IN_URL = re.compile(r"[\x00-\x20\x7f-\x9f]+")


def safe_url(url: str, schemes: tuple[str, ...] = _LINK_SCHEMES) -> bool:
    """True when `url`, read the way a browser reads an attribute (entities decoded, whitespace and
    control characters dropped, any case), starts with one of `schemes`."""
    decoded = html.unescape(url.replace(markdown.util.AMP_SUBSTITUTE, "&"))
    return _IGNORED_IN_URL.sub("", decoded).lower().startswith(schemes)


class _SafeLinks(markdown.treeprocessors.Treeprocessor):  # type: ignore[misc]  # markdown has no types
    """Runs after every other tree step: a link or image whose URL is not allowed becomes plain text
    (its label or alt text), so nothing active reaches the HTML whatever Markdown trick made it."""

    def run(self, root: ElementTree.Element) -> None:
        for element in root.iter():
            if element.tag == "a" and not safe_url(element.get("href", ""), _LINK_SCHEMES):
                element.tag = "span"
                element.attrib.clear()
            elif element.tag == "img" and not safe_url(element.get("src", ""), _IMAGE_SCHEMES):
                alt = element.get("alt", "")
                element.tag = "span"
                element.attrib.clear()
                element.text = f"[afbeelding: {alt}]" if alt else "[afbeelding]"


def render_markdown(body: str) -> str:
    """Markdown to HTML that shows what staff type and never runs it: raw HTML is switched off (shown
    as text) and only http/https/mailto links and http(s) images are kept."""
    md = markdown.Markdown(extensions=["sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_SafeLinks(md), "safe_links", -10)
    return str(md.convert(body))


# [label](url "title") and ![alt](url); the URL may hold one level of parentheses, as in alert(1)
_LINK = re.compile(r'(!?)\[([^\]]*)\]\(\s*<?((?:[^\s()<>]|\([^\s()]*\))+)>?(?:\s+"[^"]*")?\s*\)')


def _spelled_out(match: re.Match[str]) -> str:
    image, label, url = match.groups()
    if not safe_url(url, _IMAGE_SCHEMES if image else _LINK_SCHEMES):
        return label
    return f"{label} ({url})"


def markdown_as_text(body: str) -> str:
    """Markdown reads well as plain text; only links are spelled out (and only the allowed ones)."""
    return _LINK.sub(_spelled_out, body.strip())


def message_id(kind: str, *parts: str, domain: str) -> str:
    digest = hashlib.sha256("/".join(parts).encode()).hexdigest()[:32]
    return f"<{kind}.{digest}@{domain}>"


def _html_page(title: str, inner: str, footer: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
</head>
<body style="margin:0;padding:0;background:#f4f4f4;">
<div style="max-width:600px;margin:0 auto;padding:24px;background:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;color:#1a1a1a;">
{inner}
<hr style="border:none;border-top:1px solid #cccccc;margin:32px 0 16px;">
<div style="font-size:13px;color:#4d4d4d;">
{footer}
</div>
</div>
</body>
</html>
"""  # noqa: E501


def _button(url: str, label: str) -> str:
    return (
        f'<p><a href="{html.escape(url)}" style="display:inline-block;padding:12px 20px;'
        f'background:#00557f;color:#ffffff;text-decoration:none;border-radius:4px;">'
        f"{html.escape(label)}</a></p>"
    )


def _base(config: MailConfig, recipient: Recipient, subject: str, mid: str, now: datetime) -> EmailMessage:
    message = EmailMessage()
    message["From"] = config.mail_from
    name = recipient.display_name
    message["To"] = Address(display_name=name, addr_spec=recipient.email) if name else recipient.email
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = mid
    return message


def _finish(message: EmailMessage, text: str, html_body: str) -> EmailMessage:
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html_body, subtype="html", charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = "nl-BE"  # after the content: setting content clears Content-* headers
    return message


# --- the newsletter -----------------------------------------------------------------------------


def newsletter(
    config: MailConfig,
    *,
    issue_id: uuid.UUID,
    title: str,
    body: str,
    subscriber_id: uuid.UUID,
    recipient: Recipient,
    now: datetime,
) -> EmailMessage:
    unsubscribe = config.unsubscribe_url(subscriber_id)
    mid = message_id("nieuwsbrief", str(issue_id), str(subscriber_id), domain=config.domain)
    message = _base(config, recipient, title, mid, now)
    message["List-Id"] = LIST_ID
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Precedence"] = "bulk"
    text = (
        f"{title}\n{'=' * len(title)}\n\n{markdown_as_text(body)}\n\n-- \n"
        f"Je ontvangt de {NEWSLETTER_NAME} van VVSG omdat je je ervoor hebt ingeschreven.\n"
        f"Uitschrijven kan met één klik: {unsubscribe}\n"
    )
    footer = (
        f"<p>Je ontvangt de {NEWSLETTER_NAME} van VVSG omdat je je ervoor hebt ingeschreven.</p>"
        f'<p><a href="{html.escape(unsubscribe)}" style="color:#00557f;">Uitschrijven</a>'
        " — één klik volstaat.</p>"
    )
    inner = f'<h1 style="font-size:24px;">{html.escape(title)}</h1>\n{render_markdown(body)}'
    return _finish(message, text, _html_page(title, inner, footer))


def preview_html(config: MailConfig, title: str, body: str) -> str:
    """The issue as a subscriber will see it, with a sample unsubscribe link."""
    sample = config.unsubscribe_url(uuid.UUID(int=0))
    inner = f'<h1 style="font-size:24px;">{html.escape(title)}</h1>\n{render_markdown(body)}'
    footer = (
        f'<p>Voorbeeld. Elke abonnee krijgt een eigen <a href="{html.escape(sample)}">uitschrijflink</a>.</p>'
    )
    return _html_page(title, inner, footer)


def preview_text(title: str, body: str) -> str:
    return f"{title}\n{'=' * len(title)}\n\n{markdown_as_text(body)}\n"


# --- service mails ------------------------------------------------------------------------------


def subscription_confirmation(
    config: MailConfig, *, cause_id: str, subscriber_id: uuid.UUID, recipient: Recipient, now: datetime
) -> EmailMessage:
    confirm = config.confirm_url(subscriber_id)
    subject = f"Bevestig je inschrijving op de {NEWSLETTER_NAME}"
    message = _base(
        config, recipient, subject, message_id("bevestiging", cause_id, domain=config.domain), now
    )
    message["Auto-Submitted"] = "auto-generated"
    text = (
        f"{recipient.greeting}\n\n"
        f"Iemand, hopelijk jij, vroeg om de {NEWSLETTER_NAME} van VVSG te ontvangen op dit adres.\n"
        f"Bevestig je inschrijving via deze link:\n\n{confirm}\n\n"
        "Vroeg je dit niet aan? Dan hoef je niets te doen: zonder bevestiging sturen we je niets.\n\n"
        "Met vriendelijke groeten,\nhet team digitale inclusie van VVSG\n"
    )
    inner = (
        f"<p>{html.escape(recipient.greeting)}</p>"
        f"<p>Iemand, hopelijk jij, vroeg om de {NEWSLETTER_NAME} van VVSG te ontvangen op dit adres.</p>"
        + _button(confirm, "Bevestig mijn inschrijving")
        + f"<p>Werkt de knop niet? Kopieer dan deze link naar je browser:<br>"
        f'<a href="{html.escape(confirm)}">{html.escape(confirm)}</a></p>'
        "<p>Vroeg je dit niet aan? Dan hoef je niets te doen: zonder bevestiging sturen we je niets.</p>"
        "<p>Met vriendelijke groeten,<br>het team digitale inclusie van VVSG</p>"
    )
    return _finish(message, text, _html_page(subject, inner, "<p>VVSG — digitale inclusie</p>"))


def _describe(subject: SubjectInfo | None) -> tuple[str, str]:
    """The subject's title and a line with when and how, for the text and the HTML."""
    if subject is None:
        return "een activiteit van VVSG", ""
    details = []
    if subject.starts_at is not None:
        details.append(dutch_moment(subject.starts_at))
    if subject.format in _FORMATS:
        details.append(_FORMATS[subject.format])
    return subject.title, ", ".join(details)


def registration_confirmation(
    config: MailConfig,
    *,
    cause_id: str,
    recipient: Recipient,
    subject: SubjectInfo | None,
    waitlisted: bool,
    now: datetime,
) -> EmailMessage:
    title, when = _describe(subject)
    if waitlisted:
        heading = f"Je staat op de wachtlijst voor {title}"
        lines = [
            f"We ontvingen je inschrijving voor {title}.",
            "De activiteit is volzet: je staat op de wachtlijst. Komt er een plaats vrij, dan laten we"
            " het je weten.",
        ]
    else:
        heading = f"Je inschrijving voor {title} is bevestigd"
        lines = [f"We ontvingen je inschrijving voor {title}. Je bent erbij!"]
    if when:
        lines.append(f"Wanneer: {when}.")
    lines.append("Kan je toch niet komen? Antwoord dan op deze mail, dan geven we je plaats door.")
    message = _base(
        config, recipient, heading, message_id("inschrijving", cause_id, domain=config.domain), now
    )
    message["Auto-Submitted"] = "auto-generated"
    closing = "Met vriendelijke groeten,\nhet team digitale inclusie van VVSG"
    text = f"{recipient.greeting}\n\n" + "\n\n".join(lines) + f"\n\n{closing}\n"
    inner = (
        f"<p>{html.escape(recipient.greeting)}</p>"
        + "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        + f"<p>{html.escape(closing).replace(chr(10), '<br>')}</p>"
    )
    return _finish(message, text, _html_page(heading, inner, "<p>VVSG — digitale inclusie</p>"))


def feedback_invitation(
    config: MailConfig,
    *,
    cause_id: str,
    request_id: uuid.UUID,
    subject_type: str,
    recipient: Recipient,
    subject: SubjectInfo | None,
    now: datetime,
) -> EmailMessage:
    link = config.feedback_url(request_id)
    title, _ = _describe(subject)
    if subject_type == "survey":
        heading = f"Doe mee aan onze bevraging: {title}" if subject else "Doe mee aan onze bevraging"
        intro = "We horen graag hoe jouw lokaal bestuur onze ondersteuning en tools ervaart."
    elif subject_type == "support_trajectory":
        heading = "Hoe verliep je traject ondersteuning op maat?"
        intro = "Bedankt om samen met ons een traject ondersteuning op maat te lopen."
    else:
        heading = f"Wat vond je van {title}?"
        intro = f"Bedankt voor je deelname aan {title}."
    ask = (
        "Wil je ons in een paar minuten laten weten wat je ervan vond?"
        " Je antwoorden helpen ons beter te doen."
    )
    valid = (
        f"De link is persoonlijk en blijft {config.feedback_link_valid_days} dagen geldig;"
        " stuur hem dus niet door."
    )
    closing = "Met vriendelijke groeten,\nhet team digitale inclusie van VVSG"
    message = _base(config, recipient, heading, message_id("feedback", cause_id, domain=config.domain), now)
    message["Auto-Submitted"] = "auto-generated"
    text = (
        f"{recipient.greeting}\n\n{intro}\n{ask}\n\n"
        f"Geef je feedback via deze link:\n{link}\n\n{valid}\n\n{closing}\n"
    )
    inner = (
        f"<p>{html.escape(recipient.greeting)}</p><p>{html.escape(intro)} {html.escape(ask)}</p>"
        + _button(link, "Geef je feedback")
        + f"<p>Werkt de knop niet? Kopieer dan deze link naar je browser:<br>"
        f'<a href="{html.escape(link)}">{html.escape(link)}</a></p>'
        f"<p>{html.escape(valid)}</p><p>{html.escape(closing).replace(chr(10), '<br>')}</p>"
    )
    return _finish(message, text, _html_page(heading, inner, "<p>VVSG — digitale inclusie</p>"))


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as it travels in the DATA phase: CRLF lines, leading dots doubled, a final CRLF
    and without the terminating dot (the sender writes that one separately)."""
    raw = message.as_bytes(policy=_WIRE)
    raw = re.sub(rb"\r\n|\n|\r", b"\r\n", raw)
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", raw)
