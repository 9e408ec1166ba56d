"""Rules of the newsletter service, free of I/O: addresses, consent, the age of a service mail's
cause, retry timing and what an SMTP answer means for a mail."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email

from shared.clock import BRUSSELS as BRUSSELS  # re-exported: mail dates use it
from shared.clock import business_date_of, business_today
from shared.errors import Invalid

# a person who asks twice within this time gets one confirmation mail
CONFIRMATION_THROTTLE = timedelta(minutes=5)
# unconfirmed subscriptions (and so their addresses) are forgotten after this time
PENDING_RETENTION = timedelta(days=30)
# a mail a server keeps deferring (4xx) is given up after this time
GIVE_UP_AFTER = timedelta(days=3)
# a service mail whose member has no contact details yet waits this long for them
CONTACT_WAIT = timedelta(days=1)


class SubscriberStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class MailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    BOUNCED = "bounced"
    SKIPPED = "skipped"  # no longer wanted: unsubscribed, bounced address, erased
    FAILED = "failed"  # given up: deferred too long, or no address ever known


class IssueStatus(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # to be sent at `scheduled_at`; unscheduled, it is a draft again
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # not one mail could be sent (none could be composed): nobody received it


class MailKind(StrEnum):
    SUBSCRIPTION_CONFIRMATION = "subscription_confirmation"
    REGISTRATION_CONFIRMATION = "registration_confirmation"
    FEEDBACK_INVITATION = "feedback_invitation"


today = business_today  # the business date, defined once in shared.clock


def can_change(status: str) -> bool:
    """Only a draft may be edited or scheduled: once queued, every subscriber gets the same issue, and a
    scheduled issue goes out as it was when it was scheduled (unschedule it to change it)."""
    return status == IssueStatus.DRAFT


def can_send(status: str) -> bool:
    """A draft, or a scheduled issue sent now instead of later."""
    return status in (IssueStatus.DRAFT, IssueStatus.SCHEDULED)


# how far ahead an issue may be scheduled: further is a typing error, not a plan
SCHEDULE_HORIZON = timedelta(days=366)


def check_schedule(moment: datetime, now: datetime) -> datetime:
    """The moment to send at, in UTC: with its offset (a moment without one is ambiguous), in the
    future, within the horizon; Invalid otherwise."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise Invalid("scheduled_at", "needs an offset or Z (e.g. 2027-01-05T09:00:00+01:00)")
    moment = moment.astimezone(UTC)
    if moment <= now:
        raise Invalid("scheduled_at", "must lie in the future")
    if moment > now + SCHEDULE_HORIZON:
        raise Invalid("scheduled_at", "may lie at most a year ahead")
    return moment


business_day = business_date_of  # the Brussels date of a moment


def business_date(value: date | None, field: str) -> date:
    """A date given by staff, or today; never in the future."""
    if value is None:
        return today()
    if value > today():
        raise Invalid(field, "may not lie in the future")
    return value


def normalise_address(raw: str, field: str = "email") -> str:
    """A deliverable-looking address in plain ASCII (an international domain becomes punycode),
    lower-cased as the members service stores it; Invalid otherwise."""
    candidate = raw.strip()
    if not candidate or len(candidate) > 254:
        raise Invalid(field, "is not a valid e-mail address")
    try:
        valid = validate_email(candidate, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise Invalid(field, f"is not a valid e-mail address: {exc}") from None
    address = str(valid.ascii_email).lower()
    if len(address.rpartition("@")[0]) > 64:  # RFC 5321's limit, which the validator lets pass
        raise Invalid(
            field, "is not a valid e-mail address: the part before the @ is longer than 64 characters"
        )
    return address


class ConsentEffect(StrEnum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    NONE = "none"


def consent_effect(previous: bool | None, now: bool) -> ConsentEffect:
    """What a contact record does to the member's subscription. Only a change of consent counts
    (previous None: the first record seen), so a member who unsubscribed with the link in a mail is
    not subscribed again by an unrelated change such as a new phone number."""
    if now and previous is not True:
        return ConsentEffect.SUBSCRIBE
    if not now and previous is True:
        return ConsentEffect.UNSUBSCRIBE
    return ConsentEffect.NONE


def too_old_to_mail(cause_time: datetime, now: datetime, max_age_days: int) -> bool:
    """A replayed old event never mails anyone."""
    return now - cause_time > timedelta(days=max_age_days)


def retry_delay(attempts: int, first: float, ceiling: float) -> timedelta:
    """Exponential back-off for a mail the server deferred: first, 2×first, ... up to ceiling."""
    return timedelta(seconds=min(ceiling, first * (2 ** max(0, attempts - 1))))


class Answer(StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"  # 5xx: permanent, the address bounces
    DEFERRED = "deferred"  # 4xx or a failure before the message was complete: try again later


def classify(code: int) -> Answer:
    if 200 <= code < 300:
        return Answer.ACCEPTED
    if 500 <= code < 600:
        return Answer.REFUSED
    return Answer.DEFERRED
