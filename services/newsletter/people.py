"""Right of access: everything the newsletter service holds on one person, for staff — the contact
details from the members service, the person's subscriptions (linked to the member, or on the
public page with the same address), and every mail sent or queued for the person: newsletter issues
and service mails (registration confirmations, feedback invitations)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlalchemy import or_, select
from sqlmodel import col

from services.newsletter import subscriptions
from services.newsletter.tables import (
    Bounce,
    Contact,
    Delivery,
    ErasedMember,
    Issue,
    ServiceMail,
    Subject,
)
from shared.auth import STAFF, Principal, require
from shared.web import SessionDep

Staff = Annotated[Principal, Depends(require(*STAFF))]
router = APIRouter()


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@router.get("/people/{member_id}", tags=["privacy"])
def personal_data(member_id: uuid.UUID, session: SessionDep, _who: Staff) -> dict[str, Any]:
    """What this service holds on the person. A person it never heard of gets an empty answer."""
    contact = session.get(Contact, member_id)
    found = [subscriptions.by_member(session, member_id)]
    if contact is not None:
        found.append(subscriptions.by_email(session, contact.email))
    subscribers = list({s.id: s for s in found if s is not None}.values())
    subscriber_ids = [s.id for s in subscribers]
    erased = session.get(ErasedMember, member_id)

    deliveries = (
        session.execute(
            select(Delivery, Issue)
            .join(Issue, col(Issue.id) == col(Delivery.issue_id))
            .where(col(Delivery.subscriber_id).in_(subscriber_ids))
            .order_by(col(Delivery.queued_at), col(Delivery.id))
        ).all()
        if subscriber_ids
        else []
    )
    service_mails = list(
        session.execute(
            select(ServiceMail)
            .where(
                or_(
                    col(ServiceMail.member_id) == member_id,
                    col(ServiceMail.subscriber_id).in_(subscriber_ids),
                )
            )
            .order_by(col(ServiceMail.created_at))
        ).scalars()
    )
    subjects = {
        s.id: s
        for s in session.execute(
            select(Subject).where(col(Subject.id).in_([m.subject_id for m in service_mails if m.subject_id]))
        ).scalars()
    }
    return {
        "service": "newsletter",
        "member_id": str(member_id),
        "erased_at": _iso(erased.erased_at) if erased else None,
        "contact": None
        if contact is None
        else {
            "first_name": contact.first_name,
            "last_name": contact.last_name,
            "email": contact.email,
            "organisation_id": str(contact.organisation_id) if contact.organisation_id else None,
            "newsletter_consent": contact.newsletter_consent,
            "active": contact.active,
            "updated_at": _iso(contact.updated_at),
        },
        "subscriptions": [
            {
                "id": str(s.id),
                "email": s.email,
                "first_name": s.first_name,
                "status": s.status,
                "source": s.source,
                "bounced": session.get(Bounce, s.email) is not None,
                "created_at": _iso(s.created_at),
                "subscribed_at": _iso(s.subscribed_at),
                "unsubscribed_at": _iso(s.unsubscribed_at),
            }
            for s in subscribers
        ],
        "mails": [
            *(
                {
                    "kind": "newsletter",
                    "issue_id": str(issue.id),
                    "title": issue.title,
                    "status": delivery.status,
                    "queued_at": _iso(delivery.queued_at),
                    "finished_at": _iso(delivery.finished_at),
                }
                for delivery, issue in deliveries
            ),
            *(
                {
                    "kind": mail.kind,
                    "subject_id": str(mail.subject_id) if mail.subject_id else None,
                    "title": subjects[mail.subject_id].title if mail.subject_id in subjects else None,
                    "status": mail.status,
                    "queued_at": _iso(mail.created_at),
                    "finished_at": _iso(mail.finished_at),
                }
                for mail in service_mails
            ),
        ],
    }
