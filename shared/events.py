"""The CloudEvents 1.0 envelope and the event catalogue (every type, every version): the public
contract of every domain topic, and the upcasters that turn an older version into the newest.

Readers ignore unknown fields (forward compatible) and refuse a record that misses a required field,
carries a value out of range, or names a type the catalogue does not know. `decode` validates a record
against the version it was written in, then upcasts it step by step (v1 → v2 → …) so that consumers
only ever see the newest version; producers write the newest version. docs/EVENTS.md is the guide.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    create_model,
)

from shared import topics
from shared.ids import new_id

TYPE_PREFIX = "be.vvsg.digitaleinclusie."
CONTENT_TYPE = "application/cloudevents+json"
# Identifiers of the published JSON Schemas (docs/schemas/, tools/schemas.py): names, never fetched.
SCHEMA_BASE = "https://schemas.vvsg.be/digitaleinclusie/"

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

_CONTACT = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")


def _no_contact_details(value: str) -> str:
    # staff-written text travels on topics that are kept forever: an e-mail address has no place there
    if _CONTACT.search(value):
        raise ValueError("must not contain an e-mail address")
    return value


# "online" or the address of a venue (a place, never a person's home)
ONLINE = "online"
Location = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(_no_contact_details)]
ShortText = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_no_contact_details)]

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

    @classmethod
    def schema_id(cls) -> str:
        """The `$id` of this version's published JSON Schema, and every record's `dataschema`."""
        return f"{SCHEMA_BASE}{cls.NAME}/v{cls.VERSION}.json"

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


class SessionScheduledV1(EventData):
    """v1: still readable forever (upcast to v2 by `decode`), no longer produced."""

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


class SessionRescheduledV1(EventData):
    """v1: still readable forever (upcast to v2 by `decode`), no longer produced."""

    NAME = "session.rescheduled"
    TOPIC = topics.ACTIVITIES_EVENTS
    KEY_FIELD = "session_id"
    session_id: uuid.UUID
    starts_at: Timestamp
    ends_at: Timestamp
    planned_hours: Hours


class SessionScheduled(SessionScheduledV1):
    """v2: v1 plus where it happens, the link to join online, a short description and until when one
    can register. Upcast from v1: `location` is "online" for an online session and null otherwise
    (unknown), the other three are null (no link known, no description, registration open until the
    session starts)."""

    VERSION = 2
    location: Location | None = None
    online_link: Url | None = None
    description: ShortText | None = None
    registration_deadline: Timestamp | None = None


class SessionRescheduled(SessionRescheduledV1):
    """v2: v1 plus the same four fields as session.scheduled v2; null means "unchanged" (and is what
    an upcast v1 record carries: a v1 rescheduling only moved the time)."""

    VERSION = 2
    location: Location | None = None
    online_link: Url | None = None
    description: ShortText | None = None
    registration_deadline: Timestamp | None = None


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


# --- communications.events: the tools and handbooks catalogue (OD 3.1) ---------------------------

# who made a tool or handbook: VVSG, Mediawijs, the two together, or another organisation
ToolMaker = Literal["vvsg", "mediawijs", "together", "other"]
# what a tool helps with: a few lines for the catalogue page, written by staff (no contact details)
ToolSummary = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_no_contact_details)]
ToolVersion = Annotated[str, Field(min_length=1, max_length=50)]


class ToolPublished(EventData):
    """A tool or handbook entered the catalogue (VVSG developed or disclosed it) on `published_on`,
    which decides the KPI year. No personal data: who made it is an organisation, never a person."""

    NAME = "tool.published"
    TOPIC = topics.COMMUNICATIONS_EVENTS
    KEY_FIELD = "tool_id"
    tool_id: uuid.UUID
    title: ShortText
    summary: ToolSummary
    audience: ShortText
    made_by: ToolMaker
    url: Url
    version: ToolVersion
    last_reviewed_on: Day
    next_review_on: Day
    published_on: Day


class ToolUpdated(EventData):
    """The catalogue entry as it stands from `updated_on` on: every field again (the latest per tool
    wins), so a reader needs no earlier record to show it."""

    NAME = "tool.updated"
    TOPIC = topics.COMMUNICATIONS_EVENTS
    KEY_FIELD = "tool_id"
    tool_id: uuid.UUID
    title: ShortText
    summary: ToolSummary
    audience: ShortText
    made_by: ToolMaker
    url: Url
    version: ToolVersion
    last_reviewed_on: Day
    next_review_on: Day
    updated_on: Day


class ToolRetired(EventData):
    """The tool left the catalogue on `retired_on`: no longer shown, nor asked about in a survey."""

    NAME = "tool.retired"
    TOPIC = topics.COMMUNICATIONS_EVENTS
    KEY_FIELD = "tool_id"
    tool_id: uuid.UUID
    retired_on: Day


# Every version of every type, by its `type` attribute; older versions come before newer ones.
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
        SessionScheduledV1,
        SessionScheduled,
        SessionRescheduledV1,
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
        ToolPublished,
        ToolUpdated,
        ToolRetired,
    )
}
VERSIONS: dict[tuple[str, int], type[EventData]] = {(m.NAME, m.VERSION): m for m in CATALOGUE.values()}
# The newest version of every event: what producers write and what consumers receive.
LATEST: dict[str, type[EventData]] = {
    name: max((m for (n, _v), m in VERSIONS.items() if n == name), key=lambda m: m.VERSION)
    for name, _version in VERSIONS
}


# --- upcasting -----------------------------------------------------------------------------------

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
# (event name, version) -> the function turning that version's data (JSON form) into the next version's
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcaster(name: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Registers the step from `from_version` to `from_version + 1` of event `name`."""

    def register(function: Upcaster) -> Upcaster:
        if (name, from_version) in UPCASTERS:
            raise ValueError(f"{name} v{from_version} already has an upcaster")
        UPCASTERS[(name, from_version)] = function
        return function

    return register


@upcaster("session.scheduled", 1)
def _session_scheduled_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    location = ONLINE if data.get("format") == "online" else None
    return {
        **data,
        "location": location,
        "online_link": None,
        "description": None,
        "registration_deadline": None,
    }


@upcaster("session.rescheduled", 1)
def _session_rescheduled_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "location": None, "online_link": None, "description": None, "registration_deadline": None}


def upcast(data: EventData) -> EventData:
    """The same fact in the newest version of its type, one registered step at a time."""
    while data.VERSION < LATEST[data.NAME].VERSION:
        step = UPCASTERS[(data.NAME, data.VERSION)]
        newer = VERSIONS[(data.NAME, data.VERSION + 1)]
        data = newer.model_validate(step(data.model_dump(mode="json")))
    return data


def _check_upcasters() -> None:
    # every version but the newest needs its step up, or decode would hand a consumer an old version
    for (name, version), _model in VERSIONS.items():
        if version < LATEST[name].VERSION and (name, version) not in UPCASTERS:
            raise RuntimeError(f"{name} v{version} has no upcaster to v{version + 1}")
        if version > 1 and (name, version - 1) not in VERSIONS:
            raise RuntimeError(f"{name} v{version} has no v{version - 1}")


_check_upcasters()


# --- envelope ------------------------------------------------------------------------------------


class Envelope(BaseModel):
    """CloudEvents 1.0 structured mode: the context attributes of a record. Unknown extension attributes
    are ignored. What `data` is checked against depends on `type`: see `decode`."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    specversion: Literal["1.0"]
    id: Annotated[str, Field(min_length=1, max_length=200)]
    source: Annotated[str, Field(min_length=1)]
    type: Annotated[str, Field(min_length=1)]
    subject: str | None = None
    time: Timestamp
    datacontenttype: str = "application/json"
    dataschema: str | None = None  # the `$id` of the JSON Schema of `data` (docs/schemas/)
    correlationid: str | None = None
    causationid: str | None = None
    actor: str | None = None  # pseudonymous staff id of who caused the change (shared.staff), or a service


class _AnyData(Envelope):
    """The attributes with `data` as any JSON object: what `decode` checks a refused record against, to
    say which part is wrong."""

    data: dict[str, Any]


def _typed_envelope(model: type[EventData]) -> type[Envelope]:
    """The envelope of one type and version, `data` that version's model."""
    tag: Any = Literal[model.type_name()]  # one literal per type: the union's discriminator
    return create_model(
        f"{model.__name__}V{model.VERSION}Envelope", __base__=Envelope, type=(tag, ...), data=(model, ...)
    )


# Made at import and kept in this module under their names: pickle finds a decoded event's envelope
# class by its module and name, in any process.
_TYPED: tuple[type[Envelope], ...] = tuple(_typed_envelope(model) for model in CATALOGUE.values())
globals().update({typed.__name__: typed for typed in _TYPED})


@cache
def _reader() -> TypeAdapter[Envelope]:
    """Every type and version's envelope in one union, told apart by `type`: one validation of the
    record's bytes reads the attributes and the typed `data` (no dictionary of `data` built to be
    thrown away, no second pass). Built on first use."""
    union: Any = Annotated[Union[_TYPED], Field(discriminator="type")]  # noqa: UP007 - a runtime tuple
    return TypeAdapter(union)


class Event(BaseModel):
    """A validated envelope with its typed payload, upcast to the newest version of its type (the
    envelope's `type` still says which version was written)."""

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
        "id": str(new_id()),
        "source": source,
        "type": data.type_name(),
        "subject": data.key(),
        "time": (time or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
        "dataschema": data.schema_id(),
        "correlationid": correlation_id or str(new_id()),
        "data": data.model_dump(mode="json"),
    }
    if causation_id:
        envelope["causationid"] = causation_id
    if actor:
        envelope["actor"] = actor
    return envelope


# The compacted contacts topic is not a domain topic: its value is the plain contact record (or null,
# a tombstone, which compaction needs), so its records are CloudEvents in Kafka *binary* mode: every
# required attribute a `ce_` header, the value the data itself. Domain topics use structured mode.
CONTACT_DETAILS_TYPE = f"{TYPE_PREFIX}contact_details.v1"


def binary_mode_headers(
    *,
    type_: str,
    source: str,
    subject: str,
    time: datetime | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers of a Kafka binary-mode CloudEvent (CloudEvents Kafka protocol binding, section 3.2)."""
    return {
        "content-type": content_type,
        "ce_specversion": "1.0",
        "ce_id": str(new_id()),
        "ce_source": source,
        "ce_type": type_,
        "ce_subject": subject,
        "ce_time": (time or datetime.now(UTC)).astimezone(UTC).isoformat().replace("+00:00", "Z"),
    }


def encode(envelope: dict[str, Any]) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def decode(value: bytes | None) -> Event:
    """Parse and validate one record value; raise InvalidEvent with a readable reason.

    A valid record is read in one pass over its bytes: pydantic's JSON parser validates the attributes
    and `data` against the model of the record's type and version together (`_reader`). Only a record
    refused there is read again, attributes first and `data` after (`_why_refused`), to say which part
    is wrong; the two readings apply the same models, so they accept the same records."""
    if value is None:
        raise InvalidEvent("empty record value")
    try:
        envelope = _reader().validate_json(value)
    except ValidationError:
        return _why_refused(value)
    written: EventData = envelope.data  # type: ignore[attr-defined]  # every typed envelope has it
    return _event(envelope, upcast(written))


_set = object.__setattr__  # an Event is frozen: its own __setattr__ refuses


def _event(envelope: Envelope, data: EventData) -> Event:
    """`Event.model_construct(envelope=envelope, data=data)` without its walk over the fields' aliases
    and defaults, which took a quarter of a decode: an Event has two required fields, no alias, no
    default, no extra and no private attribute. tests/contract/test_catalogue.py checks it gives what
    `model_construct` gives."""
    event = Event.__new__(Event)
    _set(event, "__dict__", {"envelope": envelope, "data": data})
    _set(event, "__pydantic_fields_set__", {"envelope", "data"})
    _set(event, "__pydantic_extra__", None)
    _set(event, "__pydantic_private__", None)
    return event


def _why_refused(value: bytes) -> Event:
    """The reason a record is refused, checked in the order a reader would: JSON, the attributes, the
    type, then `data` against the version it was written in. Raises InvalidEvent; returns the event if
    this reading accepts what the one-pass reading refused (it never should: see `decode`)."""
    try:
        envelope = _AnyData.model_validate_json(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise InvalidEvent(f"not JSON: {first['msg']}") from None
        if first["type"] == "model_type" and not first["loc"]:
            raise InvalidEvent("not a JSON object") from None
        raise InvalidEvent(f"bad envelope: {_summary(exc)}") from None
    model = CATALOGUE.get(envelope.type)
    if model is None:
        raise InvalidEvent(f"unknown event type {envelope.type!r}")
    try:
        # checked against the version it was written in first, so a bad v1 record is refused as v1
        data = upcast(model.model_validate(envelope.data))
    except ValidationError as exc:
        raise InvalidEvent(f"bad data for {model.NAME} v{model.VERSION}: {_summary(exc)}") from None
    return Event(envelope=envelope, data=data)


def _summary(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "value"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)
