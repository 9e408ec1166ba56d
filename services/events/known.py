"""Reading the local copy of the members service's facts (kept up to date by consumers.py): what the
handlers need to know about a member when registering them."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from services.events.tables import KnownMember, KnownOrganisation


def organisation_of(session: Session, member_id: uuid.UUID) -> tuple[uuid.UUID | None, str | None]:
    """The member's organisation and its kind as far as the local copy knows (None where it does not)."""
    member = session.get(KnownMember, member_id)
    if member is None or member.organisation_id is None:
        return None, None
    organisation = session.get(KnownOrganisation, member.organisation_id)
    return member.organisation_id, organisation.kind if organisation else None
