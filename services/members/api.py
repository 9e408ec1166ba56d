"""HTTP routes of the members service: organisations, members, moves, leaving, knowledge sharing.

A route only translates: request body → command → handler (services.members.handlers) → read model.
Every command runs in a unit of work, so each of them honours an `Idempotency-Key`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from fastapi import APIRouter, Depends, Query, status
from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from services.members import domain, handlers
from services.members.tables import Member, Organisation
from shared import events
from shared.auth import ACTIVITY_WRITERS, READERS, STAFF, Principal, require
from shared.text import BusinessDate, single_line
from shared.uow import UnitOfWork, unit_of_work
from shared.web import Page, SessionDep

# names go into mail headers and exports: one line, no control characters
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(single_line)
]
OrgName = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(single_line)
]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+?[0-9 ./()-]{6,40}$")]
NisCode = Annotated[str, StringConstraints(pattern=r"^\d{5}$")]
# a date staff give: a plausible year (shared.text), and not in the future (domain.business_date)
GivenDate = Annotated[BusinessDate | None, Field(description="defaults to today; never in the future")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationCreate(Strict):
    name: OrgName
    kind: events.OrganisationKind
    nis_code: NisCode | None = Field(default=None, description="5-digit NIS code of a municipality")
    registered_on: GivenDate = None


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
    updated_by: str | None = Field(description="the staff member who changed it last; only for staff")

    @classmethod
    def of(cls, organisation: Organisation, reader: Principal) -> Self:
        read = cls.model_validate(organisation, from_attributes=True)
        return read.model_copy(update={"updated_by": domain.who_did_it(reader.role, organisation.updated_by)})


class MemberCreate(Strict):
    first_name: Name
    last_name: Name
    email: EmailStr
    phone: Phone | None = None
    organisation_id: uuid.UUID
    newsletter_consent: bool = False
    joined_on: GivenDate = None


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
    updated_by: str | None = Field(description="the staff member who changed it last; only for staff")

    @classmethod
    def of(cls, person: Member, reader: Principal) -> Self:
        read = cls.model_validate(person, from_attributes=True)
        return read.model_copy(update={"updated_by": domain.who_did_it(reader.role, person.updated_by)})


class MoveRequest(Strict):
    organisation_id: uuid.UUID
    moved_on: GivenDate = None


class LeaveRequest(Strict):
    left_on: GivenDate = None


class JoinRequest(Strict):
    joined_on: GivenDate = None


Staff = Annotated[Principal, Depends(require(*STAFF))]
Reader = Annotated[Principal, Depends(require(*READERS))]
# a member record holds a person's name and contact details: staff, and Mediawijs (partner) to register
# members for its sessions; not the viewer role that dashboards use
PeopleReader = Annotated[Principal, Depends(require(*ACTIVITY_WRITERS))]
# every command: staff only, one transaction, commit-or-409, Idempotency-Key honoured
StaffWork = Annotated[UnitOfWork, Depends(unit_of_work(*STAFF, conflict=handlers.CONFLICT))]

router = APIRouter()


def _given(body: BaseModel) -> dict[str, Any]:
    """The fields the caller sent, so that a command knows what to change and what to leave."""
    return body.model_dump(exclude_unset=True)


# --- organisations ------------------------------------------------------------------------------


@router.post("/organisations", status_code=status.HTTP_201_CREATED, tags=["organisations"])
def register_organisation(body: OrganisationCreate, uow: StaffWork) -> OrganisationRead:
    organisation = handlers.register_organisation(handlers.RegisterOrganisation(**body.model_dump()), uow)
    return uow.commit(OrganisationRead.of(organisation, uow.actor))


@router.patch("/organisations/{organisation_id}", tags=["organisations"])
def update_organisation(
    organisation_id: uuid.UUID, body: OrganisationUpdate, uow: StaffWork
) -> OrganisationRead:
    command = handlers.UpdateOrganisation(organisation_id=organisation_id, **_given(body))
    return uow.commit(OrganisationRead.of(handlers.update_organisation(command, uow), uow.actor))


@router.get("/organisations", tags=["organisations"])
def list_organisations(
    session: SessionDep,
    who: Reader,
    kind: events.OrganisationKind | None = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[OrganisationRead]:
    total, rows = handlers.find_organisations(session, kind=kind, name_part=q, limit=limit, offset=offset)
    items = [OrganisationRead.of(organisation, who) for organisation in rows]
    return Page[OrganisationRead](items=items, total=total, limit=limit, offset=offset)


@router.get("/organisations/{organisation_id}", tags=["organisations"])
def get_organisation(organisation_id: uuid.UUID, session: SessionDep, who: Reader) -> OrganisationRead:
    return OrganisationRead.of(handlers.organisation(session, organisation_id), who)


# --- members ------------------------------------------------------------------------------------


@router.post("/members", status_code=status.HTTP_201_CREATED, tags=["members"])
def register_member(body: MemberCreate, uow: StaffWork) -> MemberRead:
    person = handlers.register_member(handlers.RegisterMember(**body.model_dump()), uow)
    return uow.commit(MemberRead.of(person, uow.actor))


@router.patch("/members/{member_id}", tags=["members"])
def update_member(member_id: uuid.UUID, body: MemberUpdate, uow: StaffWork) -> MemberRead:
    command = handlers.UpdateMember(member_id=member_id, **_given(body))
    return uow.commit(MemberRead.of(handlers.update_member(command, uow), uow.actor))


@router.post("/members/{member_id}/move", tags=["members"])
def move_member(member_id: uuid.UUID, body: MoveRequest, uow: StaffWork) -> MemberRead:
    command = handlers.MoveMember(member_id=member_id, **body.model_dump())
    return uow.commit(MemberRead.of(handlers.move_member(command, uow), uow.actor))


@router.post("/members/{member_id}/leave", tags=["members"])
def leave_network(member_id: uuid.UUID, body: LeaveRequest, uow: StaffWork) -> MemberRead:
    command = handlers.LeaveNetwork(member_id=member_id, **body.model_dump())
    return uow.commit(MemberRead.of(handlers.leave_network(command, uow), uow.actor))


@router.post("/members/{member_id}/rejoin", tags=["members"])
def rejoin_network(member_id: uuid.UUID, body: JoinRequest, uow: StaffWork) -> MemberRead:
    command = handlers.RejoinNetwork(member_id=member_id, **body.model_dump())
    return uow.commit(MemberRead.of(handlers.rejoin_network(command, uow), uow.actor))


@router.post("/members/{member_id}/knowledge-sharing/join", tags=["knowledge sharing"])
def join_knowledge_sharing(member_id: uuid.UUID, body: JoinRequest, uow: StaffWork) -> MemberRead:
    command = handlers.JoinKnowledgeSharing(member_id=member_id, **body.model_dump())
    return uow.commit(MemberRead.of(handlers.join_knowledge_sharing(command, uow), uow.actor))


@router.post("/members/{member_id}/knowledge-sharing/leave", tags=["knowledge sharing"])
def leave_knowledge_sharing(member_id: uuid.UUID, body: LeaveRequest, uow: StaffWork) -> MemberRead:
    command = handlers.LeaveKnowledgeSharing(member_id=member_id, **body.model_dump())
    return uow.commit(MemberRead.of(handlers.leave_knowledge_sharing(command, uow), uow.actor))


@router.get("/members", tags=["members"])
def list_members(
    session: SessionDep,
    who: PeopleReader,
    organisation_id: uuid.UUID | None = None,
    state: Literal["active", "left", "all"] = "active",
    q: Annotated[str | None, Query(max_length=100, description="part of a name or e-mail")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[MemberRead]:
    total, rows = handlers.find_members(
        session,
        organisation_id=organisation_id,
        active=None if state == "all" else state == "active",
        text=q,
        limit=limit,
        offset=offset,
    )
    items = [MemberRead.of(person, who) for person in rows]
    return Page[MemberRead](items=items, total=total, limit=limit, offset=offset)


@router.post("/members/{member_id}/erase", tags=["privacy"])
def erase_member(member_id: uuid.UUID, uow: StaffWork) -> MemberRead:
    """Right to erasure: anonymise the person here, write the tombstone on the contacts topic and
    publish member.erased so every other service forgets the person too. Erasing again changes nothing."""
    erased = handlers.erase_member(handlers.EraseMember(member_id=member_id), uow)
    return uow.commit(MemberRead.of(erased, uow.actor))


@router.get("/people/{member_id}", tags=["privacy"])
def personal_data(member_id: uuid.UUID, session: SessionDep, who: Staff) -> dict[str, object]:
    """Right of access: everything this service holds on the person."""
    person = handlers.member(session, member_id)
    organisation = session.get(Organisation, person.organisation_id)
    return {
        "service": "members",
        "member": MemberRead.of(person, who).model_dump(mode="json"),
        "organisation": None
        if organisation is None
        else {"id": str(organisation.id), "name": organisation.name},
        "created_at": person.created_at.isoformat(),
        "created_by": person.created_by,
    }


@router.get("/members/{member_id}", tags=["members"])
def get_member(member_id: uuid.UUID, session: SessionDep, who: PeopleReader) -> MemberRead:
    return MemberRead.of(handlers.member(session, member_id), who)


import services.members.staff_api  # noqa: E402, F401  (its routes for the back office join this router)
