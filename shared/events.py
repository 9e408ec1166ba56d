"""The CloudEvents 1.0 envelope and the event catalogue v1: the public contract of every domain topic.

Readers ignore unknown fields (forward compatible) and refuse a record that misses a required field,
carries a value out of range, or names a type the catalogue does not know.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from shared import topics

TYPE_PREFIX = "be.vvsg.digitaleinclusie."
CONTENT_TYPE = "application/cloudevents+json"

_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_day(value: Any) -> Any:
    # pydantic's lax mode would also take timestamps and other shapes; the contract says YYYY-MM-DD.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DAY.match(value):
        raise ValueError("a date must be written YYYY-MM-DD")
    return value


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a timestamp must carry its UTC offset (RFC 3339)")
    return value


Day = Annotated[date, BeforeValidator(_iso_day)]
Timestamp = Annotated[datetime, AfterValidator(_aware)]
Hours = Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)]
Rating = Annotated[int, Field(strict=True, ge=1, le=5)]
Count = Annotated[int, Field(strict=True, ge=0)]
Text = Annotated[str, Field(min_length=1, max_length=500)]
Url = Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000)]

OrganisationKind = Literal[
    "lokaal_bestuur",
    "intergemeentelijk_samenwerkingsverband",
    "middenveldorganisatie",
    "kennisinstelling",
    "bovenlokale_overheid",
    "andere",
]
LOCAL_GOVERNMENT_KINDS: frozenset[str] = frozenset(
    {"lokaal_bestuur", "intergemeentelijk_samenwerkingsverband"}
)
SessionKind = Literal[
    "network_meeting_general",
    "network_meeting_thematic",
    "info_session",
    "inspiration_day_physical",
    "inspiration_day_online",
    "training_multiday",
    "training_thematic",
    "training_integrated",
    "presentation_on_request",
    "workshop_on_request",
    "steering_group",
    "coordination_meeting",
]
# steering and coordination meetings are internal consultation, not network activities: nobody is asked
# for feedback on them and they do not count in the feedback KPIs
NO_FEEDBACK_KINDS: frozenset[str] = frozenset({"steering_group", "coordination_meeting"})
Lead = Literal["vvsg", "mediawijs", "joint"]
SessionFormat = Literal["online", "physical", "hybrid"]
AdviceChannel = Literal["mail", "meeting", "phone", "online"]
Stage = Literal["starting", "growing", "experienced"]
FeedbackSubjectType = Literal["session", "support_trajectory", "survey"]
NisCode = Annotated[str, Field(pattern=r"^\d{5}$")]


class EventData(BaseModel):
    """Base of every payload. Subclasses name their type, topic and the field that keys the record."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    NAME: ClassVar[str]
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str]
    KEY_FIELD: ClassVar[str]

    @classmethod
    def type_name(cls) -> str:
        return f"{TYPE_PREFIX}{cls.NAME}.v{cls.VERSION}"

    def key(self) -> str:
        return str(getattr(self, self.KEY_FIELD))


# --- members.events ------------------------------------------------------------------------------


class OrganisationRegistered(EventData):
    NAME = "organisation.registered"
    TOPIC = topics.MEMBERS_EVENTS
    KEY_FIELD = "organisation_id"
    organisation_id: uuid.UUID
    name: Text
    kind: OrganisationKind
    nis_code: NisCode | None = None
    registered_on: Day


class OrganisationUpdated(EventData):
    NAME = "organisation.updated"
    TOPIC = topics.MEMBERS_EVENTS
    KEY_FIELD = "organisation_id"
    organisation_id: uuid.UUID
    name: Text
    kind: OrganisationKind
    nis_code: NisCode | None = None


class MemberJoined(EventData):
    NAME = "member.joined"
    TOPIC = topics.MEMBERS_EVENTS
    KEY_FIELD = "member_id"
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    joined_on: Day


class MemberMoved(EventData):
    NAME = "member.moved"
    TOPIC = topics.MEMBERS_EVENTS
    KEY_FIELD = "member_id"
    member_id: uuid.UUID
    from_organisation_id: uuid.UUID
    to_organisation_id: uuid.UUID
    moved_on: Day


class MemberLeft(EventData):
    NAME = "member.left"
    TOPIC = topics.MEMBERS_EVENTS
    KEY_FIELD = "member_id"
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    left_on: Day


class MemberErased(EventData):
    NAME = "member.erased"
    TOPIC = topics.MEMBERS_EVENTS
    KEY_FIELD = "member_id"
    member_id: uuid.UUID
    erased_on: Day


class KnowledgeSharingJoined(EventData):
    NAME = "knowledge_sharing.joined"
    TOPIC = topics.MEMBERS_EVENTS
    KEY_FIELD = "member_id"
    member_id: uuid.UUID
    joined_on: Day


class KnowledgeSharingLeft(EventData):
    NAME = "knowledge_sharing.left"
    TOPIC = topics.MEMBERS_EVENTS
    KEY_FIELD = "member_id"
    member_id: uuid.UUID
    left_on: Day


# --- activities.events ---------------------------------------------------------------------------


class SessionScheduled(EventData):
    NAME = "session.scheduled"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "session_id"
    session_id: uuid.UUID
    kind: SessionKind
    title: Text
    theme: Text
    lead: Lead
    format: SessionFormat
    starts_at: Timestamp
    ends_at: Timestamp
    planned_hours: Hours
    capacity: Annotated[int, Field(strict=True, ge=1)] | None = None
    requested_by_organisation_id: uuid.UUID | None = None


class SessionRescheduled(EventData):
    NAME = "session.rescheduled"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "session_id"
    session_id: uuid.UUID
    starts_at: Timestamp
    ends_at: Timestamp
    planned_hours: Hours


class SessionCancelled(EventData):
    NAME = "session.cancelled"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "session_id"
    session_id: uuid.UUID
    cancelled_on: Day


class RegistrationReceived(EventData):
    NAME = "registration.received"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "session_id"
    registration_id: uuid.UUID
    session_id: uuid.UUID
    member_id: uuid.UUID | None = None
    organisation_id: uuid.UUID | None = None
    organisation_kind: OrganisationKind
    waitlisted: bool


class RegistrationCancelled(EventData):
    NAME = "registration.cancelled"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "session_id"
    registration_id: uuid.UUID
    session_id: uuid.UUID


class AttendanceRecorded(EventData):
    NAME = "attendance.recorded"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "session_id"
    registration_id: uuid.UUID
    session_id: uuid.UUID
    attended: bool
    hours: Hours


class SessionHeld(EventData):
    NAME = "session.held"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "session_id"
    session_id: uuid.UUID
    held_on: Day
    participants: Count
    participant_hours: Hours


class RecordingPublished(EventData):
    NAME = "recording.published"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "session_id"
    session_id: uuid.UUID
    url: Url


class AdviceGiven(EventData):
    NAME = "advice.given"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "advice_id"
    advice_id: uuid.UUID
    organisation_id: uuid.UUID
    given_on: Day
    topic: Text
    channel: AdviceChannel
    with_mediawijs: bool


class SupportTrajectoryStarted(EventData):
    NAME = "support_trajectory.started"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "trajectory_id"
    trajectory_id: uuid.UUID
    organisation_id: uuid.UUID
    started_on: Day
    stage: Stage
    methodology: Text
    description: Annotated[str, Field(min_length=1, max_length=4000)]


class SupportTrajectoryCompleted(EventData):
    NAME = "support_trajectory.completed"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "trajectory_id"
    trajectory_id: uuid.UUID
    completed_on: Day
    summary: Annotated[str, Field(max_length=4000)]


# --- feedback.events -----------------------------------------------------------------------------


class FeedbackRequested(EventData):
    NAME = "feedback.requested"
    TOPIC = topics.FEEDBACK_EVENTS
    KEY_FIELD = "subject_id"
    request_id: uuid.UUID
    subject_type: FeedbackSubjectType
    subject_id: uuid.UUID
    member_id: uuid.UUID | None = None
    requested_on: Day


class FeedbackReceived(EventData):
    NAME = "feedback.received"
    TOPIC = topics.FEEDBACK_EVENTS
    KEY_FIELD = "subject_id"
    response_id: uuid.UUID
    request_id: uuid.UUID | None = None
    subject_type: FeedbackSubjectType
    subject_id: uuid.UUID
    satisfaction: Rating | None = None
    usefulness: Rating | None = None
    motivated: Rating | None = None
    able_to_act: Rating | None = None
    has_comment: bool
    received_on: Day


class SurveyOpened(EventData):
    NAME = "survey.opened"
    TOPIC = topics.FEEDBACK_EVENTS
    KEY_FIELD = "survey_id"
    survey_id: uuid.UUID
    title: Text
    topic: Text
    opened_on: Day


class SurveyClosed(EventData):
    NAME = "survey.closed"
    TOPIC = topics.FEEDBACK_EVENTS
    KEY_FIELD = "survey_id"
    survey_id: uuid.UUID
    closed_on: Day
    responses: Count
    local_government_responses: Count


# --- communications.events ----------------------------------------------------------------------


class NewsletterSubscribed(EventData):
    NAME = "newsletter.subscribed"
    TOPIC = topics.COMMUNICATIONS_EVENTS
    KEY_FIELD = "subscriber_id"
    subscriber_id: uuid.UUID
    member_id: uuid.UUID | None = None
    subscribed_on: Day


class NewsletterUnsubscribed(EventData):
    NAME = "newsletter.unsubscribed"
    TOPIC = topics.COMMUNICATIONS_EVENTS
    KEY_FIELD = "subscriber_id"
    subscriber_id: uuid.UUID
    unsubscribed_on: Day


class NewsletterSent(EventData):
    NAME = "newsletter.sent"
    TOPIC = topics.COMMUNICATIONS_EVENTS
    KEY_FIELD = "issue_id"
    issue_id: uuid.UUID
    title: Text
    sent_at: Timestamp
    recipients: Count


class ArticlePublished(EventData):
    NAME = "article.published"
    TOPIC = topics.COMMUNICATIONS_EVENTS
    KEY_FIELD = "article_id"
    article_id: uuid.UUID
    title: Text
    magazine: Text
    published_on: Day
    url: Url | None = None


class GoodPracticePublished(EventData):
    NAME = "good_practice.published"
    TOPIC = topics.COMMUNICATIONS_EVENTS
    KEY_FIELD = "practice_id"
    practice_id: uuid.UUID
    title: Text
    organisation_id: uuid.UUID | None = None
    published_on: Day
    url: Url


CATALOGUE: dict[str, type[EventData]] = {
    model.type_name(): model
    for model in (
        OrganisationRegistered,
        OrganisationUpdated,
        MemberJoined,
        MemberMoved,
        MemberLeft,
        MemberErased,
        KnowledgeSharingJoined,
        KnowledgeSharingLeft,
        SessionScheduled,
        SessionRescheduled,
        SessionCancelled,
        RegistrationReceived,
        RegistrationCancelled,
        AttendanceRecorded,
        SessionHeld,
        RecordingPublished,
        AdviceGiven,
        SupportTrajectoryStarted,
        SupportTrajectoryCompleted,
        FeedbackRequested,
        FeedbackReceived,
        SurveyOpened,
        SurveyClosed,
        NewsletterSubscribed,
        NewsletterUnsubscribed,
        NewsletterSent,
        ArticlePublished,
        GoodPracticePublished,
    )
}


# --- envelope ------------------------------------------------------------------------------------


class Envelope(BaseModel):
    """CloudEvents 1.0 structured mode. Unknown extension attributes are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1, max_length=200)]
    source: Annotated[str, Field(min_length=1)]
    type: Annotated[str, Field(min_length=1)]
    subject: str | None = None
    time: Timestamp
    datacontenttype: str = "application/json"
    correlationid: str | None = None
    causationid: str | None = None
    actor: str | None = None  # subject of the token that caused the change (audit trail)
    data: dict[str, Any]


class Event(BaseModel):
    """A validated envelope with its typed payload."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    envelope: Envelope
    data: EventData

    @property
    def id(self) -> str:
        return self.envelope.id

    @property
    def time(self) -> datetime:
        return self.envelope.time


class InvalidEvent(ValueError):
    """A record that does not honour the contract; the reason goes into the dead-letter headers."""


def new_envelope(
    data: EventData,
    *,
    source: str,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    actor: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": data.type_name(),
        "subject": data.key(),
        "time": (time or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "correlationid": correlation_id or str(uuid.uuid4()),
        "data": data.model_dump(mode="json"),
    }
    if causation_id:
        envelope["causationid"] = causation_id
    if actor:
        envelope["actor"] = actor
    return envelope


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def decode(value: bytes | None) -> Event:
    """Parse and validate one record value; raise InvalidEvent with a readable reason."""
    if value is None:
        raise InvalidEvent("empty record value")
    try:
        raw = json.loads(value)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise InvalidEvent("not a JSON object")
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        raise InvalidEvent(f"bad envelope: {_summary(exc)}") from None
    model = CATALOGUE.get(envelope.type)
    if model is None:
        raise InvalidEvent(f"unknown event type {envelope.type!r}")
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        raise InvalidEvent(f"bad data for {model.NAME}: {_summary(exc)}") from None
    return Event(envelope=envelope, data=data)


def _summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
