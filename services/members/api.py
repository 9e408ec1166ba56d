"""HTTP routes of the members service: organisations, members, moves, leaving, knowledge sharing."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from services.members import domain, handlers
from services.members.tables import Member, Organisation
from shared import events, topics
from shared.auth import ACTIVITY_WRITERS, READERS, STAFF, Principal, require
from shared.errors import Conflict, Invalid, NotFound
from shared.outbox import Outbox
from shared.uow import UnitOfWork, unit_of_work
from shared.web import OutboxDep, Page, SessionDep

T = TypeVar("T")

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OrgName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ./()-]{6,40}$")]
NisCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationCreate(Strict):
    name: OrgName
    kind: events.OrganisationKind
    nis_code: NisCode | None = Field(default=None, description="5-digit NIS code of a municipality")
    registered_on: date | None = Field(default=None, description="defaults to today")


class OrganisationUpdate(Strict):
    name: OrgName | None = None
    kind: events.OrganisationKind | None = None
    nis_code: NisCode | None = None


class OrganisationRead(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    nis_code: str | None
    registered_on: date
    updated_at: datetime
    updated_by: str


class MemberCreate(Strict):
    first_name: Name
    last_name: Name
    email: EmailStr
    phone: Phone | None = None
    organisation_id: uuid.UUID
    newsletter_consent: bool = False
    joined_on: date | None = Field(default=None, description="defaults to today")


class MemberUpdate(Strict):
    first_name: Name | None = None
    last_name: Name | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    newsletter_consent: bool | None = None


class MemberRead(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone: str | None
    organisation_id: uuid.UUID
    newsletter_consent: bool
    joined_on: date
    left_on: date | None
    active: bool
    in_knowledge_sharing: bool
    erased_on: date | None = None
    updated_at: datetime
    updated_by: str


class MoveRequest(Strict):
    organisation_id: uuid.UUID
    moved_on: date | None = None


class LeaveRequest(Strict):
    left_on: date | None = None


class JoinRequest(Strict):
    joined_on: date | None = None


Staff = Annotated[Principal, Depends(require(*STAFF))]
Reader = Annotated[Principal, Depends(require(*READERS))]
# a member record holds a person's name and contact details: staff, and Mediawijs (partner) to register
# members for its sessions; not the viewer role that dashboards use
PeopleReader = Annotated[Principal, Depends(require(*ACTIVITY_WRITERS))]

StaffWork = Annotated[UnitOfWork, Depends(unit_of_work(*STAFF, conflict=handlers.CONFLICT))]

router = APIRouter()


# --- organisations ------------------------------------------------------------------------------


def _organisation(session: Session, organisation_id: uuid.UUID) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(f"no organisation with id {organisation_id}")
    return organisation


def _check_nis_free(session: Session, nis_code: str | None, own_id: uuid.UUID | None = None) -> None:
    if nis_code is None:
        return
    other = session.execute(select(Organisation).where(col(Organisation.nis_code) == nis_code)).scalar()
    if other is not None and other.id != own_id:
        raise Conflict(f"NIS code {nis_code} already belongs to {other.name}")


@router.post("/organisations", status_code=status.HTTP_201_CREATED, tags=["organisations"])
def register_organisation(body: OrganisationCreate, uow: StaffWork) -> OrganisationRead:
    organisation = handlers.register_organisation(handlers.RegisterOrganisation(**body.model_dump()), uow)
    return uow.commit(OrganisationRead.model_validate(organisation, from_attributes=True))


@router.patch("/organisations/{organisation_id}", tags=["organisations"])
def update_organisation(
    organisation_id: uuid.UUID,
    body: OrganisationUpdate,
    session: SessionDep,
    outbox: OutboxDep,
    who: Staff,
) -> OrganisationRead:
    organisation = _organisation(session, organisation_id)
    changes = body.model_dump(exclude_unset=True)
    if "nis_code" in changes:
        _check_nis_free(session, changes["nis_code"], organisation.id)
    for name in ("name", "kind"):
        if name in changes and changes[name] is None:
            raise Invalid(name, "may not be empty")
    for name, value in changes.items():
        setattr(organisation, name, value)
    organisation.updated_at = datetime.now(UTC)
    organisation.updated_by = who.subject
    session.add(organisation)
    outbox.add(
        session,
        events.OrganisationUpdated(
            organisation_id=organisation.id,
            name=organisation.name,
            kind=organisation.kind,
            nis_code=organisation.nis_code,
        ),
        actor=who.subject,
    )
    _commit(session)
    return OrganisationRead.model_validate(organisation, from_attributes=True)


@router.get("/organisations", tags=["organisations"])
def list_organisations(
    session: SessionDep,
    _who: Reader,
    kind: events.OrganisationKind | None = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[OrganisationRead]:
    stmt = select(Organisation)
    if kind:
        stmt = stmt.where(col(Organisation.kind) == kind)
    if q:
        stmt = stmt.where(func.lower(Organisation.name).contains(q.lower()))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Organisation.name).limit(limit).offset(offset)).scalars()
    items = [OrganisationRead.model_validate(o, from_attributes=True) for o in rows]
    return Page[OrganisationRead](items=items, total=total, limit=limit, offset=offset)


@router.get("/organisations/{organisation_id}", tags=["organisations"])
def get_organisation(organisation_id: uuid.UUID, session: SessionDep, _who: Reader) -> OrganisationRead:
    return OrganisationRead.model_validate(_organisation(session, organisation_id), from_attributes=True)


# --- members ------------------------------------------------------------------------------------


def _member(session: Session, member_id: uuid.UUID, *, to_change: bool = False) -> Member:
    member = session.get(Member, member_id)
    if member is None:
        raise NotFound(f"no member with id {member_id}")
    if to_change and member.erased_on is not None:
        raise Conflict("this member was erased; nothing about the person can change any more")
    return member


def _check_email_free(session: Session, email: str, own_id: uuid.UUID | None = None) -> None:
    other = session.execute(select(col(Member.id)).where(col(Member.email) == email)).scalar()
    if other is not None and other != own_id:
        raise Conflict(f"a member with e-mail address {email} already exists")


def _contact(outbox: Outbox, session: Session, member: Member) -> None:
    """Contact details travel only on the compacted contacts topic, keyed by member id."""
    outbox.add_record(
        session,
        topic=topics.MEMBERS_CONTACTS,
        key=str(member.id),
        value={
            "member_id": str(member.id),
            "first_name": member.first_name,
            "last_name": member.last_name,
            "email": member.email,
            "phone": member.phone,
            "organisation_id": str(member.organisation_id),
            "newsletter_consent": member.newsletter_consent,
            "active": member.active,
            "updated_at": member.updated_at.isoformat(),
        },
    )


def _touch(member: Member, who: Principal) -> None:
    member.updated_at = datetime.now(UTC)
    member.updated_by = who.subject


@router.post("/members", status_code=status.HTTP_201_CREATED, tags=["members"])
def register_member(body: MemberCreate, session: SessionDep, outbox: OutboxDep, who: Staff) -> MemberRead:
    if session.get(Organisation, body.organisation_id) is None:
        raise Invalid("organisation_id", f"no organisation with id {body.organisation_id}")
    email = domain.normalise_email(str(body.email))
    _check_email_free(session, email)
    member = Member(
        first_name=body.first_name,
        last_name=body.last_name,
        email=email,
        phone=body.phone,
        organisation_id=body.organisation_id,
        newsletter_consent=body.newsletter_consent,
        joined_on=domain.business_date(body.joined_on, "joined_on"),
        created_by=who.subject,
        updated_by=who.subject,
    )
    session.add(member)
    outbox.add(
        session,
        events.MemberJoined(
            member_id=member.id, organisation_id=member.organisation_id, joined_on=member.joined_on
        ),
        actor=who.subject,
    )
    _contact(outbox, session, member)
    _commit(session)
    return MemberRead.model_validate(member, from_attributes=True)


@router.patch("/members/{member_id}", tags=["members"])
def update_member(
    member_id: uuid.UUID, body: MemberUpdate, session: SessionDep, outbox: OutboxDep, who: Staff
) -> MemberRead:
    member = _member(session, member_id, to_change=True)
    changes = body.model_dump(exclude_unset=True)
    for name in ("first_name", "last_name", "email", "newsletter_consent"):
        if name in changes and changes[name] is None:
            raise Invalid(name, "may not be empty")
    if "email" in changes:
        changes["email"] = domain.normalise_email(str(changes["email"]))
        _check_email_free(session, changes["email"], member.id)
    for name, value in changes.items():
        setattr(member, name, value)
    _touch(member, who)
    session.add(member)
    _contact(outbox, session, member)
    _commit(session)
    return MemberRead.model_validate(member, from_attributes=True)


@router.post("/members/{member_id}/move", tags=["members"])
def move_member(
    member_id: uuid.UUID, body: MoveRequest, session: SessionDep, outbox: OutboxDep, who: Staff
) -> MemberRead:
    member = _member(session, member_id, to_change=True)
    if session.get(Organisation, body.organisation_id) is None:
        raise Invalid("organisation_id", f"no organisation with id {body.organisation_id}")
    moved_on = domain.business_date(body.moved_on, "moved_on")
    domain.check_can_move(
        member.active, str(member.organisation_id), str(body.organisation_id), member.joined_on, moved_on
    )
    previous = member.organisation_id
    member.organisation_id = body.organisation_id
    _touch(member, who)
    session.add(member)
    outbox.add(
        session,
        events.MemberMoved(
            member_id=member.id,
            from_organisation_id=previous,
            to_organisation_id=body.organisation_id,
            moved_on=moved_on,
        ),
        actor=who.subject,
    )
    _contact(outbox, session, member)
    _commit(session)
    return MemberRead.model_validate(member, from_attributes=True)


@router.post("/members/{member_id}/leave", tags=["members"])
def leave_network(
    member_id: uuid.UUID, body: LeaveRequest, session: SessionDep, outbox: OutboxDep, who: Staff
) -> MemberRead:
    member = _member(session, member_id, to_change=True)
    left_on = domain.business_date(body.left_on, "left_on")
    domain.check_can_leave(member.active, member.joined_on, left_on)
    if member.in_knowledge_sharing:  # leaving the network also ends the knowledge-sharing channel
        member.in_knowledge_sharing = False
        outbox.add(
            session, events.KnowledgeSharingLeft(member_id=member.id, left_on=left_on), actor=who.subject
        )
    member.active = False
    member.left_on = left_on
    _touch(member, who)
    session.add(member)
    outbox.add(
        session,
        events.MemberLeft(member_id=member.id, organisation_id=member.organisation_id, left_on=left_on),
        actor=who.subject,
    )
    _contact(outbox, session, member)
    _commit(session)
    return MemberRead.model_validate(member, from_attributes=True)


@router.post("/members/{member_id}/rejoin", tags=["members"])
def rejoin_network(
    member_id: uuid.UUID, body: JoinRequest, session: SessionDep, outbox: OutboxDep, who: Staff
) -> MemberRead:
    member = _member(session, member_id, to_change=True)
    joined_on = domain.business_date(body.joined_on, "joined_on")
    domain.check_can_rejoin(member.active, member.left_on, joined_on)
    member.active = True
    member.joined_on = joined_on
    member.left_on = None
    _touch(member, who)
    session.add(member)
    outbox.add(
        session,
        events.MemberJoined(member_id=member.id, organisation_id=member.organisation_id, joined_on=joined_on),
        actor=who.subject,
    )
    _contact(outbox, session, member)
    _commit(session)
    return MemberRead.model_validate(member, from_attributes=True)


@router.post("/members/{member_id}/knowledge-sharing/join", tags=["knowledge sharing"])
def join_knowledge_sharing(
    member_id: uuid.UUID, body: JoinRequest, session: SessionDep, outbox: OutboxDep, who: Staff
) -> MemberRead:
    member = _member(session, member_id, to_change=True)
    domain.check_knowledge_sharing_join(member.active, member.in_knowledge_sharing)
    joined_on = domain.business_date(body.joined_on, "joined_on")
    if joined_on < member.joined_on:
        raise Invalid("joined_on", f"lies before the member joined the network ({member.joined_on})")
    member.in_knowledge_sharing = True
    _touch(member, who)
    session.add(member)
    outbox.add(
        session, events.KnowledgeSharingJoined(member_id=member.id, joined_on=joined_on), actor=who.subject
    )
    _commit(session)
    return MemberRead.model_validate(member, from_attributes=True)


@router.post("/members/{member_id}/knowledge-sharing/leave", tags=["knowledge sharing"])
def leave_knowledge_sharing(
    member_id: uuid.UUID, body: LeaveRequest, session: SessionDep, outbox: OutboxDep, who: Staff
) -> MemberRead:
    member = _member(session, member_id, to_change=True)
    domain.check_knowledge_sharing_leave(member.in_knowledge_sharing)
    left_on = domain.business_date(body.left_on, "left_on")
    member.in_knowledge_sharing = False
    _touch(member, who)
    session.add(member)
    outbox.add(session, events.KnowledgeSharingLeft(member_id=member.id, left_on=left_on), actor=who.subject)
    _commit(session)
    return MemberRead.model_validate(member, from_attributes=True)


@router.get("/members", tags=["members"])
def list_members(
    session: SessionDep,
    _who: PeopleReader,
    organisation_id: uuid.UUID | None = None,
    state: Literal["active", "left", "all"] = "active",
    q: Annotated[str | None, Query(max_length=100, description="part of a name or e-mail")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[MemberRead]:
    stmt = select(Member)
    if organisation_id:
        stmt = stmt.where(col(Member.organisation_id) == organisation_id)
    if state != "all":
        stmt = stmt.where(col(Member.active) == (state == "active"))
    if q:
        needle = f"%{q.lower()}%"
        stmt = stmt.where(
            func.lower(Member.first_name).like(needle)
            | func.lower(Member.last_name).like(needle)
            | Member.email.like(needle)  # type: ignore[attr-defined]
        )
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(Member.last_name, Member.first_name).limit(limit).offset(offset)
    ).scalars()
    items = [MemberRead.model_validate(m, from_attributes=True) for m in rows]
    return Page[MemberRead](items=items, total=total, limit=limit, offset=offset)


@router.post("/members/{member_id}/erase", tags=["privacy"])
def erase_member(member_id: uuid.UUID, session: SessionDep, outbox: OutboxDep, who: Staff) -> MemberRead:
    """Right to erasure: anonymise the person here, write the tombstone on the contacts topic and
    publish member.erased so every other service forgets the person too. Erasing again changes nothing."""
    member = _member(session, member_id)
    if member.erased_on is not None:
        return MemberRead.model_validate(member, from_attributes=True)
    erased_on = domain.today()
    domain.anonymise(member, erased_on)
    _touch(member, who)
    session.add(member)
    outbox.add(session, events.MemberErased(member_id=member.id, erased_on=erased_on), actor=who.subject)
    outbox.redact(session, topic=topics.MEMBERS_CONTACTS, key=str(member.id))
    outbox.add_record(session, topic=topics.MEMBERS_CONTACTS, key=str(member.id), value=None)
    _commit(session)
    return MemberRead.model_validate(member, from_attributes=True)


@router.get("/people/{member_id}", tags=["privacy"])
def personal_data(member_id: uuid.UUID, session: SessionDep, _who: Staff) -> dict[str, object]:
    """Right of access: everything this service holds on the person."""
    member = _member(session, member_id)
    organisation = session.get(Organisation, member.organisation_id)
    return {
        "service": "members",
        "member": MemberRead.model_validate(member, from_attributes=True).model_dump(mode="json"),
        "organisation": None
        if organisation is None
        else {"id": str(organisation.id), "name": organisation.name},
        "created_at": member.created_at.isoformat(),
        "created_by": member.created_by,
    }


@router.get("/members/{member_id}", tags=["members"])
def get_member(member_id: uuid.UUID, session: SessionDep, _who: PeopleReader) -> MemberRead:
    return MemberRead.model_validate(_member(session, member_id), from_attributes=True)


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:  # two requests raced past the checks above
        session.rollback()
        raise Conflict("this conflicts with an existing record (same e-mail address or NIS code)") from exc
