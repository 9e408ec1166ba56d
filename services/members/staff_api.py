"""Reads the back office's member screens need beyond the plain lists: a member's history (joined,
moved, left, knowledge sharing, erased) and the member list filtered by organisation kind,
municipality (NIS code) and "a member on this date".

The service keeps no history table: its outbox keeps every event it published (shared.audit relies on
the same), and those events name people by id only, so the history is read from them. A member's
events share one record key, and within a key the outbox id is commit order.

The routes join api.py's router (which imports this module on its last line), after its own routes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlmodel import Session, col

from services.members import domain, handlers
from services.members.api import OrganisationRead, router
from services.members.tables import Member, Organisation
from shared import events, staff, topics
from shared.auth import ACTIVITY_WRITERS, READERS, Principal, require
from shared.outbox import OutboxMessage
from shared.web import Page, SessionDep

HistoryKind = Literal[
    "joined", "moved", "left", "knowledge_sharing_joined", "knowledge_sharing_left", "erased"
]
# the events of a member's history, by their CloudEvents type, and the name the history gives them
HISTORY_TYPES: dict[str, HistoryKind] = {
    events.MemberJoined.type_name(): "joined",
    events.MemberMoved.type_name(): "moved",
    events.MemberLeft.type_name(): "left",
    events.KnowledgeSharingJoined.type_name(): "knowledge_sharing_joined",
    events.KnowledgeSharingLeft.type_name(): "knowledge_sharing_left",
    events.MemberErased.type_name(): "erased",
}
# the business date each event carries
DATE_FIELDS = ("joined_on", "moved_on", "left_on", "erased_on")

PeopleReader = Annotated[Principal, Depends(require(*ACTIVITY_WRITERS))]
Reader = Annotated[Principal, Depends(require(*READERS))]


class HistoryEntry(BaseModel):
    kind: HistoryKind
    on: date = Field(description="the business date of the fact (joined_on, moved_on, …)")
    organisation_id: uuid.UUID | None = None
    from_organisation_id: uuid.UUID | None = None
    to_organisation_id: uuid.UUID | None = None
    recorded_at: datetime = Field(description="when the service recorded it")
    recorded_by: str | None = Field(description="the staff member who did it; only for staff")


def _members_topic(request: Request) -> str:
    prefix: str = request.app.state.runtime.outbox.topic_prefix
    return prefix + topics.MEMBERS_EVENTS


def _envelopes(session: Session, topic: str, keys: Iterable[str] | None = None) -> Iterable[Any]:
    """The member events in the outbox (of `keys` only, when given), oldest first."""
    stmt = select(col(OutboxMessage.key), col(OutboxMessage.value)).where(
        col(OutboxMessage.topic) == topic, col(OutboxMessage.event_id).is_not(None)
    )
    if keys is not None:
        stmt = stmt.where(col(OutboxMessage.key).in_(list(keys)))
    for key, value in session.execute(stmt.order_by(col(OutboxMessage.id))):
        envelope = json.loads(value or b"{}")
        if envelope.get("type") in HISTORY_TYPES:
            yield key, envelope


@router.get("/members/{member_id}/history", tags=["members"])
def member_history(
    member_id: uuid.UUID, request: Request, session: SessionDep, who: PeopleReader
) -> list[HistoryEntry]:
    """What happened to the member, oldest first: joined, moved, left, knowledge sharing, erased."""
    handlers.member(session, member_id)  # 404 for an unknown member
    found = [envelope for _, envelope in _envelopes(session, _members_topic(request), [str(member_id)])]
    actors = {str(e["actor"]) for e in found if staff.is_pseudonym(str(e.get("actor", "")))}
    sees_who = who.role in domain.SEES_WHO_DID_WHAT
    named = staff.resolve(session, actors) if sees_who else {}
    history = []
    for envelope in found:
        data = envelope.get("data") or {}
        actor = envelope.get("actor")
        history.append(
            HistoryEntry(
                kind=HISTORY_TYPES[envelope["type"]],
                on=next(data[name] for name in DATE_FIELDS if data.get(name)),
                organisation_id=data.get("organisation_id"),
                from_organisation_id=data.get("from_organisation_id"),
                to_organisation_id=data.get("to_organisation_id"),
                recorded_at=envelope["time"],
                recorded_by=named.get(actor, actor) if sees_who and isinstance(actor, str) else None,
            )
        )
    return history


def members_on(session: Session, topic: str, day: date) -> set[uuid.UUID]:
    """The members who belonged to the network on `day`: joined on or before it, not left by then.
    A leave date is the first day without membership. A member with no event in the outbox (a list
    loaded before the outbox kept its rows) counts by the dates on its row."""
    spans: dict[str, list[list[date | None]]] = {}
    for key, envelope in _envelopes(session, topic):
        kind = HISTORY_TYPES[envelope["type"]]
        data = envelope.get("data") or {}
        if kind == "joined":
            spans.setdefault(key, []).append([date.fromisoformat(data["joined_on"]), None])
        elif kind == "left" and spans.get(key):
            spans[key][-1][1] = date.fromisoformat(data["left_on"])
        elif kind == "erased" and spans.get(key) and spans[key][-1][1] is None:
            # erasing a member still in the network ends the membership (domain.anonymise), unannounced
            spans[key][-1][1] = date.fromisoformat(data["erased_on"])
    found = {
        uuid.UUID(key)
        for key, periods in spans.items()
        if any(start is not None and start <= day and (end is None or day < end) for start, end in periods)
    }
    rows = session.execute(select(col(Member.id), col(Member.joined_on), col(Member.left_on))).all()
    for member_id, joined_on, left_on in rows:
        if str(member_id) not in spans and joined_on <= day and (left_on is None or day < left_on):
            found.add(member_id)
    return found


# ids in one lookup: a session's registrations fit in one or two requests, and the query string stays
# well under what a server reads in a request line (100 ids are about 4.5 kB)
MAX_IDS = 100


# the list the screens show: the same items as GET /members, with the screens' filters
class MemberListItem(BaseModel):
    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone: str | None
    organisation_id: uuid.UUID
    organisation_name: str
    organisation_kind: str
    nis_code: str | None
    newsletter_consent: bool
    joined_on: date
    left_on: date | None
    active: bool
    in_knowledge_sharing: bool
    erased_on: date | None


@router.get("/staff/members", tags=["members"])
def list_members_for_staff(
    request: Request,
    session: SessionDep,
    who: PeopleReader,
    organisation_id: uuid.UUID | None = None,
    state: Literal["active", "left", "all"] = "all",
    kind: events.OrganisationKind | None = None,
    nis_code: Annotated[str | None, Query(pattern=r"^\d{5}$", description="the municipality")] = None,
    active_on: Annotated[date | None, Query(description="members of the network on this day")] = None,
    q: Annotated[str | None, Query(max_length=100, description="part of a name or e-mail")] = None,
    ids: Annotated[
        list[uuid.UUID] | None,
        Query(max_length=MAX_IDS, description=f"only these members (at most {MAX_IDS} ids a request)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[MemberListItem]:
    """Members with their organisation, filtered by organisation, current state, the organisation's
    kind and municipality, and membership on a day; by last name. `ids` looks up many members in one
    request (the names of a session's registrations) instead of one GET /members/{id} each."""
    stmt = select(Member, Organisation).join(Organisation, col(Member.organisation_id) == Organisation.id)
    if ids is not None:
        stmt = stmt.where(col(Member.id).in_(ids))
    if organisation_id:
        stmt = stmt.where(col(Member.organisation_id) == organisation_id)
    if state != "all":
        stmt = stmt.where(col(Member.active) == (state == "active"))
    if kind:
        stmt = stmt.where(col(Organisation.kind) == kind)
    if nis_code:
        stmt = stmt.where(col(Organisation.nis_code) == nis_code)
    if active_on:
        stmt = stmt.where(col(Member.id).in_(members_on(session, _members_topic(request), active_on)))
    if q:
        needle = f"%{q.lower()}%"
        stmt = stmt.where(
            func.lower(Member.first_name).like(needle)
            | func.lower(Member.last_name).like(needle)
            | col(Member.email).like(needle)
        )
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(Member.last_name, Member.first_name, col(Member.id)).limit(limit).offset(offset)
    ).all()
    items = [
        MemberListItem.model_validate(
            {
                **person.model_dump(),
                "organisation_name": organisation.name,
                "organisation_kind": organisation.kind,
                "nis_code": organisation.nis_code,
            }
        )
        for person, organisation in rows
    ]
    return Page[MemberListItem](items=items, total=total, limit=limit, offset=offset)


@router.get("/staff/organisations", tags=["organisations"])
def list_organisations_for_staff(
    session: SessionDep,
    who: Reader,
    kind: events.OrganisationKind | None = None,
    nis_code: Annotated[str | None, Query(pattern=r"^\d{5}$", description="the municipality")] = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the name")] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Page[OrganisationRead]:
    """Organisations by name, filtered by kind and municipality (NIS code)."""
    stmt = select(Organisation)
    if kind:
        stmt = stmt.where(col(Organisation.kind) == kind)
    if nis_code:
        stmt = stmt.where(col(Organisation.nis_code) == nis_code)
    if q:
        stmt = stmt.where(func.lower(Organisation.name).contains(q.lower()))
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Organisation.name, col(Organisation.id)).limit(limit).offset(offset))
    items = [OrganisationRead.of(organisation, who) for organisation in rows.scalars()]
    return Page[OrganisationRead](items=items, total=total, limit=limit, offset=offset)
