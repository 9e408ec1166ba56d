"""Applies domain events to the KPI read models. Every handler is idempotent per event and independent
of arrival order: facts are inserted once (keyed by event id); latest-state rows keep the newest `time`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka.structs import ConsumerRecord
from sqlmodel import Session

from services.kpi.tables import KpiKnowledgeSharingFact, KpiMembershipFact, KpiOrganisation
from shared import events

Handler = Callable[[Session, events.Event], None]


def _organisation(session: Session, event: events.Event) -> None:
    data = event.data
    assert isinstance(data, events.OrganisationRegistered | events.OrganisationUpdated)
    row = session.get(KpiOrganisation, data.organisation_id)
    registered_on = getattr(data, "registered_on", None)
    if row is None:
        session.add(
            KpiOrganisation(
                organisation_id=data.organisation_id,
                name=data.name,
                kind=data.kind,
                nis_code=data.nis_code,
                registered_on=registered_on,
                version_time=event.time,
            )
        )
        return
    if registered_on is not None:
        row.registered_on = registered_on
    if _naive(event.time) >= _naive(row.version_time):
        row.name, row.kind, row.nis_code = data.name, data.kind, data.nis_code
        row.version_time = event.time
    session.add(row)


def _membership(session: Session, event: events.Event) -> None:
    data = event.data
    if isinstance(data, events.MemberJoined):
        fact = KpiMembershipFact(
            event_id=event.id, member_id=data.member_id, fact="joined", on_date=data.joined_on,
            organisation_id=data.organisation_id, event_time=event.time,
        )
    elif isinstance(data, events.MemberMoved):
        fact = KpiMembershipFact(
            event_id=event.id, member_id=data.member_id, fact="moved", on_date=data.moved_on,
            organisation_id=data.to_organisation_id, event_time=event.time,
        )
    elif isinstance(data, events.MemberLeft):
        fact = KpiMembershipFact(
            event_id=event.id, member_id=data.member_id, fact="left", on_date=data.left_on,
            organisation_id=data.organisation_id, event_time=event.time,
        )
    elif isinstance(data, events.MemberErased):
        fact = KpiMembershipFact(
            event_id=event.id, member_id=data.member_id, fact="erased", on_date=data.erased_on,
            event_time=event.time,
        )
        session.add(
            KpiKnowledgeSharingFact(
                event_id=event.id, member_id=data.member_id, fact="erased", on_date=data.erased_on,
                event_time=event.time,
            )
        )
    else:
        raise TypeError(type(data))
    session.add(fact)


def _knowledge_sharing(session: Session, event: events.Event) -> None:
    data = event.data
    if isinstance(data, events.KnowledgeSharingJoined):
        fact, on = "joined", data.joined_on
    elif isinstance(data, events.KnowledgeSharingLeft):
        fact, on = "left", data.left_on
    else:
        raise TypeError(type(data))
    session.add(
        KpiKnowledgeSharingFact(
            event_id=event.id, member_id=data.member_id, fact=fact, on_date=on, event_time=event.time
        )
    )


HANDLERS: dict[type[events.EventData], Handler] = {
    events.OrganisationRegistered: _organisation,
    events.OrganisationUpdated: _organisation,
    events.MemberJoined: _membership,
    events.MemberMoved: _membership,
    events.MemberLeft: _membership,
    events.MemberErased: _membership,
    events.KnowledgeSharingJoined: _knowledge_sharing,
    events.KnowledgeSharingLeft: _knowledge_sharing,
}


def apply(session: Session, event: events.Event, _record: ConsumerRecord[bytes, bytes] | None = None) -> None:
    handler = HANDLERS.get(type(event.data))
    if handler is not None:  # event types no KPI needs are skipped, not refused
        handler(session, event)


def _naive(value: datetime) -> datetime:
    # SQLite hands timestamps back without their offset; all stored times are UTC
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
