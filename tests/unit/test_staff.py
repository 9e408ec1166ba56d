"""Pseudonymous staff ids (shared.staff): stable, keyed, never the subject, and resolvable only where
they were recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session

from shared import staff
from shared.db import make_engine
from shared.staff import StaffId


def test_the_id_is_stable_and_does_not_show_the_subject() -> None:
    first = staff.pseudonym("an.medewerker@vvsg.be")
    assert first == staff.pseudonym("an.medewerker@vvsg.be")
    assert first != staff.pseudonym("bert.medewerker@vvsg.be")
    assert staff.is_pseudonym(first)
    assert "@" not in first and "medewerker" not in first


def test_without_the_key_nobody_recomputes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    ours = staff.pseudonym("an.medewerker@vvsg.be")
    monkeypatch.setenv("STAFF_ID_SECRET", "another key altogether, " + "y" * 20)
    assert staff.pseudonym("an.medewerker@vvsg.be") != ours


def test_recorded_ids_resolve_and_a_staff_id_is_not_hashed_again(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/staff.db")
    StaffId.__table__.create(engine)  # type: ignore[attr-defined]
    with Session(engine) as session:
        an = staff.record(session, "an.medewerker@vvsg.be")
        assert staff.record(session, "an.medewerker@vvsg.be") == an  # recorded once, no conflict
        assert staff.record(session, an) == an  # a reaction acting for the person who caused it
        session.commit()
    with Session(engine) as session:
        unknown = staff.pseudonym("nobody@vvsg.be")
        assert staff.resolve(session, {an, unknown}) == {an: "an.medewerker@vvsg.be"}
    engine.dispose()
