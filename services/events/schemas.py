"""What the events service's HTTP API takes and answers (JSON shapes; English field names).

Free text is refused when it holds control characters (a 422 naming the field): titles and other
one-line texts also refuse line breaks, since they end up in mail subjects and spreadsheet cells;
dates and moments a caller gives must lie in the programme's plausible years."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared import events
from shared.text import BusinessDate, Line, Lines, SafeUrl, multi_line, plausible_date, single_line

T = TypeVar("T")


def _plausible_moment(value: datetime) -> datetime:
    plausible_date(value.date())
    return value


Title = Line
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000), AfterValidator(multi_line)
]
Hours = Annotated[float, Field(ge=0, le=10_000, allow_inf_nan=False)]
PlannedHours = Annotated[float, Field(gt=0, le=10_000, allow_inf_nan=False)]
Url = SafeUrl
Moment = Annotated[datetime, AfterValidator(_plausible_moment)]


WHO = "the staff member who did it; shown to staff and admin only (null for other roles)"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# What session.scheduled/rescheduled v2 add (shared.events): where, the link to join, a short description
# and until when one can register. Stored on the session too: the public agenda (public.py) shows them.
Location = Annotated[events.Location, AfterValidator(single_line)]
ShortDescription = Annotated[events.ShortText, AfterValidator(multi_line)]


class SessionPractical(Strict):
    location: Location | None = Field(
        default=None, description=f'the address of the venue, or "{events.ONLINE}"; none: not known yet'
    )
    online_link: Url | None = Field(default=None, description="where to join online (http or https)")
    description: ShortDescription | None = Field(default=None, description="a few lines for the sign-up page")
    registration_deadline: Moment | None = Field(
        default=None, description="registration closes then (RFC 3339); none: when the session starts"
    )


class SessionCreate(SessionPractical):
    kind: events.SessionKind
    title: Title
    theme: Title
    lead: events.Lead
    format: events.SessionFormat
    starts_at: Moment = Field(description="RFC 3339; without an offset it is read as Brussels time")
    ends_at: Moment
    planned_hours: PlannedHours | None = Field(
        default=None, description="defaults to the time between start and end (required over several days)"
    )
    capacity: Annotated[int, Field(ge=1, le=100_000)] | None = Field(
        default=None, description="none: no limit"
    )
    requested_by_organisation_id: uuid.UUID | None = Field(
        default=None, description="the organisation that asked for it (required for the on-request kinds)"
    )


class SessionReschedule(SessionPractical):
    """The new times; the practical fields left out stay as they were."""

    starts_at: Moment
    ends_at: Moment
    planned_hours: PlannedHours | None = Field(
        default=None, description="defaults to the current planned hours"
    )


# why a session was cancelled: staff-written free text, so it may name a person ("de spreker is ziek")
CancelReason = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(multi_line)
]


class SessionCancel(Strict):
    cancelled_on: BusinessDate | None = Field(default=None, description="defaults to today")
    reason: CancelReason | None = Field(
        default=None,
        description="why, for staff (an empty text is no reason); kept with the session, never published "
        "on the session.cancelled event nor shown on the public agenda",
    )


class SessionHold(Strict):
    held_on: BusinessDate | None = Field(
        default=None, description="defaults to the session's last day (or today)"
    )


class RecordingCreate(Strict):
    url: Url


class SessionRead(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    theme: str
    lead: str
    format: str
    starts_at: datetime
    ends_at: datetime
    planned_hours: float
    capacity: int | None
    requested_by_organisation_id: uuid.UUID | None
    status: str
    cancelled_on: date | None
    held_on: date | None
    recording_url: str | None
    location: str | None = Field(
        description=f'the venue\'s address or "{events.ONLINE}"; none: not known yet'
    )
    online_link: str | None
    description: str | None
    registration_deadline: datetime | None = Field(description="none: registration open until the start")
    cancel_reason: str | None = Field(description="why it was cancelled; shown to staff and admin only")
    registered: int = Field(description="registrations with a seat")
    waitlisted: int
    participants: int = Field(description="registrations that attended")
    participant_hours: float
    updated_at: datetime
    updated_by: str | None = Field(description=WHO)


class RegistrationCreate(Strict):
    member_id: uuid.UUID | None = Field(default=None, description="a member of the network")
    organisation_id: uuid.UUID | None = Field(
        default=None, description="an outside participant's organisation"
    )
    organisation_kind: events.OrganisationKind | None = Field(
        default=None,
        description="an outside participant's organisation kind; for a member only used while this service "
        "does not know the member yet",
    )


class AttendanceDayRead(BaseModel):
    day: date
    attended: bool
    hours: float


class RegistrationRead(BaseModel):
    id: uuid.UUID
    session_id: uuid.UUID
    member_id: uuid.UUID | None
    organisation_id: uuid.UUID | None
    organisation_kind: str
    organisation_known: bool
    waitlisted: bool
    status: str
    attended: bool
    hours: float
    days: list[AttendanceDayRead]
    registered_at: datetime
    cancelled_at: datetime | None


class RegistrationCancelled(BaseModel):
    cancelled: RegistrationRead
    promoted: list[RegistrationRead] = Field(description="taken from the waiting list into the freed seat")


class AttendanceUpdate(Strict):
    attended: bool
    hours: Hours | None = Field(
        default=None,
        description="hours actually attended; defaults to the planned hours of a one-day session",
    )
    day: BusinessDate | None = Field(default=None, description="required for a session over several days")


class ImportRow(BaseModel):
    line: int | None
    member: str | None
    status: Literal["ok", "error"]
    field: str | None = None
    message: str | None = None
    registration_id: uuid.UUID | None = None


class ImportReport(BaseModel):
    applied: bool
    detail: str
    registrations: int = Field(description="registrations whose attendance was recorded")
    rows: list[ImportRow]


class AdviceCreate(Strict):
    organisation_id: uuid.UUID
    given_on: BusinessDate | None = Field(default=None, description="defaults to today")
    topic: Title
    channel: events.AdviceChannel
    with_mediawijs: bool = False


class AdviceRead(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    given_on: date
    topic: str
    channel: str
    with_mediawijs: bool
    created_by: str | None = Field(description=WHO)


class TrajectoryStart(Strict):
    organisation_id: uuid.UUID
    started_on: BusinessDate | None = Field(default=None, description="defaults to today")
    stage: events.Stage
    methodology: Title
    description: LongText


class TrajectoryComplete(Strict):
    completed_on: BusinessDate | None = Field(default=None, description="defaults to today")
    summary: Lines = ""


class TrajectoryRead(BaseModel):
    id: uuid.UUID
    organisation_id: uuid.UUID
    started_on: date
    stage: str
    methodology: str
    description: str
    completed_on: date | None
    summary: str | None
    updated_at: datetime
    updated_by: str | None = Field(description=WHO)
