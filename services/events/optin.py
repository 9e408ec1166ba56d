"""The personal links the public agenda mails to people who are not (recognised as) members, issue 16:

- the double opt-in: an unknown address that signs up gets "bevestig je inschrijving" with a link
  (/agenda/bevestigen/{token}, valid OPTIN_VALID); only following it and pressing the button registers
  them (signup.confirm). Until then the sign-up holds no seat and publishes nothing;
- the outsider's own data: whoever asks at /agenda/mijn-gegevens gets, when the agenda keeps something
  on that address, a link (/agenda/mijn-gegevens/{token}, valid DATA_LINK_VALID) to a page that shows
  it and erases it on request (mydata.py).

One table, `ev_outsider_links`, holds both kinds: the token as its SHA-256 only, the address as its
digest (what the other tables match on) and — only as long as it is needed — the address, name and
organisation typed in the form, and the raw token until the mail has gone. The row is its own mail
queue, sent at most once as in mails.py: claimed (`pending` → `sending`, committed) before the SMTP
conversation, `sent` after, a claim found after a restart is `interrupted` and never sent again.

Who sends: `send_pending`, run right after the answer by the route that queued a mail (a background
task of that request), and again by whatever is still pending the next time; `send_optin_mails` is
the loop for app.py that also retries while the mail server was away. Links past their validity go
with the sign-up retention job (signup.forget_old_signups)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col

from services.events import agenda, mails
from services.events.settings import EventsSettings
from services.events.tables import ActivitySession
from shared.ids import new_id

log = logging.getLogger(__name__)

LinkKind = Literal["optin", "data"]
OPTIN: LinkKind = "optin"
DATA: LinkKind = "data"
OPTIN_VALID = timedelta(hours=48)
DATA_LINK_VALID = timedelta(hours=24)
CONFIRM_PATH = "/agenda/bevestigen/"
DATA_PATH = "/agenda/mijn-gegevens/"
PENDING, SENDING, SENT = mails.PENDING, mails.SENDING, mails.SENT
DROPPED, FAILED, INTERRUPTED = mails.DROPPED, mails.FAILED, mails.INTERRUPTED


def _now() -> datetime:
    return datetime.now(UTC)


class OutsiderLink(SQLModel, table=True):
    """A personal link mailed to an address the service does not know as a member's (see above)."""

    __tablename__ = "ev_outsider_links"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    kind: str = Field(max_length=10)  # optin | data
    token_sha256: str = Field(max_length=64, unique=True, index=True)
    email_sha256: str = Field(max_length=64, index=True)
    session_id: uuid.UUID | None = Field(default=None, index=True)  # optin: the session signed up for
    # what the form said, until the sign-up is confirmed (optin) or the mail has gone (data)
    email: str | None = Field(default=None, max_length=320)
    name: str | None = Field(default=None, max_length=200)
    organisation_name: str | None = Field(default=None, max_length=300)
    organisation_kind: str | None = Field(default=None, max_length=60)
    created_at: datetime = Field(default_factory=_now, index=True)
    expires_at: datetime = Field(index=True)
    confirmed_at: datetime | None = Field(default=None)
    registration_id: uuid.UUID | None = Field(default=None)  # optin: the registration it became
    mail_status: str = Field(default=PENDING, max_length=20, index=True)
    mail_token: str | None = Field(default=None, max_length=100)  # the raw token, until sent
    mail_attempts: int = Field(default=0)
    mail_note: str | None = Field(default=None, max_length=300)


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def new_link(
    kind: LinkKind,
    email_sha256: str,
    now: datetime,
    *,
    email: str,
    session_id: uuid.UUID | None = None,
    name: str | None = None,
    organisation_name: str | None = None,
    organisation_kind: str | None = None,
) -> tuple[OutsiderLink, str]:
    """A link row with a fresh token (mails.new_token: 256 random bits), queued for its mail; the raw
    token is returned for the caller's tests and kept in the row only until the mail is sent."""
    token, digest = mails.new_token()
    valid = OPTIN_VALID if kind == OPTIN else DATA_LINK_VALID
    row = OutsiderLink(
        kind=kind,
        token_sha256=digest,
        email_sha256=email_sha256,
        session_id=session_id,
        email=email,
        name=name,
        organisation_name=organisation_name,
        organisation_kind=organisation_kind,
        created_at=now,
        expires_at=now + valid,
        mail_token=token,
    )
    return row, token


def find(db: Session, kind: LinkKind, token: str, now: datetime) -> OutsiderLink | None:
    """The live link of this kind a token was made for; None when there is none (never made, expired,
    erased, or of the other kind)."""
    if not token or len(token) > 100:
        return None
    row: OutsiderLink | None = db.execute(
        select(OutsiderLink).where(
            col(OutsiderLink.token_sha256) == mails.token_digest(token), col(OutsiderLink.kind) == kind
        )
    ).scalar_one_or_none()
    if row is None or utc(row.expires_at) <= now:
        return None
    return row


# --- composing --------------------------------------------------------------------------------------


def _one_line(text: str | None) -> str:
    return " ".join(agenda.clean(text).split())


def _hours(valid: timedelta) -> int:
    return int(valid.total_seconds() // 3600)


def compose(
    row: OutsiderLink, activity: ActivitySession | None, config: mails.MailConfig, now: datetime
) -> EmailMessage:
    if not row.email or not row.mail_token:
        raise mails.CannotCompose("no address or token")
    name = _one_line(row.name)
    lines = [f"Dag {name}," if name else "Dag,", ""]
    if row.kind == OPTIN:
        if activity is None:
            raise mails.CannotCompose("no session")
        public = agenda.public_session(activity, None)
        title = _one_line(activity.title)
        subject = f"Bevestig je inschrijving: {title}"
        lines += [
            f"Je schreef je in voor {public.kind_words.lower()} \u201c{title}\u201d op {public.when_words}.",
            "Bevestig je inschrijving via deze persoonlijke link en de knop op de pagina die opent:",
            f"{config.public_url}{CONFIRM_PATH}{row.mail_token}",
            "",
            f"Pas dan ben je ingeschreven (of kom je op de wachtlijst als de sessie volzet is). De link "
            f"werkt {_hours(OPTIN_VALID)} uur. Heb je je niet ingeschreven? Dan hoef je niets te doen: "
            "zonder bevestiging schrijven we niemand in en wissen we je adres.",
        ]
    else:
        subject = "Je gegevens bij de agenda digitale inclusie"
        lines += [
            "Je vroeg welke gegevens we bewaren over je inschrijvingen via de agenda van het netwerk "
            "digitale inclusie. Je ziet ze via deze persoonlijke link, waar je ze ook kan laten wissen:",
            f"{config.public_url}{DATA_PATH}{row.mail_token}",
            "",
            f"De link werkt {_hours(DATA_LINK_VALID)} uur. Stuur hem niet door. Heb je niets gevraagd? "
            "Dan hoef je niets te doen.",
        ]
    lines += ["", mails.SIGNATURE, ""]
    message = EmailMessage(policy=policy.SMTP)
    try:
        message["Subject"] = subject
        message["From"] = config.mail_from
        shown = "" if "=?" in name else name  # as mails.compose: no encoded-word look-alike in a header
        message["To"] = Address(display_name=shown, addr_spec=row.email)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise mails.CannotCompose(f"header: {exc.__class__.__name__}") from exc
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = f"<outsider.{row.kind}.{row.id}@{config.domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(lines))
    message["Content-Language"] = "nl-BE"  # after set_content, which drops the Content-* headers
    return message


# --- sending ----------------------------------------------------------------------------------------


class OptinSender:
    """Sends the pending link mails, each at most once; the connection and configuration are
    mails.MailSender's, so one SMTP configuration (SMTP_*, MAIL_FROM) serves every mail."""

    def __init__(self, engine: Engine, settings: EventsSettings) -> None:
        self.engine = engine
        self.settings = settings
        self.mail = mails.MailSender(engine, settings)

    def _finish(self, row_id: uuid.UUID, status: str, note: str | None) -> None:
        with Session(self.engine) as db:
            row = db.get(OutsiderLink, row_id)
            if row is None:
                return
            row.mail_status, row.mail_note, row.mail_token = status, note, None
            if row.kind == DATA:  # the address was only kept to send this mail
                row.email = row.name = None
            db.add(row)
            db.commit()

    def resolve_interrupted(self) -> int:
        with Session(self.engine) as db:
            result = db.execute(
                update(OutsiderLink)
                .where(col(OutsiderLink.mail_status) == SENDING)
                .values(mail_status=INTERRUPTED, mail_note="sender stopped while sending", mail_token=None)
            )
            db.commit()
        return int(getattr(result, "rowcount", 0) or 0)

    def _prepare(self, row_id: uuid.UUID, now: datetime) -> tuple[str, EmailMessage] | None:
        with Session(self.engine) as db:
            row = db.get(OutsiderLink, row_id)
            if row is None or row.mail_status != PENDING:
                return None
            if utc(row.expires_at) <= now or not row.email:
                db.commit()
                self._finish(row_id, DROPPED, "expired or forgotten before it went")
                return None
            if row.mail_attempts >= mails.MAX_ATTEMPTS:
                db.commit()
                self._finish(row_id, DROPPED, f"deferred {row.mail_attempts} times")
                return None
            activity = db.get(ActivitySession, row.session_id) if row.session_id else None
            try:
                message = compose(row, activity, self.mail.config, now)
            except mails.CannotCompose as exc:
                db.commit()
                self._finish(row_id, FAILED, str(exc)[:300])
                return None
            recipient = row.email
            claimed = db.execute(
                update(OutsiderLink)
                .where(col(OutsiderLink.id) == row_id, col(OutsiderLink.mail_status) == PENDING)
                .values(mail_status=SENDING, mail_attempts=OutsiderLink.mail_attempts + 1)
            )
            db.commit()
            if int(getattr(claimed, "rowcount", 0) or 0) != 1:
                return None
        return recipient, message

    def send_due(self, now: datetime | None = None) -> int:
        """Sends what is pending over one connection; raises mails.SmtpUnavailable when the server
        cannot be reached (nothing claimed then). Returns how many went."""
        with Session(self.engine) as db:
            ids = list(
                db.execute(
                    select(col(OutsiderLink.id))
                    .where(col(OutsiderLink.mail_status) == PENDING)
                    .order_by(col(OutsiderLink.created_at))
                    .limit(self.settings.signup_mail_batch_size)
                ).scalars()
            )
        if not ids:
            return 0
        return mails.deliver(
            self.mail,
            ids,
            self._prepare,
            lambda row_id, status, note, _moment: self._finish(row_id, status, note),
            lambda row_id, _code: self._retry(row_id),
            now,
        )

    def _retry(self, row_id: uuid.UUID) -> None:
        with Session(self.engine) as db:
            db.execute(
                update(OutsiderLink)
                .where(col(OutsiderLink.id) == row_id)
                .values(mail_status=PENDING, mail_note="deferred")
            )
            db.commit()


def send_pending(engine: Engine, settings: EventsSettings) -> None:
    """Right after the answer to the form that queued a mail: sends what is pending. A mail server
    that is away is logged; the mail stays pending for the next time (or the loop below)."""
    try:
        OptinSender(engine, settings).send_due()
    except Exception as exc:  # noqa: BLE001 — a background task: nobody else would see it
        log.warning("outsider link mails: %s: %s", exc.__class__.__name__, exc)


async def send_optin_mails(sender: OptinSender) -> None:
    """The loop for app.py (runtime.background): settles what a stopped sender left half done, then
    sends whatever is pending every few seconds, waiting longer while the server is away."""
    poll = sender.settings.signup_mail_poll_seconds
    wait = poll
    settled = False
    while True:
        try:
            if not settled:
                await asyncio.to_thread(sender.resolve_interrupted)
                settled = True
            await asyncio.to_thread(sender.send_due)
            wait = poll
        except Exception as exc:  # noqa: BLE001
            log.warning("outsider link mails: %s: %s", exc.__class__.__name__, exc)
            wait = min(60.0, max(poll, wait * 2))
        await asyncio.sleep(wait)
