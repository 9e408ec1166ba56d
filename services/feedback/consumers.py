"""How the feedback service reacts to others: it keeps its own copy of sessions, registrations,
attendance, trajectories, organisations and members, and asks for feedback once a session is held;
from the tools catalogue (communications.events) it keeps each tool's id and title, and whether it was
retired, so that a user survey can ask about a tool.

Records from different topics and partitions come in any order, so a request is made by whichever
event completes the picture: the session held, its kind known, the registration's member known and
not erased (see erasure.py), and its latest attendance "attended". Request ids derive from subject
and participant, so a redelivered or replayed event finds the request already there and publishes
nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from aiokafka.structs import ConsumerRecord
from sqlalchemy import select
from sqlmodel import Session, col

from services.feedback import domain, erasure
from services.feedback.tables import (
    FbMember,
    FbOrganisation,
    FbRegistration,
    FbRequest,
    FbSession,
    FbTool,
    FbTrajectory,
)
from shared import events
from shared.outbox import Outbox

CONSUMER = "feedback-reactor"


def _utc(moment: datetime) -> datetime:
    """SQLite hands timestamps back without their offset; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class Reactor:
    """The handler of the feedback service's tracked consumer (runs inside the batch transaction)."""

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    def handle(
        self, session: Session, event: events.Event, _record: ConsumerRecord[bytes, bytes] | None = None
    ) -> None:
        data = event.data
        if isinstance(data, events.SessionScheduled):
            row = self._session(session, data.session_id)
            row.kind, row.title, row.starts_at = data.kind, data.title, data.starts_at
            session.add(row)
            self._ask_session(session, row, event)
        elif isinstance(data, events.SessionRescheduled):
            row = self._session(session, data.session_id)
            row.starts_at = data.starts_at
            session.add(row)
        elif isinstance(data, events.SessionHeld):
            row = self._session(session, data.session_id)
            if row.held_on is None:  # held once; a republished session.held changes nothing
                row.held_on, row.held_event_id = data.held_on, event.id
                session.add(row)
            self._ask_session(session, row, event)
        elif isinstance(data, events.RegistrationReceived):
            registration = self._registration(session, data.registration_id, data.session_id)
            registration.member_id, registration.received = data.member_id, True
            session.add(registration)
            self._ask_registration(session, registration, event)
        elif isinstance(data, events.RegistrationCancelled):
            registration = self._registration(session, data.registration_id, data.session_id)
            registration.cancelled = True
            session.add(registration)
        elif isinstance(data, events.AttendanceRecorded):
            registration = self._registration(session, data.registration_id, data.session_id)
            latest = registration.attendance_time
            if latest is None or _utc(event.time) >= _utc(latest):
                registration.attended = data.attended
                registration.attendance_time = event.time
                registration.attendance_event_id = event.id
                session.add(registration)
            self._ask_registration(session, registration, event)
        elif isinstance(data, events.SupportTrajectoryStarted):
            trajectory = self._trajectory(session, data.trajectory_id)
            trajectory.organisation_id = data.organisation_id
            session.add(trajectory)
            self._backfill_trajectory_organisation(session, trajectory)
        elif isinstance(data, events.SupportTrajectoryCompleted):
            trajectory = self._trajectory(session, data.trajectory_id)
            trajectory.completed_on = data.completed_on
            session.add(trajectory)
            self._ask_trajectory(session, trajectory, event)
        elif isinstance(data, events.OrganisationRegistered | events.OrganisationUpdated):
            self._organisation(session, data.organisation_id, data.kind, event.time)
        elif isinstance(data, events.MemberJoined):
            self._member(session, data.member_id, data.joined_on, event.time, data.organisation_id, True)
        elif isinstance(data, events.MemberMoved):
            self._member(session, data.member_id, data.moved_on, event.time, data.to_organisation_id, None)
        elif isinstance(data, events.MemberLeft):
            self._member(session, data.member_id, data.left_on, event.time, data.organisation_id, False)
        elif isinstance(data, events.MemberErased):
            member = session.get(FbMember, data.member_id)
            if member is None:
                member = FbMember(member_id=data.member_id, fact_on=data.erased_on, fact_time=event.time)
            member.erased, member.active = True, False
            session.add(member)
            session.flush()
            erasure.erase_member(session, data.member_id)
        elif isinstance(data, events.ToolPublished | events.ToolUpdated):
            tool = session.get(FbTool, data.tool_id) or FbTool(tool_id=data.tool_id)
            if tool.title_time is None or _utc(event.time) >= _utc(tool.title_time):
                tool.title, tool.title_time = data.title, event.time
            tool.published = True
            session.add(tool)
        elif isinstance(data, events.ToolRetired):
            tool = session.get(FbTool, data.tool_id) or FbTool(tool_id=data.tool_id)
            tool.retired_on = data.retired_on
            session.add(tool)
        # every other event type on these topics is not this service's business

    # --- copies ---------------------------------------------------------------------------------

    @staticmethod
    def _session(session: Session, session_id: uuid.UUID) -> FbSession:
        row = session.get(FbSession, session_id)
        if row is None:
            row = FbSession(session_id=session_id)
            session.add(row)
            session.flush()
        return row

    @staticmethod
    def _registration(session: Session, registration_id: uuid.UUID, session_id: uuid.UUID) -> FbRegistration:
        row = session.get(FbRegistration, registration_id)
        if row is None:
            row = FbRegistration(registration_id=registration_id, session_id=session_id)
            session.add(row)
            session.flush()
        return row

    @staticmethod
    def _trajectory(session: Session, trajectory_id: uuid.UUID) -> FbTrajectory:
        row = session.get(FbTrajectory, trajectory_id)
        if row is None:
            row = FbTrajectory(trajectory_id=trajectory_id)
            session.add(row)
            session.flush()
        return row

    @staticmethod
    def _organisation(session: Session, organisation_id: uuid.UUID, kind: str, time: datetime) -> None:
        row = session.get(FbOrganisation, organisation_id)
        if row is None:
            session.add(FbOrganisation(organisation_id=organisation_id, kind=kind, version_time=time))
            session.flush()
        elif _utc(time) >= _utc(row.version_time):
            row.kind, row.version_time = kind, time
            session.add(row)

    @staticmethod
    def _member(
        session: Session,
        member_id: uuid.UUID,
        on: date,
        time: datetime,
        organisation_id: uuid.UUID,
        active: bool | None,
    ) -> None:
        row = session.get(FbMember, member_id)
        if row is None:
            row = FbMember(
                member_id=member_id,
                organisation_id=organisation_id,
                active=bool(active) if active is not None else True,
                fact_on=on,
                fact_time=time,
            )
            session.add(row)
            session.flush()
            return
        if row.erased or (on, _utc(time)) < (row.fact_on, _utc(row.fact_time)):
            return
        row.organisation_id, row.fact_on, row.fact_time = organisation_id, on, time
        if active is not None:
            row.active = active
        session.add(row)

    # --- asking ---------------------------------------------------------------------------------

    def _ask_session(self, session: Session, row: FbSession, cause: events.Event) -> None:
        if row.held_on is None or not domain.session_is_asked(row.kind):
            return
        registrations = list(
            session.execute(
                select(FbRegistration).where(col(FbRegistration.session_id) == row.session_id)
            ).scalars()
        )
        for registration in registrations:
            self._request_for(session, row, registration, cause)

    def _ask_registration(self, session: Session, registration: FbRegistration, cause: events.Event) -> None:
        row = session.get(FbSession, registration.session_id)
        if row is None or row.held_on is None or not domain.session_is_asked(row.kind):
            return
        self._request_for(session, row, registration, cause)

    def _request_for(
        self, session: Session, row: FbSession, registration: FbRegistration, cause: events.Event
    ) -> None:
        if not domain.registration_is_asked(
            registration.member_id, registration.cancelled, registration.attended
        ):
            return
        if erasure.is_erased(session, registration.member_id):  # nobody can reach an erased person
            return
        self._request(
            session,
            subject_type="session",
            subject_id=row.session_id,
            participant_key=str(registration.registration_id),
            member_id=registration.member_id,
            registration_id=registration.registration_id,
            cause=cause,
            causation_id=row.held_event_id or cause.id,
        )

    def _ask_trajectory(self, session: Session, trajectory: FbTrajectory, cause: events.Event) -> None:
        self._request(
            session,
            subject_type="support_trajectory",
            subject_id=trajectory.trajectory_id,
            participant_key="organisation",
            organisation_id=trajectory.organisation_id,
            cause=cause,
            causation_id=cause.id,
        )

    @staticmethod
    def _backfill_trajectory_organisation(session: Session, trajectory: FbTrajectory) -> None:
        rid = domain.request_id("support_trajectory", trajectory.trajectory_id, "organisation")
        request = session.get(FbRequest, rid)
        if request is not None and request.organisation_id is None:
            request.organisation_id = trajectory.organisation_id
            session.add(request)

    def _request(
        self,
        session: Session,
        *,
        subject_type: domain.SubjectType,
        subject_id: uuid.UUID,
        participant_key: str,
        cause: events.Event,
        causation_id: str,
        member_id: uuid.UUID | None = None,
        registration_id: uuid.UUID | None = None,
        organisation_id: uuid.UUID | None = None,
    ) -> None:
        rid = domain.request_id(subject_type, subject_id, participant_key)
        if session.get(FbRequest, rid) is not None:
            return
        # the request dates from the event that completed the picture: a replay of old history
        # makes links that have long expired and events the mailer treats as old
        requested_at = cause.time
        request = FbRequest(
            id=rid,
            subject_type=subject_type,
            subject_id=subject_id,
            participant_key=participant_key,
            member_id=member_id,
            registration_id=registration_id,
            organisation_id=organisation_id,
            requested_at=requested_at,
            requested_on=domain.business_date(requested_at),
        )
        session.add(request)
        session.flush()
        self.outbox.add(
            session,
            events.FeedbackRequested(
                request_id=rid,
                subject_type=subject_type,
                subject_id=subject_id,
                member_id=member_id,
                requested_on=request.requested_on,
            ),
            causation_id=causation_id,
            correlation_id=cause.envelope.correlationid,
            time=requested_at,
        )
