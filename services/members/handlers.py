"""The members service's use cases: one typed command, one handler each, run in a unit of work.

Routes (api.py), screens and tests call these; the rules they check live in domain.py.
"""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel
from sqlalchemy import select
from sqlmodel import Session, col

from services.members import domain
from services.members.tables import Organisation
from shared import events
from shared.errors import Conflict
from shared.uow import UnitOfWork

CONFLICT = "this conflicts with an existing record (same e-mail address or NIS code)"


class RegisterOrganisation(BaseModel):
    name: str
    kind: events.OrganisationKind
    nis_code: str | None = None
    registered_on: date | None = None


def check_nis_free(session: Session, nis_code: str | None, own_id: object = None) -> None:
    if nis_code is None:
        return
    other = session.execute(select(Organisation).where(col(Organisation.nis_code) == nis_code)).scalar()
    if other is not None and other.id != own_id:
        raise Conflict(f"NIS code {nis_code} already belongs to {other.name}")


def register_organisation(command: RegisterOrganisation, uow: UnitOfWork) -> Organisation:
    check_nis_free(uow.session, command.nis_code)
    organisation = Organisation(
        name=command.name,
        kind=command.kind,
        nis_code=command.nis_code,
        registered_on=domain.business_date(command.registered_on, "registered_on"),
        created_by=uow.actor.subject,
        updated_by=uow.actor.subject,
    )
    uow.session.add(organisation)
    uow.publish(
        events.OrganisationRegistered(
            organisation_id=organisation.id,
            name=organisation.name,
            kind=command.kind,
            nis_code=organisation.nis_code,
            registered_on=organisation.registered_on,
        )
    )
    return organisation
