"""The mails about a registration (issue 16): the confirmation of a public sign-up (seated or on the
waiting list, with the session as an iCalendar attachment and a personal link to cancel); "er is een
plaats vrijgekomen" for whoever moves up from the waiting list; and the mails around a session that
reminders.py queues — the reminder before it, the news that it was cancelled (with an iCalendar
METHOD:CANCEL) or moved (the updated event), and one reminder about an unanswered feedback request.

Outbox-like: the sign-up (or the cancellation that frees a seat) writes an `ev_signup_mails` row in its
own transaction, so a mail exists exactly when what it tells was committed. The sender loop
(`MailSender`, run by app.py) sends each row at most once: it claims the row (`pending` → `sending`,
committed) before the SMTP conversation and marks it `sent` after; a row found `sending` after a
restart may or may not have gone out, so it becomes `interrupted` and is never sent again: at most
once, by choice — a reminder lost to a crash is a smaller harm than the same mail twice. The row's
unique key (registration, kind) — a registration is one person at one session — makes a mail exist
once however often it is queued, by however many instances. The address, name and cancel token leave
the row once it is sent, dropped or interrupted.

The confirmation carries the address typed in the form; every other mail looks its address up when it
is sent (`address_of`): an outsider's from the sign-up, a member's from the copy of members.contacts.
So a person erased, or whose sign-up details were forgotten, in between is mailed nothing.

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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from services.events import agenda, calendar, domain
from services.events.reminders_tables import FeedbackRequest, MemberAddress
from services.events.settings import EventsSettings
from services.events.tables import ActivitySession, KnownMember, PublicSignup, Registration, SignupMail
from shared.links import make_token

log = logging.getLogger(__name__)

MailKind = str  # one of the names below, or moved_kind(revision)
CONFIRMATION: MailKind = "confirmation"
MOVED_UP: MailKind = "moved_up"
REMINDER: MailKind = "reminder"
CANCELLED: MailKind = "cancelled"
FEEDBACK_REMINDER: MailKind = "feedback_reminder"
_MOVED = "moved_"


def moved_kind(revision: int) -> MailKind:
    """The mail about a move: one per revision of the session, so a second move mails again."""
    return f"{_MOVED}{revision}"


def moved_revision(kind: str) -> int | None:
    if not kind.startswith(_MOVED):
        return None
    try:
        return int(kind.removeprefix(_MOVED))
    except ValueError:
        return None


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


def address_of(db: Session, registration: Registration) -> tuple[str, str] | None:
    """Where a registration's person is mailed, and their name: a member at the address the contacts
    topic gave (never once erased), an outsider at the address of their sign-up; None: nobody to mail."""
    if registration.member_id is not None:
        member = db.get(KnownMember, registration.member_id)
        if member is not None and member.status == "erased":
            return None
        known = db.get(MemberAddress, registration.member_id)
        return (known.email, known.first_name or "") if known is not None and known.email else None
    signup = db.get(PublicSignup, registration.id)
    if signup is not None and signup.email:
        return signup.email, signup.name or ""
    return None


def queued(db: Session, registration_id: uuid.UUID, kind: MailKind) -> bool:
    return (
        db.execute(
            select(col(SignupMail.id)).where(
                col(SignupMail.registration_id) == registration_id, col(SignupMail.kind) == kind
            )
        ).first()
        is not None
    )


def queue_moved_up(db: Session, registration: Registration) -> None:
    """A seat came free for this registration: "er is een plaats vrijgekomen", once per registration,
    to whoever can be mailed (the address is looked up again when the mail goes)."""
    if address_of(db, registration) is None or queued(db, registration.id, MOVED_UP):
        return
    db.add(SignupMail(registration_id=registration.id, kind=MOVED_UP))


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


@dataclass(frozen=True)
class Addressee:
    """Who a mail goes to, and what only their mail carries."""

    email: str
    name: str
    cancel_token: str | None = None  # the confirmation's personal cancel link
    has_cancel_link: bool = False  # a confirmation with a cancel link went to them earlier
    feedback_url: str | None = None  # the feedback reminder's personal link


def _body(
    kind: MailKind, activity: ActivitySession, public: agenda.PublicSession, registration: Registration
) -> tuple[str, list[str]]:
    """The subject and the opening paragraph of each kind of mail."""
    title = _one_line(activity.title)
    what = f"{public.kind_words.lower()} \u201c{title}\u201d"
    when = public.when_words
    if kind == MOVED_UP:
        return f"Er is een plaats vrijgekomen: {title}", [
            f"Er is een plaats vrijgekomen voor {what} op {when}. Je stond op de wachtlijst en bent nu "
            "ingeschreven."
        ]
    if kind == REMINDER:
        return f"Herinnering: {title} op {agenda.day_words(agenda.local(activity.starts_at).date())}", [
            f"We kijken ernaar uit je te zien! Je bent ingeschreven voor {what} op {when}."
        ]
    if kind == CANCELLED:
        return f"Geannuleerd: {title}", [
            f"Helaas gaat {what} op {when} niet door: de sessie is geannuleerd. Je hoeft niets te doen.",
            "",
            "In de bijlage zit de annulering voor je agenda (.ics): je agenda-app haalt de afspraak weg.",
        ]
    if moved_revision(kind) is not None:
        was = f" (eerst gepland op {public.previous_when_words})" if public.previous_when_words else ""
        still = "Je blijft ingeschreven" if not registration.waitlisted else "Je blijft op de wachtlijst"
        return f"Gewijzigd: {title} op {agenda.day_words(agenda.local(activity.starts_at).date())}", [
            f"Er is iets veranderd aan {what}{was}. Het nieuwe moment: {when}. {still}.",
            "",
            "In de bijlage zit de bijgewerkte afspraak voor je agenda (.ics).",
        ]
    if kind == FEEDBACK_REMINDER:
        day = agenda.day_words(agenda.local(activity.starts_at).date())
        return f"Herinnering: wat vond je van {title}?", [
            f"Een paar dagen geleden vroegen we je wat je vond van {what} op {day}. We kregen nog geen "
            "antwoord van je. Wil je ons in een paar minuten laten weten wat je ervan vond? Je antwoorden "
            "helpen ons beter te doen."
        ]
    if not registration.waitlisted:
        return f"Inschrijving bevestigd: {title}", [f"Je bent ingeschreven voor {what} op {when}."]
    return f"Op de wachtlijst: {title}", [
        f"Je inschrijving voor {what} op {when} is genoteerd, maar de sessie is volzet: je staat op de "
        "wachtlijst. Komt er een plaats vrij, dan schuif je automatisch door in de volgorde van "
        "inschrijving en krijg je een mail."
    ]


def itip(ics: str, method: str, organizer: str, attendee: str) -> str:
    """The calendar as an iTIP message (RFC 5546) of this method: its METHOD, and the ORGANIZER and
    ATTENDEE a CANCEL must carry so that a calendar app applies it to the event it holds."""
    ics = ics.replace(
        f"{calendar.CRLF}METHOD:PUBLISH{calendar.CRLF}", f"{calendar.CRLF}METHOD:{method}{calendar.CRLF}", 1
    )
    lines = [
        calendar.fold(f"ORGANIZER;CN={calendar.text('VVSG digitale inclusie')}:mailto:{organizer}"),
        calendar.fold(f"ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:{attendee}"),
    ]
    end = f"END:VEVENT{calendar.CRLF}"
    return ics.replace(end, calendar.CRLF.join(lines) + calendar.CRLF + end, 1)


def compose(
    row: SignupMail,
    activity: ActivitySession,
    registration: Registration,
    config: MailConfig,
    now: datetime,
    to: Addressee | None = None,
) -> EmailMessage:
    """The mail of a row, to `to` (the confirmation: the row's own address, name and token)."""
    if to is None:
        if not row.recipient:
            raise CannotCompose("no address")
        to = Addressee(row.recipient, row.name or "", cancel_token=row.token)
    public = agenda.public_session(activity, None)
    page_url = f"{config.public_url}/agenda/{activity.id}"
    seated = not registration.waitlisted
    name = _one_line(to.name)
    subject, opening = _body(row.kind, activity, public, registration)
    lines = [f"Dag {name}," if name else "Dag,", "", *opening]
    going = row.kind != CANCELLED
    if row.kind == FEEDBACK_REMINDER:
        if not to.feedback_url:
            raise CannotCompose("no feedback link")
        lines += [
            "",
            f"Geef je feedback via deze link:\n{to.feedback_url}",
            "",
            "De link is persoonlijk; stuur hem dus niet door. Dit is de enige herinnering die we sturen.",
        ]
        going = False
    if going:
        lines += ["", f"Waar: {_one_line(public.place_words)}"]
        if seated and public.online and activity.online_link:
            lines.append(f"Online deelnemen: {_one_line(activity.online_link)}")
    lines += ["", f"Meer over de sessie: {page_url}"]
    if row.kind == CONFIRMATION:
        lines.append("In de bijlage zit de sessie als afspraak voor je agenda (.ics).")
        if not to.cancel_token:
            raise CannotCompose("no cancel token")
        lines += [
            "",
            "Kan je toch niet komen? Meld je dan af via je persoonlijke link:",
            f"{config.public_url}{CANCEL_PATH}{to.cancel_token}",
            "Zo krijgt iemand op de wachtlijst je plaats. Stuur deze link niet door.",
        ]
    elif going:
        where = (
            "via de link in je eerste bevestigingsmail"
            if to.has_cancel_link
            else f"met een mail naar {config.sender_address}"
        )
        lines += ["", f"Kan je toch niet komen? Meld je dan af {where}, zo krijgt iemand anders je plaats."]
    lines += ["", SIGNATURE, ""]

    message = EmailMessage(policy=policy.SMTP)
    try:
        message["Subject"] = subject
        message["From"] = config.mail_from
        # a name that looks like an RFC 2047 encoded word would be decoded by the reader into header
        # syntax of its choosing ("Bcc: …"): such a name stays in the greeting only
        shown = "" if "=?" in name else name
        message["To"] = Address(display_name=shown, addr_spec=to.email)
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise CannotCompose(f"header: {exc.__class__.__name__}") from exc
    message["Date"] = format_datetime(now.astimezone(UTC))
    message["Message-ID"] = f"<signup.{row.kind}.{registration.id}@{config.domain}>"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("\n".join(lines))
    message["Content-Language"] = "nl-BE"  # after set_content, which clears every Content-* header
    method = {CONFIRMATION: "PUBLISH", CANCELLED: "CANCEL"}.get(row.kind)
    if method is None and moved_revision(row.kind) is not None:
        method = "PUBLISH"  # the same UID with a higher SEQUENCE: calendars update the event they hold
    if method is not None:
        ics = calendar.calendar([public], [page_url])
        if method != "PUBLISH":
            ics = itip(ics, method, config.sender_address, to.email)
        day = agenda.local(activity.starts_at).date().isoformat()
        message.add_attachment(
            ics.encode(),
            maintype="text",
            subtype="calendar",
            filename=f"vvsg-sessie-{day}.ics",
            params={"method": method, "charset": "utf-8"},
        )
    return message


# --- sending ----------------------------------------------------------------------------------------


class SmtpUnavailable(RuntimeError):
    pass


_WIPED: dict[str, None] = {"recipient": None, "name": None, "token": None}
REFUSED = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError)


def smtp_code(exc: Exception) -> int:
    """The SMTP reply code of a refusal (a refused recipient carries it per address)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = list(exc.recipients.values())
        return int(answers[0][0]) if answers else 550
    return int(getattr(exc, "smtp_code", 550))


Row = TypeVar("Row")


def deliver(
    sender: MailSender,
    ids: Sequence[Row],
    prepare: Callable[[Row, datetime], tuple[str, EmailMessage] | None],
    finish: Callable[[Row, str, str | None, datetime], None],
    retry: Callable[[Row, int], None],
    now: datetime | None = None,
) -> int:
    """Sends the claimed-and-prepared mails of `ids` over one connection of `sender`'s; the queues
    (this module's `SignupMail`, optin's `OutsiderLink`) say how a row is prepared, finished and put
    back. A temporary refusal (4xx) goes back to the queue; a permanent one fails that mail alone;
    a lost connection marks the mail in hand interrupted (it may have gone, so it is never sent
    again) and raises SmtpUnavailable. Returns how many went."""
    smtp = sender.connect()
    sent = 0
    try:
        for row_id in ids:
            moment = now or datetime.now(UTC)
            prepared = prepare(row_id, moment)
            if prepared is None:
                continue
            recipient, message = prepared
            try:
                smtp.send_message(message, from_addr=sender.config.sender_address, to_addrs=[recipient])
            except REFUSED as exc:
                code = smtp_code(exc)
                if 400 <= code < 500:  # try again later: the server said so before accepting
                    retry(row_id, code)
                else:
                    finish(row_id, FAILED, f"refused: {exc.__class__.__name__}", moment)
                continue
            except smtplib.SMTPNotSupportedError as exc:
                finish(row_id, FAILED, f"not supported: {exc}"[:300], moment)
                continue
            except (OSError, smtplib.SMTPException) as exc:
                finish(row_id, INTERRUPTED, f"connection lost: {exc.__class__.__name__}", moment)
                raise SmtpUnavailable(str(exc)) from exc
            finish(row_id, SENT, None, moment)
            sent += 1
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()
    return sent


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

    def connect(self) -> smtplib.SMTP:
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

    def _addressee(
        self,
        db: Session,
        row: SignupMail,
        registration: Registration,
        activity: ActivitySession,
        now: datetime,
    ) -> tuple[Addressee | None, str]:
        """Who the row's mail goes to, or why it goes to nobody (any more)."""
        signup = db.get(PublicSignup, registration.id)
        if row.kind == CONFIRMATION:
            if signup is None or not row.recipient:
                return None, "sign-up details forgotten"
            return Addressee(row.recipient, row.name or "", cancel_token=row.token), ""
        found = address_of(db, registration)
        if found is None:
            return None, "no address: sign-up details forgotten, person erased or never known"
        to = Addressee(*found, has_cancel_link=signup is not None and signup.cancel_token_sha256 is not None)
        started = domain.to_utc(activity.starts_at) <= now
        revision = moved_revision(row.kind)
        if row.kind in (REMINDER, MOVED_UP) or revision is not None:
            if activity.status != domain.SCHEDULED or started:
                return None, "the session was cancelled, held or has started"
            if revision is not None and revision != activity.revision:
                return None, "the session changed again: the newer mail tells"
            if row.kind == REMINDER and registration.waitlisted:
                return None, "on the waiting list"
        elif row.kind == CANCELLED:
            if activity.status != domain.CANCELLED or started:
                return None, "the session is not cancelled or has started"
        elif row.kind == FEEDBACK_REMINDER:
            request = (
                db.execute(
                    select(FeedbackRequest)
                    .where(
                        col(FeedbackRequest.session_id) == activity.id,
                        col(FeedbackRequest.member_id) == registration.member_id,
                    )
                    .order_by(col(FeedbackRequest.answered))  # an unanswered one first
                )
                .scalars()
                .first()
            )
            if request is None or request.answered or request.requested_at is None:
                return None, "feedback answered, or no request"
            valid = timedelta(days=self.settings.feedback_link_valid_days)
            if domain.to_utc(request.requested_at) + valid <= now:
                return None, "the feedback link has expired"
            try:
                token = make_token(
                    self.settings.link_secret.get_secret_value(), "feedback", str(request.request_id)
                )
            except ValueError as exc:  # LINK_SECRET not set: the link could not be opened
                return None, f"no feedback link: {exc}"
            base = self.settings.feedback_public_url.rstrip("/")
            return Addressee(to.email, to.name, feedback_url=f"{base}/feedback/{token}"), ""
        return to, ""

    def _prepare(self, row_id: int, now: datetime) -> tuple[str, EmailMessage] | None:
        """The recipient and the mail of a pending row, claimed; None when there is nothing to send."""
        with Session(self.engine) as db:
            row = db.get(SignupMail, row_id)
            if row is None or row.status != PENDING:
                return None
            registration = db.get(Registration, row.registration_id)
            activity = db.get(ActivitySession, registration.session_id) if registration else None
            to: Addressee | None = None
            if registration is None or activity is None:
                why = "sign-up details forgotten"
            elif registration.status != domain.REGISTERED:
                why = "registration cancelled before the mail went"
            elif row.attempts >= MAX_ATTEMPTS:
                why = f"deferred {row.attempts} times"
            else:
                to, why = self._addressee(db, row, registration, activity, now)
            if why or to is None or registration is None or activity is None:
                db.commit()
                self._finish(row_id, DROPPED, why[:300] or "nobody to mail")
                return None
            try:
                message = compose(row, activity, registration, self.config, now, to)
            except CannotCompose as exc:
                db.commit()
                self._finish(row_id, FAILED, str(exc)[:300])
                log.warning("sign-up mail %s cannot be composed: %s", row_id, exc)
                return None
            # the claim: committed before the SMTP conversation, so a restart never sends it again
            claimed = db.execute(
                update(SignupMail)
                .where(col(SignupMail.id) == row_id, col(SignupMail.status) == PENDING)
                .values(status=SENDING, attempts=SignupMail.attempts + 1)
            )
            db.commit()
            if int(getattr(claimed, "rowcount", 0) or 0) != 1:
                return None
        return to.email, message

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
        return deliver(
            self,
            ids,
            self._prepare,
            self._finish,
            lambda row_id, code: self._retry(row_id, f"deferred: {code}"),
            now,
        )

    def _retry(self, row_id: int, note: str) -> None:
        with Session(self.engine) as db:
            db.execute(
                update(SignupMail).where(col(SignupMail.id) == row_id).values(status=PENDING, note=note)
            )
            db.commit()
