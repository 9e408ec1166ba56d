"""The mail queue and the loop that empties it over SMTP: newsletter deliveries and service mails.

Never twice, also when killed: for each mail the sender walks MAIL, RCPT and DATA and writes the
message *without* its terminating dot, then commits the row as 'sending' (a conditional update, so a
row is claimed once), then writes the dot and reads the answer, then commits 'sent'.

- Killed before the 'sending' commit: the server never saw the final dot, so it dropped the
  transaction; the row is still 'queued' and is sent after the restart — once.
- Killed after it: the dot was written a few microseconds later, so the server has the message
  (or, if the kill fell exactly between the commit and that one socket write, it does not). Rows
  found in 'sending' at start-up are therefore counted as sent with `confirmed = false` and never
  sent again: at most once for that one mail, never twice.
- The connection dropping after the dot (the server crashed before answering) is the same
  ambiguous case and is handled the same way.

A 5xx marks the address bounced (table nl_bounces) and nothing is sent to it again. A 4xx defers
that one mail with back-off. A server that cannot be reached leaves everything queued; the loop
retries with back-off and carries on where it stopped.

A mail that cannot be composed (old data with a line break in a title, an address no SMTP command
line can carry, ...) is that mail's problem, not an outage: it is marked 'failed' with the reason
before any byte goes to the server, and the queue goes on.

One sender per database is assumed (the service runs as one process); a second one would not send
twice (the claim is conditional) but would mark the first one's in-flight rows as sent when it
starts.

A scheduled issue is queued by the sender when its moment has come, exactly as a send request queues
it (handlers.queue_issue): the issue moves from 'scheduled' to 'sending' by a conditional update in the
same transaction as its deliveries, so that of two senders (or a sender and a 'send now') one queues it
and the other finds it taken; a sender stopped before that commit leaves it scheduled, and the next
one (after a restart) queues it. From there on, each mail is the queue's, sent once as above.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from functools import partial

import aiosmtplib
from aiosmtplib.email import quote_address
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col

from services.newsletter import domain, handlers, mail
from services.newsletter.domain import Answer, IssueStatus, MailKind, MailStatus, SubscriberStatus
from services.newsletter.settings import NewsletterSettings
from services.newsletter.tables import (
    Bounce,
    Contact,
    Delivery,
    Issue,
    ServiceMail,
    Subject,
    Subscriber,
)
from shared import events, staff
from shared.db import transaction
from shared.errors import Conflict
from shared.outbox import Outbox

log = logging.getLogger(__name__)


def _utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their offset; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _rowcount(result: object) -> int:
    """Rows an UPDATE touched (typed loosely by SQLAlchemy's generic Result)."""
    return int(getattr(result, "rowcount", 0))


@dataclass
class Job:
    """One mail ready to go: which row it is, to whom, and the message as it goes on the wire."""

    table: type[Delivery] | type[ServiceMail]
    key: int | str
    address: str
    data: bytes
    attempts: int
    queued_at: datetime


class CannotCompose(Exception):
    """This one mail cannot be made (or cannot be put on the wire); the reason is stored with it."""


def _wire(address: str, compose: Callable[[], EmailMessage]) -> bytes:
    """The message as bytes for the DATA phase; any failure to get there is `CannotCompose`.

    Everything that can go wrong with the content happens here, before MAIL FROM: the header checks
    of the email package (a line break in a subject), serialising, and the envelope address that
    aiosmtplib will put on the RCPT line (it must be ASCII without spaces or line breaks)."""
    try:
        quote_address(address).encode("ascii")
    except ValueError as exc:  # the messages quote the address: keep it out of logs and statistics
        raise CannotCompose(
            "cannot be composed: the address cannot go on an SMTP command line"
            " (a space, angle bracket, line break or non-ASCII character)"
        ) from exc
    try:
        return mail.wire_bytes(compose())
    except SQLAlchemyError:
        raise  # the database, not this mail: the loop retries the whole batch
    except Exception as exc:  # any composition error is this mail's, never an outage
        raise CannotCompose(f"cannot be composed: {exc.__class__.__name__}: {exc}"[:500]) from exc


class MailQueue:
    """The database side of sending: what is due, claiming a row, recording the outcome."""

    def __init__(
        self,
        engine: Engine,
        outbox: Outbox,
        config: mail.MailConfig,
        *,
        retry_seconds: float,
        retry_max_seconds: float,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.config = config
        self.retry_seconds = retry_seconds
        self.retry_max_seconds = retry_max_seconds
        # mails given up because they could not be composed, since this process started (metrics)
        self.compose_failures = {"newsletter": 0, "service_mails": 0}

    # --- start-up ---------------------------------------------------------------------------------

    def resolve_interrupted(self, now: datetime) -> int:
        """Rows a killed process left in 'sending' had their message handed over: sent, unconfirmed."""
        resolved = 0
        with transaction(self.engine) as session:
            for table in (Delivery, ServiceMail):
                result = session.execute(
                    update(table)
                    .where(col(table.status) == MailStatus.SENDING)
                    .values(
                        status=MailStatus.SENT,
                        confirmed=False,
                        finished_at=now,
                        last_error="interrupted after the message was handed over; counted as sent",
                    )
                )
                resolved += _rowcount(result)
        if resolved:
            log.warning("%d mail(s) were in flight when the process stopped: counted as sent", resolved)
        return resolved

    # --- what is due ------------------------------------------------------------------------------

    def due(self, now: datetime, limit: int) -> list[Job]:
        """Service mails first (people wait for them), then newsletter deliveries, oldest first."""
        with transaction(self.engine) as session:
            jobs = self._due_service_mails(session, now, limit)
            if len(jobs) < limit:
                jobs += self._due_deliveries(session, now, limit - len(jobs))
        return jobs

    def _bounced(self, session: Session, addresses: set[str]) -> set[str]:
        if not addresses:
            return set()
        return set(
            session.execute(
                select(col(Bounce.email)).where(col(Bounce.email).in_(sorted(addresses)))
            ).scalars()
        )

    def _due_deliveries(self, session: Session, now: datetime, limit: int) -> list[Job]:
        rows = session.execute(
            select(Delivery, Subscriber, Issue)
            .join(Issue, col(Issue.id) == col(Delivery.issue_id))
            .outerjoin(Subscriber, col(Subscriber.id) == col(Delivery.subscriber_id))
            .where(col(Delivery.status) == MailStatus.QUEUED, col(Delivery.next_attempt_at) <= now)
            .order_by(col(Delivery.id))
            .limit(limit)
        ).all()
        bounced = self._bounced(session, {s.email for _, s, _ in rows if s is not None})
        jobs: list[Job] = []
        for delivery, subscriber, issue in rows:
            if (
                subscriber is None
                or subscriber.status != SubscriberStatus.ACTIVE
                or subscriber.email in bounced
            ):
                delivery.status = MailStatus.SKIPPED
                delivery.finished_at = now
                delivery.last_error = "no longer subscribed, or the address bounced"
                session.add(delivery)
                continue
            try:
                data = _wire(
                    subscriber.email,
                    partial(
                        mail.newsletter,
                        self.config,
                        issue_id=issue.id,
                        title=issue.title,
                        body=issue.body,
                        subscriber_id=subscriber.id,
                        recipient=mail.Recipient(subscriber.email, subscriber.first_name),
                        now=now,
                    ),
                )
            except CannotCompose as exc:
                delivery.status = MailStatus.FAILED
                delivery.finished_at = now
                delivery.last_error = str(exc)
                session.add(delivery)
                self._count_failure("newsletter", f"delivery {delivery.id} of issue {issue.id}", exc)
                continue
            assert delivery.id is not None
            jobs.append(
                Job(
                    Delivery, delivery.id, subscriber.email, data, delivery.attempts, _utc(delivery.queued_at)
                )
            )
        return jobs

    def _count_failure(self, queue: str, what: str, exc: CannotCompose) -> None:
        self.compose_failures[queue] += 1
        log.warning("mail sender: %s marked failed, the queue goes on: %s", what, exc)

    def _due_service_mails(self, session: Session, now: datetime, limit: int) -> list[Job]:
        rows = list(
            session.execute(
                select(ServiceMail)
                .where(col(ServiceMail.status) == MailStatus.QUEUED, col(ServiceMail.next_attempt_at) <= now)
                .order_by(col(ServiceMail.created_at))
                .limit(limit)
            ).scalars()
        )
        jobs: list[Job] = []
        for row in rows:
            if row.subscriber_id is not None and not self._still_pending(session, row.subscriber_id):
                self._close(session, row, MailStatus.SKIPPED, now, "confirmed or unsubscribed meanwhile")
                continue
            recipient = self._recipient(session, row)
            if recipient is None:
                if now - _utc(row.created_at) > domain.CONTACT_WAIT:
                    self._close(session, row, MailStatus.FAILED, now, "no address known for this person")
                else:  # the contact record may still be on its way (another topic)
                    row.attempts += 1
                    row.next_attempt_at = now + domain.retry_delay(
                        row.attempts, self.retry_seconds, self.retry_max_seconds
                    )
                    session.add(row)
                continue
            if row.kind != MailKind.SUBSCRIPTION_CONFIRMATION and self._bounced(session, {recipient.email}):
                self._close(session, row, MailStatus.SKIPPED, now, "the address bounced before")
                continue
            try:
                data = _wire(recipient.email, partial(self._compose, session, row, recipient, now))
            except CannotCompose as exc:
                self._close(session, row, MailStatus.FAILED, now, str(exc))
                self._count_failure("service_mails", f"{row.kind} mail {row.cause_id}", exc)
                continue
            jobs.append(
                Job(ServiceMail, row.cause_id, recipient.email, data, row.attempts, _utc(row.created_at))
            )
        return jobs

    def _still_pending(self, session: Session, subscriber_id: uuid.UUID) -> bool:
        subscriber = session.get(Subscriber, subscriber_id)
        return subscriber is not None and subscriber.status == SubscriberStatus.PENDING

    def _recipient(self, session: Session, row: ServiceMail) -> mail.Recipient | None:
        if row.subscriber_id is not None:
            subscriber = session.get(Subscriber, row.subscriber_id)
            if subscriber is None or subscriber.status != SubscriberStatus.PENDING:
                return None
            return mail.Recipient(subscriber.email, subscriber.first_name)
        contact = session.get(Contact, row.member_id) if row.member_id else None
        if contact is None:
            return None
        return mail.Recipient(contact.email, contact.first_name, contact.last_name)

    def _compose(
        self, session: Session, row: ServiceMail, recipient: mail.Recipient, now: datetime
    ) -> EmailMessage:
        subject = session.get(Subject, row.subject_id) if row.subject_id else None
        info = (
            mail.SubjectInfo(
                subject.kind,
                subject.title,
                _utc(subject.starts_at) if subject.starts_at else None,
                subject.format,
            )
            if subject
            else None
        )
        if row.kind == MailKind.SUBSCRIPTION_CONFIRMATION:
            assert row.subscriber_id is not None
            return mail.subscription_confirmation(
                self.config,
                cause_id=row.cause_id,
                subscriber_id=row.subscriber_id,
                recipient=recipient,
                now=now,
            )
        if row.kind == MailKind.REGISTRATION_CONFIRMATION:
            return mail.registration_confirmation(
                self.config,
                cause_id=row.cause_id,
                recipient=recipient,
                subject=info,
                waitlisted=row.waitlisted,
                now=now,
            )
        assert row.reference_id is not None
        return mail.feedback_invitation(
            self.config,
            cause_id=row.cause_id,
            request_id=row.reference_id,
            subject_type=row.subject_type or "session",
            recipient=recipient,
            subject=info,
            now=now,
        )

    # --- one mail's fate --------------------------------------------------------------------------

    def claim(self, job: Job, now: datetime) -> bool:
        """Commit 'sending' for a row still queued (and, for the newsletter, still subscribed)."""
        with transaction(self.engine) as session:
            if job.table is Delivery:
                still_subscribed = exists().where(
                    col(Subscriber.id) == col(Delivery.subscriber_id),
                    col(Subscriber.status) == SubscriberStatus.ACTIVE,
                )
                statement = update(Delivery).where(
                    col(Delivery.id) == job.key, col(Delivery.status) == MailStatus.QUEUED, still_subscribed
                )
            else:
                statement = update(ServiceMail).where(
                    col(ServiceMail.cause_id) == job.key,
                    col(ServiceMail.status) == MailStatus.QUEUED,
                )
            result = session.execute(
                statement.values(status=MailStatus.SENDING, claimed_at=now, attempts=job.attempts + 1)
            )
            return _rowcount(result) == 1

    def sent(self, job: Job, now: datetime, confirmed: bool = True, note: str | None = None) -> None:
        with transaction(self.engine) as session:
            self._set(
                session, job, status=MailStatus.SENT, confirmed=confirmed, finished_at=now, last_error=note
            )

    def bounced(self, job: Job, now: datetime, reason: str) -> None:
        with transaction(self.engine) as session:
            self._set(session, job, status=MailStatus.BOUNCED, finished_at=now, last_error=reason[:500])
            if session.get(Bounce, job.address) is None:
                session.add(Bounce(email=job.address, bounced_at=now, reason=reason[:500]))

    def deferred(self, job: Job, now: datetime, reason: str) -> None:
        """The server said 'not now' (4xx) to this one mail: try again later, give up after days."""
        attempts = job.attempts + 1
        with transaction(self.engine) as session:
            if now - job.queued_at > domain.GIVE_UP_AFTER:
                self._set(
                    session,
                    job,
                    status=MailStatus.FAILED,
                    attempts=attempts,
                    finished_at=now,
                    last_error=reason[:500],
                )
                return
            delay = domain.retry_delay(attempts, self.retry_seconds, self.retry_max_seconds)
            self._set(
                session,
                job,
                status=MailStatus.QUEUED,
                attempts=attempts,
                next_attempt_at=now + delay,
                last_error=reason[:500],
            )

    def _set(self, session: Session, job: Job, **values: object) -> None:
        key_column = col(Delivery.id) if job.table is Delivery else col(ServiceMail.cause_id)
        session.execute(update(job.table).where(key_column == job.key).values(**values))

    def _close(self, session: Session, row: ServiceMail, status: MailStatus, now: datetime, why: str) -> None:
        row.status, row.finished_at, row.last_error = status, now, why
        session.add(row)

    # --- issues -----------------------------------------------------------------------------------

    def release_scheduled(self, now: datetime) -> list[uuid.UUID]:
        """Scheduled issues whose moment has come are queued, each in a transaction of its own. One
        another sender took first is left alone; one with nobody to send to becomes a draft again with
        `schedule_missed_at`, so that staff see it was not sent."""
        with Session(self.engine) as session:
            due = list(
                session.execute(
                    select(col(Issue.id))
                    .where(col(Issue.status) == IssueStatus.SCHEDULED, col(Issue.scheduled_at) <= now)
                    .order_by(col(Issue.scheduled_at))
                ).scalars()
            )
        released: list[uuid.UUID] = []
        for issue_id in due:
            try:
                with transaction(self.engine) as session:
                    issue = session.get(Issue, issue_id)
                    if issue is None or issue.status != IssueStatus.SCHEDULED:
                        continue
                    handlers.queue_issue(
                        session, issue_id, now, issue.scheduled_by, from_statuses=(IssueStatus.SCHEDULED,)
                    )
            except handlers.NoRecipients:
                with transaction(self.engine) as session:
                    session.execute(
                        update(Issue)
                        .where(col(Issue.id) == issue_id, col(Issue.status) == IssueStatus.SCHEDULED)
                        .values(status=IssueStatus.DRAFT, schedule_missed_at=now)
                    )
                log.warning(
                    "scheduled newsletter issue %s: no active subscribers, it is a draft again", issue_id
                )
                continue
            except (Conflict, IntegrityError):  # another sender, or a 'send now', queued it first
                continue
            log.info("scheduled newsletter issue %s queued", issue_id)
            released.append(issue_id)
        return released

    def finish_issues(self, now: datetime) -> list[uuid.UUID]:
        """Issues with nothing left to send become 'sent' and announce `newsletter.sent`, once. An
        issue of which not one mail went out but some failed (it could not be composed) becomes
        'failed' instead and announces nothing: nobody received it, so it is no newsletter sent."""
        finished: list[uuid.UUID] = []
        with transaction(self.engine) as session:
            sending = list(
                session.execute(select(Issue).where(col(Issue.status) == IssueStatus.SENDING)).scalars()
            )
            for issue in sending:
                open_rows = session.execute(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        col(Delivery.issue_id) == issue.id,
                        col(Delivery.status).in_([MailStatus.QUEUED, MailStatus.SENDING]),
                    )
                ).scalar_one()
                if open_rows:
                    continue
                recipients = session.execute(
                    select(func.count())
                    .select_from(Delivery)
                    .where(
                        col(Delivery.issue_id) == issue.id,
                        col(Delivery.status) == MailStatus.SENT,
                    )
                ).scalar_one()
                failed = session.execute(
                    select(func.count())
                    .select_from(Delivery)
                    .where(col(Delivery.issue_id) == issue.id, col(Delivery.status) == MailStatus.FAILED)
                ).scalar_one()
                if recipients == 0 and failed:
                    session.execute(
                        update(Issue)
                        .where(col(Issue.id) == issue.id, col(Issue.status) == IssueStatus.SENDING)
                        .values(status=IssueStatus.FAILED, recipients=0)
                    )
                    log.warning("newsletter issue %s: none of its %d mail(s) could be sent", issue.id, failed)
                    continue
                done = session.execute(
                    update(Issue)
                    .where(col(Issue.id) == issue.id, col(Issue.status) == IssueStatus.SENDING)
                    .values(status=IssueStatus.SENT, sent_at=now, recipients=recipients)
                )
                if _rowcount(done) != 1:
                    continue
                self.outbox.add(
                    session,
                    events.NewsletterSent(
                        issue_id=issue.id, title=issue.title, sent_at=now, recipients=recipients
                    ),
                    # who asked for the sending, as a pseudonymous staff id (shared.staff)
                    actor=staff.record(session, issue.send_requested_by) if issue.send_requested_by else None,
                )
                finished.append(issue.id)
        for issue_id in finished:
            log.info("newsletter issue %s sent", issue_id)
        return finished

    def purge_unconfirmed(self, now: datetime) -> int:
        """Addresses that never confirmed their subscription are forgotten after a while."""
        cutoff = now - domain.PENDING_RETENTION
        with transaction(self.engine) as session:
            stale = list(
                session.execute(
                    select(col(Subscriber.id), col(Subscriber.email)).where(
                        col(Subscriber.status) == SubscriberStatus.PENDING,
                        col(Subscriber.created_at) < cutoff,
                    )
                ).all()
            )
            if not stale:
                return 0
            ids = [row.id for row in stale]
            session.execute(delete(ServiceMail).where(col(ServiceMail.subscriber_id).in_(ids)))
            session.execute(delete(Bounce).where(col(Bounce.email).in_([row.email for row in stale])))
            session.execute(delete(Subscriber).where(col(Subscriber.id).in_(ids)))
        return len(stale)

    def counts(self) -> dict[str, dict[str, int]]:
        with Session(self.engine) as session:
            answer: dict[str, dict[str, int]] = {}
            for name, table in (("newsletter", Delivery), ("service_mails", ServiceMail)):
                rows = session.execute(
                    select(col(table.status), func.count()).group_by(col(table.status))
                ).all()
                answer[name] = {str(status): int(count) for status, count in rows}
            return answer

    def failures(self, limit: int = 50) -> dict[str, list[dict[str, object]]]:
        """Failed mails grouped by why (per issue for the newsletter, per kind for service mails),
        newest first: what the back office shows so that staff can act on it."""
        with Session(self.engine) as session:
            newsletter = session.execute(
                select(
                    col(Delivery.issue_id),
                    col(Delivery.last_error),
                    func.count(),
                    func.max(col(Delivery.finished_at)),
                )
                .where(col(Delivery.status) == MailStatus.FAILED)
                .group_by(col(Delivery.issue_id), col(Delivery.last_error))
                .order_by(func.max(col(Delivery.finished_at)).desc())
                .limit(limit)
            ).all()
            service = session.execute(
                select(
                    col(ServiceMail.kind),
                    col(ServiceMail.last_error),
                    func.count(),
                    func.max(col(ServiceMail.finished_at)),
                )
                .where(col(ServiceMail.status) == MailStatus.FAILED)
                .group_by(col(ServiceMail.kind), col(ServiceMail.last_error))
                .order_by(func.max(col(ServiceMail.finished_at)).desc())
                .limit(limit)
            ).all()
        return {
            "newsletter": [
                {"issue_id": str(issue_id), "reason": reason, "count": int(count), "last_at": _iso(last)}
                for issue_id, reason, count, last in newsletter
            ],
            "service_mails": [
                {"kind": kind, "reason": reason, "count": int(count), "last_at": _iso(last)}
                for kind, reason, count, last in service
            ],
        }


def _iso(moment: datetime | None) -> str | None:
    return _utc(moment).isoformat() if moment is not None else None


class MailMetrics(Collector):
    """The mail queue per status and the mails that could not be composed, read at scrape time."""

    def __init__(self, queue: MailQueue, service: str) -> None:
        self.queue = queue
        self.service = service

    def collect(self) -> Iterator[Metric]:
        mails = GaugeMetricFamily(
            "vvsg_mail_queue", "Mails in the queue per status", labels=["service", "queue", "status"]
        )
        try:
            counts = self.queue.counts()
        except Exception:  # noqa: BLE001 - a database that does not answer shows in readiness instead
            counts = {}
        for queue, statuses in counts.items():
            for status, count in statuses.items():
                mails.add_metric([self.service, queue, status], count)
        yield mails
        failures = CounterMetricFamily(
            "vvsg_mail_compose_failures",
            "Mails marked failed because they could not be composed",
            labels=["service", "queue"],
        )
        for queue, count in self.queue.compose_failures.items():
            failures.add_metric([self.service, queue], count)
        yield failures


class SmtpUnavailable(Exception):
    """The server cannot be reached or dropped the connection: nothing was lost, try again later."""


class Sender:
    """The background loop: take what is due, send it over one reused SMTP connection."""

    def __init__(
        self,
        queue: MailQueue,
        settings: NewsletterSettings,
        *,
        batch_size: int = 100,
        poll_seconds: float = 2.0,
        retry_seconds: float = 1.0,
        retry_max_seconds: float = 60.0,
        timeout: float = 30.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.queue = queue
        self.settings = settings
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retry_seconds = retry_seconds
        self.retry_max_seconds = retry_max_seconds
        self.timeout = timeout
        self.clock = clock or (lambda: datetime.now(UTC))
        self.smtp_ok: bool | None = None  # None until the first attempt
        self.last_error: str | None = None
        self._smtp: aiosmtplib.SMTP | None = None
        self._wakeup: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_purge = 0.0

    def wake(self) -> None:
        """Safe from any thread (HTTP handlers and consumers run in worker threads)."""
        loop, wakeup = self._loop, self._wakeup
        if loop is not None and wakeup is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wakeup.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        await self._resolve_interrupted()
        backoff = self.retry_seconds
        try:
            while True:
                try:
                    busy = await self.run_once()
                    backoff = self.retry_seconds
                except SmtpUnavailable as exc:
                    self._mark_down(str(exc))
                    await self._wait(backoff)
                    backoff = min(backoff * 2, self.retry_max_seconds)
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001  (the database away, a bug: log, wait, carry on)
                    log.warning("mail sender: %s: %s", exc.__class__.__name__, exc)
                    await self._wait(backoff)
                    backoff = min(backoff * 2, self.retry_max_seconds)
                    continue
                if not busy:
                    await self._wait(self.poll_seconds)
        finally:
            await self._disconnect()

    async def _resolve_interrupted(self) -> None:
        delay = self.retry_seconds
        while True:
            try:
                await asyncio.to_thread(self.queue.resolve_interrupted, self.clock())
                return
            except Exception as exc:  # noqa: BLE001  (the database is not there yet)
                log.warning("mail sender start-up: %s; retrying", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.retry_max_seconds)

    async def _wait(self, seconds: float) -> None:
        assert self._wakeup is not None
        self._wakeup.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)

    async def run_once(self) -> bool:
        """Queue the scheduled issues that are due, then send one batch; True when there was something
        to send."""
        await asyncio.to_thread(self.queue.release_scheduled, self.clock())
        jobs = await asyncio.to_thread(self.queue.due, self.clock(), self.batch_size)
        try:
            for job in jobs:
                await self._deliver(job)
        finally:
            await asyncio.to_thread(self.queue.finish_issues, self.clock())
        if time.monotonic() - self._last_purge > 3600:
            self._last_purge = time.monotonic()
            await asyncio.to_thread(self.queue.purge_unconfirmed, self.clock())
        if not jobs:
            await self._disconnect()  # nothing to do: do not hold a connection open
        return bool(jobs)

    # --- SMTP -------------------------------------------------------------------------------------

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        security = self.settings.smtp_security.lower()
        password = self.settings.smtp_password.get_secret_value()
        smtp = aiosmtplib.SMTP(
            hostname=self.settings.smtp_host,
            port=self.settings.smtp_port,
            use_tls=security == "tls",
            start_tls=security == "starttls",
            username=self.settings.smtp_username or None,
            password=password if self.settings.smtp_username else None,
            local_hostname=socket.gethostname(),
            timeout=self.timeout,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise SmtpUnavailable(
                f"cannot reach {self.settings.smtp_host}:{self.settings.smtp_port}: {exc}"
            ) from exc
        self._smtp = smtp
        self._mark_up()
        return smtp

    async def _disconnect(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await asyncio.wait_for(smtp.quit(), 5)
            except Exception:  # noqa: BLE001
                smtp.close()

    async def _deliver(self, job: Job) -> None:
        smtp = await self._connection()
        sender = self.queue.config.sender_address
        try:
            try:
                await smtp.mail(sender)
            except aiosmtplib.SMTPResponseException as exc:  # our sender address: not this mail's fault
                await self._drop()
                raise SmtpUnavailable(
                    f"the server refuses the sender {sender}: {exc.code} {exc.message}"
                ) from exc
            try:
                await smtp.rcpt(job.address)
                start = await smtp.execute_command(b"DATA")
            except aiosmtplib.SMTPResponseException as exc:
                await self._refused_before_data(smtp, job, exc.code, exc.message)
                return
            if start.code != 354:
                await self._refused_before_data(smtp, job, start.code, start.message)
                return
            assert smtp.protocol is not None
            smtp.protocol.write(job.data)
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            await self._drop()
            raise SmtpUnavailable(f"connection lost before the message was complete: {exc}") from exc

        # Everything but the final dot is written; without the dot the server keeps nothing.
        if not await asyncio.to_thread(self.queue.claim, job, self.clock()):
            await self._drop()  # unsubscribed or taken meanwhile: abandon the transaction
            return
        try:
            answer = await smtp.execute_command(b".")
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
            # the message was complete: the server may well have it — never send it again
            await asyncio.to_thread(
                self.queue.sent, job, self.clock(), False, f"no answer after the message: {exc}"
            )
            await self._drop()
            raise SmtpUnavailable(f"connection lost after the message: {exc}") from exc
        outcome = domain.classify(answer.code)
        if outcome is Answer.ACCEPTED:
            await asyncio.to_thread(self.queue.sent, job, self.clock())
        elif outcome is Answer.REFUSED:
            await asyncio.to_thread(self.queue.bounced, job, self.clock(), f"{answer.code} {answer.message}")
        else:
            await asyncio.to_thread(self.queue.deferred, job, self.clock(), f"{answer.code} {answer.message}")

    async def _refused_before_data(self, smtp: aiosmtplib.SMTP, job: Job, code: int, text: str) -> None:
        reason = f"{code} {text}"
        if code == 421 or not smtp.is_connected:  # the server is closing: the mail waits for the next one
            await self._drop()
            raise SmtpUnavailable(reason)
        if domain.classify(code) is Answer.REFUSED:
            await asyncio.to_thread(self.queue.bounced, job, self.clock(), reason)
        else:
            await asyncio.to_thread(self.queue.deferred, job, self.clock(), reason)
        try:
            await smtp.rset()
        except aiosmtplib.SMTPException:
            await self._drop()

    async def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _mark_up(self) -> None:
        if self.smtp_ok is False:
            log.info("SMTP server %s:%s reachable again", self.settings.smtp_host, self.settings.smtp_port)
        self.smtp_ok, self.last_error = True, None

    def _mark_down(self, reason: str) -> None:
        if self.smtp_ok is not False:
            log.warning("mail sender: %s; mails stay queued and are retried", reason)
        self.smtp_ok, self.last_error = False, reason


def pending_in(session: Session, issue_id: uuid.UUID) -> dict[str, int]:
    """Deliveries of one issue per status (for the API)."""
    rows = session.execute(
        select(col(Delivery.status), func.count())
        .where(col(Delivery.issue_id) == issue_id)
        .group_by(col(Delivery.status))
    ).all()
    counts = {str(status): int(count) for status, count in rows}
    unconfirmed = session.execute(
        select(func.count())
        .select_from(Delivery)
        .where(and_(col(Delivery.issue_id) == issue_id, col(Delivery.confirmed).is_(False)))
    ).scalar_one()
    counts["unconfirmed"] = int(unconfirmed)
    return counts
