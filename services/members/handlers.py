"""The members service's use cases: one typed command, one handler each, run in a unit of work; and
the queries the routes answer with.

Routes (api.py), screens, the member import (through the API) and tests call these; the rules they
check live in domain.py. A handler changes rows and publishes its events; the caller ends with
`uow.commit(read_model)`, so the answer is stored with an Idempotency-Key in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import bindparam, func, select
from sqlmodel import Session, col

from services.members import domain
from services.members.tables import Member, Organisation
from shared import events, topics
from shared.errors import Conflict, Invalid, NotFound
from shared.uow import UnitOfWork

CONFLICT = "this conflicts with an existing record (same e-mail address or NIS code)"


class Command(BaseModel):
    # commands are built by routes from validated requests; free-text rules live in the request types
    model_config = ConfigDict(frozen=True)


# --- commands -----------------------------------------------------------------------------------


class RegisterOrganisation(Command):
    name: str
    kind: events.OrganisationKind
    nis_code: str | None = None
    registered_on: date | None = None


class UpdateOrganisation(Command):
    """Only the fields given change (`model_fields_set`); a given None empties nothing, it is refused."""

    organisation_id: uuid.UUID
    name: str | None = None
    kind: events.OrganisationKind | None = None
    nis_code: str | None = None


class RegisterMember(Command):
    first_name: str
    last_name: str
    email: str
    phone: str | None = None
    organisation_id: uuid.UUID
    newsletter_consent: bool = False
    joined_on: date | None = None


class UpdateMember(Command):
    """Only the fields given change (`model_fields_set`)."""

    member_id: uuid.UUID
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    newsletter_consent: bool | None = None


class MoveMember(Command):
    member_id: uuid.UUID
    organisation_id: uuid.UUID
    moved_on: date | None = None


class LeaveNetwork(Command):
    member_id: uuid.UUID
    left_on: date | None = None


class RejoinNetwork(Command):
    member_id: uuid.UUID
    joined_on: date | None = None


class JoinKnowledgeSharing(Command):
    member_id: uuid.UUID
    joined_on: date | None = None


class LeaveKnowledgeSharing(Command):
    member_id: uuid.UUID
    left_on: date | None = None


class EraseMember(Command):
    member_id: uuid.UUID


# --- loading and checks that need the database --------------------------------------------------


def organisation(session: Session, organisation_id: uuid.UUID) -> Organisation:
    found = session.get(Organisation, organisation_id)
    if found is None:
        raise NotFound(f"no organisation with id {organisation_id}")
    return found


def member(session: Session, member_id: uuid.UUID, *, to_change: bool = False) -> Member:
    found = session.get(Member, member_id)
    if found is None:
        raise NotFound(f"no member with id {member_id}")
    if to_change and found.erased_on is not None:
        raise Conflict("this member was erased; nothing about the person can change any more")
    return found


# Built once, run as Core on the session's connection: through Session.execute each check cost the
# ORM's statement set-up (compile state, cache key, result wrapping) more than the query itself
_ORGANISATION_ID = select(col(Organisation.id)).where(col(Organisation.id) == bindparam("id"))
_MEMBER_WITH_EMAIL = select(col(Member.id)).where(col(Member.email) == bindparam("email"))


def _scalar(session: Session, statement: Any, **values: Any) -> Any:
    """One value of a plain query in the session's transaction. What Session.execute would flush
    first is flushed first (autoflush), so a pending change is seen as before."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(statement, values).scalar()


def _check_organisation_exists(session: Session, organisation_id: uuid.UUID) -> None:
    # an unknown organisation in a body is bad input (422), not an unknown resource in the path (404).
    # Its id only: loading the whole row as an ORM object cost a command more than the query itself
    if _scalar(session, _ORGANISATION_ID, id=organisation_id) is None:
        raise Invalid("organisation_id", f"no organisation with id {organisation_id}")


def _check_nis_free(session: Session, nis_code: str | None, own_id: uuid.UUID | None = None) -> None:
    if nis_code is None:
        return
    other = session.execute(select(Organisation).where(col(Organisation.nis_code) == nis_code)).scalar()
    if other is not None and other.id != own_id:
        raise Conflict(f"NIS code {nis_code} already belongs to {other.name}")


def _check_email_free(session: Session, email: str, own_id: uuid.UUID | None = None) -> None:
    other = _scalar(session, _MEMBER_WITH_EMAIL, email=email)
    if other is not None and other != own_id:
        raise Conflict(f"a member with e-mail address {email} already exists")


def _touch(record: Organisation | Member, uow: UnitOfWork) -> None:
    record.updated_at = datetime.now(UTC)
    record.updated_by = uow.actor.subject
    uow.session.add(record)


def _publish_contact(uow: UnitOfWork, person: Member) -> None:
    """Contact details travel only on the compacted contacts topic, keyed by member id."""
    uow.outbox.add_record(
        uow.session,
        topic=topics.MEMBERS_CONTACTS,
        key=str(person.id),
        value={
            "member_id": str(person.id),
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
            "phone": person.phone,
            "organisation_id": str(person.organisation_id),
            "newsletter_consent": person.newsletter_consent,
            "active": person.active,
            "updated_at": person.updated_at.isoformat(),
        },
    )


# --- organisations ------------------------------------------------------------------------------


def register_organisation(command: RegisterOrganisation, uow: UnitOfWork) -> Organisation:
    _check_nis_free(uow.session, command.nis_code)
    created = Organisation(
        name=command.name,
        kind=command.kind,
        nis_code=command.nis_code,
        registered_on=domain.business_date(command.registered_on, "registered_on"),
        created_by=uow.actor.subject,
        updated_by=uow.actor.subject,
    )
    uow.session.add(created)
    uow.publish(
        events.OrganisationRegistered(
            organisation_id=created.id,
            name=created.name,
            kind=command.kind,
            nis_code=created.nis_code,
            registered_on=created.registered_on,
        )
    )
    return created


def update_organisation(command: UpdateOrganisation, uow: UnitOfWork) -> Organisation:
    changed = organisation(uow.session, command.organisation_id)
    changes = command.model_dump(include=command.model_fields_set - {"organisation_id"})
    domain.check_required_kept(changes, ("name", "kind"))
    if "nis_code" in changes:
        _check_nis_free(uow.session, changes["nis_code"], changed.id)
    for name, value in changes.items():
        setattr(changed, name, value)
    _touch(changed, uow)
    uow.publish(
        events.OrganisationUpdated(
            organisation_id=changed.id, name=changed.name, kind=changed.kind, nis_code=changed.nis_code
        )
    )
    return changed


# --- members ------------------------------------------------------------------------------------


def register_member(command: RegisterMember, uow: UnitOfWork) -> Member:
    _check_organisation_exists(uow.session, command.organisation_id)
    email = domain.normalise_email(command.email)
    _check_email_free(uow.session, email)
    joined = Member(
        first_name=command.first_name,
        last_name=command.last_name,
        email=email,
        phone=command.phone,
        organisation_id=command.organisation_id,
        newsletter_consent=command.newsletter_consent,
        joined_on=domain.business_date(command.joined_on, "joined_on"),
        created_by=uow.actor.subject,
        updated_by=uow.actor.subject,
    )
    uow.session.add(joined)
    uow.publish(
        events.MemberJoined(
            member_id=joined.id, organisation_id=joined.organisation_id, joined_on=joined.joined_on
        )
    )
    _publish_contact(uow, joined)
    return joined


def update_member(command: UpdateMember, uow: UnitOfWork) -> Member:
    changed = member(uow.session, command.member_id, to_change=True)
    changes = command.model_dump(include=command.model_fields_set - {"member_id"})
    domain.check_required_kept(changes, ("first_name", "last_name", "email", "newsletter_consent"))
    if "email" in changes:
        changes["email"] = domain.normalise_email(changes["email"])
        _check_email_free(uow.session, changes["email"], changed.id)
    for name, value in changes.items():
        setattr(changed, name, value)
    _touch(changed, uow)
    _publish_contact(uow, changed)
    return changed


def move_member(command: MoveMember, uow: UnitOfWork) -> Member:
    moving = member(uow.session, command.member_id, to_change=True)
    _check_organisation_exists(uow.session, command.organisation_id)
    moved_on = domain.business_date(command.moved_on, "moved_on")
    domain.check_can_move(
        moving.active, str(moving.organisation_id), str(command.organisation_id), moving.joined_on, moved_on
    )
    previous = moving.organisation_id
    moving.organisation_id = command.organisation_id
    _touch(moving, uow)
    uow.publish(
        events.MemberMoved(
            member_id=moving.id,
            from_organisation_id=previous,
            to_organisation_id=command.organisation_id,
            moved_on=moved_on,
        )
    )
    _publish_contact(uow, moving)
    return moving


def leave_network(command: LeaveNetwork, uow: UnitOfWork) -> Member:
    leaving = member(uow.session, command.member_id, to_change=True)
    left_on = domain.business_date(command.left_on, "left_on")
    domain.check_can_leave(leaving.active, leaving.joined_on, left_on)
    if leaving.in_knowledge_sharing:  # leaving the network also ends the knowledge-sharing channel
        leaving.in_knowledge_sharing = False
        uow.publish(events.KnowledgeSharingLeft(member_id=leaving.id, left_on=left_on))
    leaving.active = False
    leaving.left_on = left_on
    _touch(leaving, uow)
    uow.publish(
        events.MemberLeft(member_id=leaving.id, organisation_id=leaving.organisation_id, left_on=left_on)
    )
    _publish_contact(uow, leaving)
    return leaving


def rejoin_network(command: RejoinNetwork, uow: UnitOfWork) -> Member:
    returning = member(uow.session, command.member_id, to_change=True)
    joined_on = domain.business_date(command.joined_on, "joined_on")
    domain.check_can_rejoin(returning.active, returning.left_on, joined_on)
    returning.active = True
    returning.joined_on = joined_on
    returning.left_on = None
    _touch(returning, uow)
    uow.publish(
        events.MemberJoined(
            member_id=returning.id, organisation_id=returning.organisation_id, joined_on=joined_on
        )
    )
    _publish_contact(uow, returning)
    return returning


def join_knowledge_sharing(command: JoinKnowledgeSharing, uow: UnitOfWork) -> Member:
    joining = member(uow.session, command.member_id, to_change=True)
    domain.check_knowledge_sharing_join(joining.active, joining.in_knowledge_sharing)
    joined_on = domain.business_date(command.joined_on, "joined_on")
    domain.check_knowledge_sharing_since(joining.joined_on, joined_on)
    joining.in_knowledge_sharing = True
    _touch(joining, uow)
    uow.publish(events.KnowledgeSharingJoined(member_id=joining.id, joined_on=joined_on))
    return joining


def leave_knowledge_sharing(command: LeaveKnowledgeSharing, uow: UnitOfWork) -> Member:
    leaving = member(uow.session, command.member_id, to_change=True)
    domain.check_knowledge_sharing_leave(leaving.in_knowledge_sharing)
    left_on = domain.business_date(command.left_on, "left_on")
    leaving.in_knowledge_sharing = False
    _touch(leaving, uow)
    uow.publish(events.KnowledgeSharingLeft(member_id=leaving.id, left_on=left_on))
    return leaving


def erase_member(command: EraseMember, uow: UnitOfWork) -> Member:
    """Right to erasure: anonymise the person here, write the tombstone on the contacts topic and
    publish member.erased so every other service forgets the person too. Erasing again changes nothing."""
    erased = member(uow.session, command.member_id)
    if erased.erased_on is not None:
        return erased
    erased_on = domain.today()
    domain.anonymise(erased, erased_on)
    _touch(erased, uow)
    uow.publish(events.MemberErased(member_id=erased.id, erased_on=erased_on))
    # the contact details must not survive in the outbox either, then the compacted topic forgets them
    uow.outbox.redact(uow.session, topic=topics.MEMBERS_CONTACTS, key=str(erased.id))
    uow.outbox.add_record(uow.session, topic=topics.MEMBERS_CONTACTS, key=str(erased.id), value=None)
    return erased


# --- queries ------------------------------------------------------------------------------------


def find_organisations(
    session: Session, *, kind: str | None, name_part: str | None, limit: int, offset: int
) -> tuple[int, list[Organisation]]:
    """One page of organisations by name, and how many match in all."""
    stmt = select(Organisation)
    if kind:
        stmt = stmt.where(col(Organisation.kind) == kind)
    if name_part:
        stmt = stmt.where(func.lower(Organisation.name).contains(name_part.lower()))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Organisation.name).limit(limit).offset(offset)).scalars()
    return total, list(rows)


def find_members(
    session: Session,
    *,
    organisation_id: uuid.UUID | None,
    active: bool | None,
    text: str | None,
    limit: int,
    offset: int,
) -> tuple[int, list[Member]]:
    """One page of members by name (`active` None: members who left too), and how many match in all."""
    stmt = select(Member)
    if organisation_id:
        stmt = stmt.where(col(Member.organisation_id) == organisation_id)
    if active is not None:
        stmt = stmt.where(col(Member.active) == active)
    if text:
        needle = f"%{text.lower()}%"
        stmt = stmt.where(
            func.lower(Member.first_name).like(needle)
            | func.lower(Member.last_name).like(needle)
            | col(Member.email).like(needle)
        )
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(Member.last_name, Member.first_name).limit(limit).offset(offset)
    ).scalars()
    return total, list(rows)
