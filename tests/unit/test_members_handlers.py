"""The members service's handlers without HTTP: each command against a real SQLite database with the
service's migrations, a real outbox and a staff member as actor."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from services.members import domain, handlers
from services.members.app import MIGRATIONS
from services.members.tables import Member, Organisation
from shared import staff, topics
from shared.auth import Principal
from shared.db import make_engine, migrate
from shared.errors import Conflict, Invalid, NotFound
from shared.outbox import Outbox, OutboxMessage
from shared.uow import IdempotencyKey, IdempotencyRecord, UnitOfWork

C = TypeVar("C")
R = TypeVar("R")

STAFF = Principal(subject="an.medewerker@vvsg.be", role="staff")


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine("sqlite:///" + str(tmp_path / "members.db"))
    migrate(engine, MIGRATIONS)
    yield engine
    engine.dispose()


def run(
    engine: Engine, handle: Callable[[C, UnitOfWork], R], command: C, key: IdempotencyKey | None = None
) -> R:
    """One command in its own unit of work, committed as a route commits it."""
    with Session(engine, expire_on_commit=False) as session:
        uow = UnitOfWork(session, Outbox("members"), STAFF, key)
        try:
            return uow.commit(handle(command, uow))
        except BaseException:
            uow.rollback()
            raise


def outbox(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all())


def event_types(engine: Engine) -> list[str]:
    """The short type of each event in the outbox ("member.joined"), contact records left out."""
    types = []
    for message in outbox(engine):
        if message.event_id is not None and message.value is not None:
            full = json.loads(message.value)["type"]  # be.vvsg.digitaleinclusie.member.joined.v1
            types.append(".".join(full.split(".")[-3:-1]))
    return types


def count(engine: Engine, table: type[Any]) -> int:
    with Session(engine) as session:
        return len(session.exec(select(table)).all())


def zemst(engine: Engine, **extra: Any) -> Organisation:
    fields: dict[str, Any] = {"name": "Gemeente Zemst", "kind": "lokaal_bestuur", "nis_code": "23096"}
    return run(engine, handlers.register_organisation, handlers.RegisterOrganisation(**(fields | extra)))


def an(engine: Engine, organisation: Organisation, **extra: Any) -> Member:
    fields: dict[str, Any] = {
        "first_name": "An",
        "last_name": "Peeters",
        "email": " An.Peeters@Zemst.BE ",
        "organisation_id": organisation.id,
        "joined_on": date(2025, 1, 15),
    }
    return run(engine, handlers.register_member, handlers.RegisterMember(**(fields | extra)))


# --- organisations ------------------------------------------------------------------------------


def test_registering_an_organisation_stores_it_with_its_author_and_publishes_the_fact(engine: Engine) -> None:
    organisation = zemst(engine, registered_on=date(2024, 9, 1))
    assert organisation.created_by == organisation.updated_by == "an.medewerker@vvsg.be"
    assert count(engine, Organisation) == 1
    assert event_types(engine) == ["organisation.registered"]
    envelope = json.loads(outbox(engine)[0].value or b"")
    assert envelope["actor"] == staff.pseudonym("an.medewerker@vvsg.be")  # never the address
    assert envelope["data"]["registered_on"] == "2024-09-01"


def test_an_organisation_registered_without_a_date_is_registered_today(engine: Engine) -> None:
    assert zemst(engine).registered_on == domain.today()


def test_a_nis_code_belongs_to_one_organisation_only(engine: Engine) -> None:
    zemst(engine)
    with pytest.raises(Conflict, match="23096"):
        zemst(engine, name="Ander")
    assert count(engine, Organisation) == 1
    assert event_types(engine) == ["organisation.registered"]


def test_an_update_changes_only_the_fields_given(engine: Engine) -> None:
    organisation = zemst(engine)
    command = handlers.UpdateOrganisation(
        organisation_id=organisation.id, name="Gemeente Zemst (Vlaams-Brabant)"
    )
    updated = run(engine, handlers.update_organisation, command)
    assert updated.name == "Gemeente Zemst (Vlaams-Brabant)"
    assert updated.nis_code == "23096" and updated.kind == "lokaal_bestuur"
    assert event_types(engine) == ["organisation.registered", "organisation.updated"]


def test_an_update_may_not_empty_a_required_field(engine: Engine) -> None:
    organisation = zemst(engine)
    with pytest.raises(Invalid) as refused:
        run(
            engine,
            handlers.update_organisation,
            handlers.UpdateOrganisation(organisation_id=organisation.id, name=None),
        )
    assert refused.value.field == "name"
    assert event_types(engine) == ["organisation.registered"]


def test_updating_an_unknown_organisation_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFound):
        run(
            engine,
            handlers.update_organisation,
            handlers.UpdateOrganisation(organisation_id=uuid.uuid4(), name="X"),
        )


# --- members ------------------------------------------------------------------------------------


def test_a_new_member_is_stored_with_a_normalised_address_and_the_contact_travels_apart(
    engine: Engine,
) -> None:
    member = an(engine, zemst(engine))
    assert member.email == "an.peeters@zemst.be"
    assert event_types(engine) == ["organisation.registered", "member.joined"]
    joined, contact = outbox(engine)[1:]
    assert b"Peeters" not in (joined.value or b"")  # no personal data in the event
    assert contact.topic == topics.MEMBERS_CONTACTS and contact.key == str(member.id)
    assert json.loads(contact.value or b"")["email"] == "an.peeters@zemst.be"


def test_a_member_of_an_unknown_organisation_is_refused(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused:
        run(
            engine,
            handlers.register_member,
            handlers.RegisterMember(
                first_name="A", last_name="B", email="a@b.be", organisation_id=uuid.uuid4()
            ),
        )
    assert refused.value.field == "organisation_id"
    assert count(engine, Member) == 0 and outbox(engine) == []


def test_one_address_belongs_to_one_member_whatever_its_case(engine: Engine) -> None:
    organisation = zemst(engine)
    an(engine, organisation)
    with pytest.raises(Conflict, match=r"an\.peeters@zemst\.be"):
        an(engine, organisation, first_name="Anna", email="AN.PEETERS@zemst.be")
    assert count(engine, Member) == 1


def test_a_join_date_in_the_future_is_refused(engine: Engine) -> None:
    with pytest.raises(Invalid) as refused:
        an(engine, zemst(engine), joined_on=domain.today() + timedelta(days=1))
    assert refused.value.field == "joined_on"
    assert count(engine, Member) == 0


def test_moving_a_member_publishes_where_from_and_where_to(engine: Engine) -> None:
    member = an(engine, zemst(engine))
    mechelen = zemst(engine, name="Stad Mechelen", nis_code="12025")
    command = handlers.MoveMember(member_id=member.id, organisation_id=mechelen.id, moved_on=date(2025, 3, 1))
    moved = run(engine, handlers.move_member, command)
    assert moved.organisation_id == mechelen.id
    data = json.loads(outbox(engine)[-2].value or b"")["data"]
    assert data["to_organisation_id"] == str(mechelen.id) and data["moved_on"] == "2025-03-01"


def test_a_member_cannot_move_to_the_organisation_it_belongs_to(engine: Engine) -> None:
    organisation = zemst(engine)
    member = an(engine, organisation)
    with pytest.raises(Conflict):
        run(
            engine,
            handlers.move_member,
            handlers.MoveMember(member_id=member.id, organisation_id=organisation.id),
        )


def test_leaving_the_network_also_ends_knowledge_sharing(engine: Engine) -> None:
    member = an(engine, zemst(engine))
    run(engine, handlers.join_knowledge_sharing, handlers.JoinKnowledgeSharing(member_id=member.id))
    left = run(
        engine, handlers.leave_network, handlers.LeaveNetwork(member_id=member.id, left_on=date(2025, 6, 30))
    )
    assert left.active is False and left.in_knowledge_sharing is False and left.left_on == date(2025, 6, 30)
    assert event_types(engine)[-3:] == ["knowledge_sharing.joined", "knowledge_sharing.left", "member.left"]


def test_leaving_twice_is_a_conflict_and_publishes_nothing_more(engine: Engine) -> None:
    member = an(engine, zemst(engine))
    run(engine, handlers.leave_network, handlers.LeaveNetwork(member_id=member.id))
    before = len(outbox(engine))
    with pytest.raises(Conflict):
        run(engine, handlers.leave_network, handlers.LeaveNetwork(member_id=member.id))
    assert len(outbox(engine)) == before


def test_rejoining_before_leaving_is_refused_and_after_it_is_a_new_join(engine: Engine) -> None:
    member = an(engine, zemst(engine))
    run(engine, handlers.leave_network, handlers.LeaveNetwork(member_id=member.id, left_on=date(2025, 6, 30)))
    with pytest.raises(Invalid) as refused:
        run(
            engine,
            handlers.rejoin_network,
            handlers.RejoinNetwork(member_id=member.id, joined_on=date(2025, 6, 1)),
        )
    assert refused.value.field == "joined_on"
    back = run(
        engine,
        handlers.rejoin_network,
        handlers.RejoinNetwork(member_id=member.id, joined_on=date(2025, 9, 1)),
    )
    assert back.active is True and back.left_on is None and back.joined_on == date(2025, 9, 1)
    assert event_types(engine)[-1] == "member.joined"


def test_nobody_shares_knowledge_from_before_joining_the_network(engine: Engine) -> None:
    member = an(engine, zemst(engine), joined_on=date(2025, 1, 15))
    command = handlers.JoinKnowledgeSharing(member_id=member.id, joined_on=date(2025, 1, 14))
    with pytest.raises(Invalid) as refused:
        run(engine, handlers.join_knowledge_sharing, command)
    assert refused.value.field == "joined_on"
    assert "knowledge_sharing.joined" not in event_types(engine)


def test_erasure_anonymises_forgets_the_contact_details_and_writes_a_tombstone_once(engine: Engine) -> None:
    member = an(engine, zemst(engine), phone="+32 15 00 00 00")
    run(
        engine,
        handlers.update_member,
        handlers.UpdateMember(member_id=member.id, last_name="Peeters-Janssens"),
    )
    erased = run(engine, handlers.erase_member, handlers.EraseMember(member_id=member.id))
    again = run(engine, handlers.erase_member, handlers.EraseMember(member_id=member.id))
    assert erased.first_name == "(gewist)" and erased.phone is None and erased.erased_on == domain.today()
    assert again.erased_on == erased.erased_on
    assert event_types(engine).count("member.erased") == 1
    values = [message.value or b"" for message in outbox(engine)]
    assert not any(b"Peeters" in value or b"+32 15" in value for value in values)
    contacts = [m for m in outbox(engine) if m.topic == topics.MEMBERS_CONTACTS]
    assert contacts[-1].value is None  # the tombstone


def test_an_erased_member_cannot_change_any_more(engine: Engine) -> None:
    member = an(engine, zemst(engine))
    run(engine, handlers.erase_member, handlers.EraseMember(member_id=member.id))
    with pytest.raises(Conflict, match="erased"):
        run(engine, handlers.update_member, handlers.UpdateMember(member_id=member.id, first_name="An"))


# --- the unit of work around a handler ----------------------------------------------------------


def test_the_idempotency_key_is_stored_with_the_answer_in_the_same_transaction(engine: Engine) -> None:
    key = IdempotencyKey(
        key="org-1", operation="POST /organisations", request_digest="d" * 64, status_code=201
    )
    organisation = zemst(engine)
    command = handlers.RegisterOrganisation(name="Stad Mechelen", kind="lokaal_bestuur")
    mechelen = run(engine, handlers.register_organisation, command, key)
    with Session(engine) as session:
        stored = session.get(IdempotencyRecord, "org-1")
        assert stored is not None and stored.subject == "an.medewerker@vvsg.be"
        assert stored.response["id"] == str(mechelen.id) and stored.response["name"] == "Stad Mechelen"
    assert organisation.id != mechelen.id


def test_a_refused_command_leaves_no_idempotency_key(engine: Engine) -> None:
    zemst(engine)
    key = IdempotencyKey(
        key="org-2", operation="POST /organisations", request_digest="d" * 64, status_code=201
    )
    with pytest.raises(Conflict):
        run(
            engine,
            handlers.register_organisation,
            handlers.RegisterOrganisation(name="X", kind="andere", nis_code="23096"),
            key,
        )
    assert count(engine, IdempotencyRecord) == 0


def test_only_staff_and_admin_see_who_did_what() -> None:
    assert domain.who_did_it("staff", "an.medewerker@vvsg.be") == "an.medewerker@vvsg.be"
    assert domain.who_did_it("admin", "an.medewerker@vvsg.be") == "an.medewerker@vvsg.be"
    assert domain.who_did_it("viewer", "an.medewerker@vvsg.be") is None
    assert domain.who_did_it("partner", "an.medewerker@vvsg.be") is None
