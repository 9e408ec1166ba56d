"""The mails about a public sign-up (issue 16): the confirmation (seated or on the waiting list, with the
session as an iCalendar attachment and a personal link to cancel) and, for an outsider who moves up
from the waiting list, "er is een plaats vrijgekomen".

Outbox-like: the sign-up (or the cancellation that frees a seat) writes an `ev_signup_mails` row in its
own transaction, so a mail exists exactly when what it tells was committed. The sender loop
(`MailSender`, run by app.py) sends each row at most once: it claims the row (`pending` → `sending`,
committed) before the SMTP conversation and marks it `sent` after; a row found `sending` after a
restart may or may not have gone out, so it becomes `interrupted` and is never sent again. The address,
name and cancel token leave the row once it is sent, dropped or interrupted.

The cancel link's token is random (`secrets`); the database keeps only its SHA-256 on the sign-up
(`ev_public_signups.cancel_token_sha256`), which goes with the sign-up details on erasure or retention,
so the link stops working then. Until the confirmation is sent the raw token waits in its mail row.

Mail settings (SMTP_*, MAIL_FROM) are the newsletter service's names, in settings.py."""

from __future__ import annotations

import hashlib
import logging
import secrets
import smtplib
import ssl
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from services.events import agenda, calendar, domain
from services.events.settings import EventsSettings
from services.events.tables import ActivitySession, PublicSignup, Registration, SignupMail

log = logging.getLogger(__name__)

MailKind = Literal["confirmation", "moved_up"]
CONFIRMATION: MailKind = "confirmation"
MOVED_UP: MailKind = "moved_up"
PENDING, SENDING, SENT = "pending", "sending", "sent"
DROPPED, FAILED, INTERRUPTED = "dropped", "failed", "interrupted"
CANCEL_PATH = "/agenda/afmelden/"
MAX_ATTEMPTS = 10  # a mail the server keeps deferring (4xx) is given up after this many tries
SIGNATURE = "Met vriendelijke groeten,\nHet team digitale inclusie van VVSG"


# --- the cancel token -------------------------------------------------------------------------------


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def new_token() -> tuple[str, str]:
    """A personal cancel token (256 random bits, URL-safe) and the digest the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


# --- queueing (inside the caller's transaction) ------------------------------------------------------


def queue_confirmation(db: Session, registration_id: uuid.UUID, name: str, email: str, token: str) -> None:
    db.add(
        SignupMail(
            registration_id=registration_id, kind=CONFIRMATION, recipient=email, name=name, token=token
        )
    )


def queue_moved_up(db: Session, registration: Registration) -> None:
    """A seat came free for this registration: a mail if its person signed up publicly and left an
    address (an outsider; a member's sign-up keeps no address), once per registration."""
    signup = db.get(PublicSignup, registration.id)
    if signup is None or not signup.email:
        return
    done = db.execute(
        select(col(SignupMail.id)).where(
            col(SignupMail.registration_id) == registration.id, col(SignupMail.kind) == MOVED_UP
        )
    ).first()
    if done is None:
        db.add(
            SignupMail(
                registration_id=registration.id, kind=MOVED_UP, recipient=signup.email, name=signup.name
            )
        )


def forget(db: Session, registration_ids: Iterable[uuid.UUID]) -> None:
    """The sign-ups' details are being forgotten (erasure, retention): their unsent mails are dropped and
    no mail row keeps an address, a name or a token."""
    ids = list(registration_ids)
    if not ids:
        return
    db.execute(
        update(SignupMail)
        .where(col(SignupMail.registration_id).in_(ids), col(SignupMail.status) == PENDING)
        .values(status=DROPPED, note="sign-up details forgotten")
    )
    db.execute(
        update(SignupMail)
        .where(col(SignupMail.registration_id).in_(ids))
        .values(recipient=None, name=None, token=None)
    )


# --- composing ----------------------------------------------------------------------------------------


class CannotCompose(ValueError):
    pass


@dataclass(frozen=True)
class MailConfig:
    mail_from: str
    public_url: str  # where the agenda pages are reached

    @property
    def sender_address(self) -> str:
        return parseaddr(self.mail_from)[1]

    @property
    def domain(self) -> str:
        return self.sender_address.rpartition("@")[2] or "localhost"


def _one_line(text: str | None) -> str:
    """Stored text for a header or a line of the mail: control characters and line breaks gone."""
    return " ".join(agenda.clean(text).split())


def compose(
    row: SignupMail, activity: ActivitySession, registration: Registration, config: MailConfig, now: datetime
) -> EmailMessage:
    if not row.recipient:
        raise CannotCompose("no address")
    public = agenda.public_session(activity, None)
    title = _one_line(activity.title)
    page_url = f"{config.public_url}/agenda/{activity.id}"
    seated = not registration.waitlisted
    name = _one_line(row.name)
    lines = [f"Dag {name}," if name else "Dag,", ""]
    if row.kind == MOVED_UP:
        subject = f"Er is een plaats vrijgekomen: {title}"
        lines.append(
            f"Er is een plaats vrijgekomen voor {public.kind_words.lower()} \u201c{title}\u201d "
            f"op {public.when_words}. Je stond op de wachtlijst en bent nu ingeschreven."
        )
    elif seated:
        subject = f"Inschrijving bevestigd: {title}"
        what = f"{public.kind_words.lower()} \u201c{title}\u201d"
        lines.append(f"Je bent ingeschreven voor {what} op {public.when_words}.")
    else:
        subject = f"Op de wachtlijst: {title}"
        lines.append(
            f"Je inschrijving voor {public.kind_words.lower()} \u201c{title}\u201d op {public.when_words} "
            "is genoteerd, maar de sessie is volzet: je staat op de wachtlijst. Komt er een plaats vrij, "
            "dan schuif je automatisch door in de volgorde van inschrijving en krijg je een mail."
        )
    lines += ["", f"Waar: {_one_line(public.place_words)}"]
    if seated and public.online and activity.online_link:
        lines.append(f"Online deelnemen: {_one_line(activity.online_link)}")
    lines += ["", f"Meer over de sessie: {page_url}"]
    if row.kind == CONFIRMATION:
        lines.append("In de bijlage zit de sessie als afspraak voor je agenda (.ics).")
        if not row.token:
            raise CannotCompose("no cancel token")
        lines += [
            "",
            "Kan je toch niet komen? Meld je dan af via je persoonlijke link:",
            f"{config.public_url}{CANCEL_PATH}{row.token}",
            "Zo krijgt iemand op de wachtlijst je plaats. Stuur deze link niet door.",
        ]
    else:
        lines += ["", "Kan je toch niet komen? Meld je dan af via de link in je eerste bevestigingsmail."]
    lines += ["", SIGNATURE, ""]

    message = EmailMessage(policy=policy.SMTP)
    try:
        message["Subject"] = subject
        message["From"] = config.mail_from
        # a name that looks like an RFC 2047 encoded word would be decoded by the reader into header
        # syntax of its choosing ("Bcc: …"): such a name stays in the greeting only
        shown = "" if "=?" in name else name
        message["To"] = Address(display_name=shown, addr_spec=row.recipient)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise CannotCompose(f"header: {exc.__class__.__name__}") from exc
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = f"<signup.{row.kind}.{registration.id}@{config.domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = "nl-BE"
    message.set_content("\n".join(lines))
    if row.kind == CONFIRMATION:
        ics = calendar.calendar([public], [page_url])
        day = agenda.local(activity.starts_at).date().isoformat()
        message.add_attachment(
            ics.encode(),
            maintype="text",
            subtype="calendar",
            filename=f"vvsg-sessie-{day}.ics",
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
    return message


# --- sending ----------------------------------------------------------------------------------------


class SmtpUnavailable(RuntimeError):
    pass


_WIPED: dict[str, None] = {"recipient": None, "name": None, "token": None}
REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def _code(exc: Exception) -> int:
    """The SMTP reply code of a refusal (a refused recipient carries it per address)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        return int(answers[0][0]) if answers else 550
    return int(getattr(exc, "smtp_code", 550))


class MailSender:
    """Sends the pending mails, each at most once (see the module's docstring)."""

    def __init__(self, engine: Engine, settings: EventsSettings) -> None:
        self.engine = engine
        self.settings = settings
        public = settings.public_base_url or f"http://127.0.0.1:{settings.http_port or 8002}"
        self.config = MailConfig(mail_from=settings.mail_from, public_url=public.rstrip("/"))

    def resolve_interrupted(self) -> int:
        """Mails claimed by a sender that stopped before it knew the answer: never sent again."""
        with Session(self.engine) as db:
            result = db.execute(
                update(SignupMail)
                .where(col(SignupMail.status) == SENDING)
                .values(status=INTERRUPTED, note="sender stopped while sending", **_WIPED)
            )
            db.commit()
        count = int(getattr(result, "rowcount", 0) or 0)
        if count:
            log.warning("%d sign-up mail(s) interrupted while sending: not sent again", count)
        return count

    def _connect(self) -> smtplib.SMTP:
        security = self.settings.smtp_security.lower()
        host, port = self.settings.smtp_host, self.settings.smtp_port
        timeout = self.settings.smtp_timeout_seconds
        try:
            smtp: smtplib.SMTP
            if security == "tls":
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
                if security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            if self.settings.smtp_username:
                smtp.login(self.settings.smtp_username, self.settings.smtp_password.get_secret_value())
        except (OSError, smtplib.SMTPException) as exc:
            raise SmtpUnavailable(f"cannot reach {host}:{port}: {exc}") from exc
        return smtp

    def _finish(self, row_id: int, status: str, note: str | None, now: datetime | None = None) -> None:
        with Session(self.engine) as db:
            db.execute(
                update(SignupMail)
                .where(col(SignupMail.id) == row_id)
                .values(status=status, note=note, sent_at=now, **_WIPED)
            )
            db.commit()

    def _prepare(self, row_id: int, now: datetime) -> tuple[str, EmailMessage] | None:
        """The recipient and the mail of a pending row, claimed; None when there is nothing to send."""
        with Session(self.engine) as db:
            row = db.get(SignupMail, row_id)
            if row is None or row.status != PENDING:
                return None
            registration = db.get(Registration, row.registration_id)
            signup = db.get(PublicSignup, row.registration_id)
            activity = db.get(ActivitySession, registration.session_id) if registration else None
            if registration is None or signup is None or activity is None or not row.recipient:
                why = "sign-up details forgotten"
            elif registration.status != domain.REGISTERED:
                why = "registration cancelled before the mail went"
            elif row.attempts >= MAX_ATTEMPTS:
                why = f"deferred {row.attempts} times"
            else:
                why = ""
            if why:
                db.commit()
                self._finish(row_id, DROPPED, why)
                return None
            if registration is None or activity is None or not row.recipient:  # for the type checker
                return None
            try:
                message = compose(row, activity, registration, self.config, now)
            except CannotCompose as exc:
                db.commit()
                self._finish(row_id, FAILED, str(exc)[:300])
                log.warning("sign-up mail %s cannot be composed: %s", row_id, exc)
                return None
            recipient = row.recipient
            # the claim: committed before the SMTP conversation, so a restart never sends it again
            claimed = db.execute(
                update(SignupMail)
                .where(col(SignupMail.id) == row_id, col(SignupMail.status) == PENDING)
                .values(status=SENDING, attempts=SignupMail.attempts + 1)
            )
            db.commit()
            if int(getattr(claimed, "rowcount", 0) or 0) != 1:
                return None
        return recipient, message

    def send_due(self, now: datetime | None = None) -> int:
        """Sends what is pending (one batch) over one SMTP connection. Returns how many were sent;
        raises SmtpUnavailable when the server cannot be reached (nothing claimed then)."""
        with Session(self.engine) as db:
            ids = list(
                db.execute(
                    select(col(SignupMail.id))
                    .where(col(SignupMail.status) == PENDING)
                    .order_by(col(SignupMail.id))
                    .limit(self.settings.signup_mail_batch_size)
                ).scalars()
            )
        if not ids:
            return 0
        smtp = self._connect()
        sent = 0
        try:
            for row_id in ids:
                moment = now or datetime.now(UTC)
                prepared = self._prepare(row_id, moment)
                if prepared is None:
                    continue
                recipient, message = prepared
                try:
                    smtp.send_message(message, from_addr=self.config.sender_address, to_addrs=[recipient])
                except REFUSED as exc:
                    code = _code(exc)
                    if 400 <= code < 500:  # try again later: the server said so before accepting
                        self._retry(row_id, f"deferred: {code}")
                    else:
                        self._finish(row_id, FAILED, f"refused: {exc.__class__.__name__}")
                    continue
                except smtplib.SMTPNotSupportedError as exc:
                    self._finish(row_id, FAILED, f"not supported: {exc}"[:300])
                    continue
                except (OSError, smtplib.SMTPException) as exc:
                    # the answer is unknown: the mail may have gone, so it is never sent again
                    self._finish(row_id, INTERRUPTED, f"connection lost: {exc.__class__.__name__}")
                    raise SmtpUnavailable(str(exc)) from exc
                self._finish(row_id, SENT, None, moment)
                sent += 1
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return sent

    def _retry(self, row_id: int, note: str) -> None:
        with Session(self.engine) as db:
            db.execute(
                update(SignupMail).where(col(SignupMail.id) == row_id).values(status=PENDING, note=note)
            )
            db.commit()
