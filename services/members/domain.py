"""Rules of membership, free of I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Protocol

from shared.clock import business_today
from shared.errors import Conflict, Invalid

today = business_today  # the business date, defined once in shared.clock

# who sees which staff member did what: created_by/updated_by hold staff e-mail addresses
SEES_WHO_DID_WHAT: frozenset[str] = frozenset({"admin", "staff"})


def business_date(value: date | None, field: str) -> date:
    """A date given by staff, or today; never in the future."""
    if value is None:
        return today()
    if value > today():
        raise Invalid(field, "may not lie in the future")
    return value


def normalise_email(email: str) -> str:
    return email.strip().lower()


def who_did_it(reader_role: str, subject: str) -> str | None:
    """A staff member's id (an e-mail address) as the reader may see it: only staff and admin do."""
    return subject if reader_role in SEES_WHO_DID_WHAT else None


def check_required_kept(changes: Mapping[str, object], required: Iterable[str]) -> None:
    """A change may leave out a required field, but not empty it."""
    for name in required:
        if name in changes and changes[name] is None:
            raise Invalid(name, "may not be empty")


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


def check_knowledge_sharing_since(network_joined_on: date, joined_on: date) -> None:
    """Nobody takes part in the knowledge-sharing channel before being in the network."""
    if joined_on < network_joined_on:
        raise Invalid("joined_on", f"lies before the member joined the network ({network_joined_on})")


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
