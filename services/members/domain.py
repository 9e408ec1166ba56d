"""Rules of membership, free of I/O."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from shared.errors import Conflict, Invalid

BRUSSELS = ZoneInfo("Europe/Brussels")


def today() -> date:
    """The business date: KPI years follow Europe/Brussels, not UTC."""
    return datetime.now(BRUSSELS).date()


def business_date(value: date | None, field: str) -> date:
    """A date given by staff, or today; never in the future."""
    if value is None:
        return today()
    if value > today():
        raise Invalid(field, "may not lie in the future")
    return value


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_can_leave(active: bool, joined_on: date, left_on: date) -> None:
    if not active:
        raise Conflict("this member has already left the network")
    if left_on < joined_on:
        raise Invalid("left_on", f"lies before the member joined ({joined_on.isoformat()})")


def check_can_move(active: bool, current_org: str, target_org: str, joined_on: date, moved_on: date) -> None:
    if not active:
        raise Conflict("a member who left the network cannot move")
    if current_org == target_org:
        raise Conflict("the member already belongs to this organisation")
    if moved_on < joined_on:
        raise Invalid("moved_on", f"lies before the member joined ({joined_on.isoformat()})")


def check_can_rejoin(active: bool, left_on: date | None, joined_on: date) -> None:
    if active:
        raise Conflict("this member is already in the network")
    if left_on is not None and joined_on < left_on:
        raise Invalid("joined_on", f"lies before the member left ({left_on.isoformat()})")


def check_knowledge_sharing_join(active: bool, already_in: bool) -> None:
    if not active:
        raise Conflict("only an active member can join the knowledge-sharing channel")
    if already_in:
        raise Conflict("this member already takes part in the knowledge-sharing channel")


def check_knowledge_sharing_leave(already_in: bool) -> None:
    if not already_in:
        raise Conflict("this member does not take part in the knowledge-sharing channel")


class Person(Protocol):
    @property
    def id(self) -> object: ...

    first_name: str
    last_name: str
    email: str
    phone: str | None
    newsletter_consent: bool
    active: bool
    in_knowledge_sharing: bool
    left_on: date | None
    erased_on: date | None


def anonymise(person: Person, on: date) -> None:
    """What remains of an erased member: an id, an organisation and the dates the KPIs need."""
    person.first_name = "(gewist)"
    person.last_name = "(gewist)"
    person.email = f"gewist-{person.id}@invalid"  # unique, and nobody's address
    person.phone = None
    person.newsletter_consent = False
    if person.active:
        person.left_on = on
    person.active = False
    person.in_knowledge_sharing = False
    person.erased_on = on
