"""Right of access: everything the events service holds on one person, for staff. The person is
named here by member id only; registrations and attendance come with the session they are for."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from sqlmodel import col

from services.events.reminders_tables import FeedbackRequest, MemberAddress
from services.events.tables import (
    ActivitySession,
    AttendanceDay,
    ContactDigest,
    KnownMember,
    KnownOrganisation,
    PublicSignup,
    Registration,
)
from services.events.web import Staff
from shared.web import SessionDep

router = APIRouter()


@router.get("/people/{member_id}", tags=["privacy"])
def personal_data(member_id: uuid.UUID, db: SessionDep, _who: Staff) -> dict[str, Any]:
    """What this service holds on the person: its copy of the member (organisation and status),
    whether it keeps a digest of the e-mail address, the address and first name it mails the reminders
    and session changes to (from members.contacts), the sign-ups on the public agenda recognised as the
    member, the feedback requests it may remind them of, and every registration with its attendance.
    A person this service never heard of gets an empty answer, not a 404."""
    member = db.get(KnownMember, member_id)
    organisation = (
        db.get(KnownOrganisation, member.organisation_id)
        if member is not None and member.organisation_id is not None
        else None
    )
    rows = db.execute(
        select(Registration, ActivitySession)
        .join(ActivitySession, col(ActivitySession.id) == col(Registration.session_id))
        .where(col(Registration.member_id) == member_id)
        .order_by(col(ActivitySession.starts_at), col(Registration.registered_at), col(Registration.id))
    ).all()
    days: dict[uuid.UUID, list[dict[str, Any]]] = {}
    if rows:
        for day in db.execute(
            select(AttendanceDay)
            .where(col(AttendanceDay.registration_id).in_([r.id for r, _ in rows]))
            .order_by(col(AttendanceDay.day))
        ).scalars():
            days.setdefault(day.registration_id, []).append(
                {
                    "day": day.day.isoformat(),
                    "attended": day.attended,
                    "hours": day.hours,
                    "recorded_at": day.recorded_at.isoformat(),
                    "recorded_by": day.recorded_by,
                }
            )
    return {
        "service": "events",
        "member_id": str(member_id),
        "member": None
        if member is None
        else {
            "organisation_id": str(member.organisation_id) if member.organisation_id else None,
            "organisation_name": organisation.name if organisation else None,
            "organisation_kind": organisation.kind if organisation else None,
            "status": member.status,
            "status_on": member.status_on.isoformat() if member.status_on else None,
        },
        "email_digest_held": db.get(ContactDigest, member_id) is not None,
        # where the mails around a session go (reminders.py): gone with a tombstone or member.erased
        "address_held": None
        if (address := db.get(MemberAddress, member_id)) is None
        else {"email": address.email, "first_name": address.first_name},
        "feedback_requests": [
            {
                "request_id": str(request.request_id),
                "session_id": str(request.session_id),
                "requested_at": request.requested_at.isoformat() if request.requested_at else None,
                "answered": request.answered,
            }
            for request in db.execute(
                select(FeedbackRequest)
                .where(col(FeedbackRequest.member_id) == member_id)
                .order_by(col(FeedbackRequest.requested_at), col(FeedbackRequest.request_id))
            ).scalars()
        ],
        # sign-ups on the public agenda recognised as this member: the address's digest, no address
        "public_signups": [
            {
                "registration_id": str(row.registration_id),
                "session_id": str(row.session_id),
                "email_digest_held": True,
                "signed_up_at": row.created_at.isoformat(),
            }
            for row in db.execute(
                select(PublicSignup)
                .where(col(PublicSignup.member_id) == member_id)
                .order_by(col(PublicSignup.created_at))
            ).scalars()
        ],
        "registrations": [
            {
                "registration_id": str(registration.id),
                "session": {
                    "id": str(activity.id),
                    "kind": activity.kind,
                    "title": activity.title,
                    "starts_at": activity.starts_at.isoformat(),
                    "ends_at": activity.ends_at.isoformat(),
                    "status": activity.status,
                    "held_on": activity.held_on.isoformat() if activity.held_on else None,
                },
                "status": registration.status,
                "waitlisted": registration.waitlisted,
                "organisation_kind": registration.organisation_kind,
                "attended": registration.attended,
                "hours": registration.hours,
                "attendance": days.get(registration.id, []),
                "registered_at": registration.registered_at.isoformat(),
                "registered_by": registration.registered_by,
                "cancelled_at": registration.cancelled_at.isoformat() if registration.cancelled_at else None,
            }
            for registration, activity in rows
        ],
    }
