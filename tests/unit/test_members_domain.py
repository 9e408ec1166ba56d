"""Membership rules, without I/O."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from services.members import domain
from shared.errors import Conflict, Invalid


def test_a_date_in_the_future_is_refused() -> None:
    with pytest.raises(Invalid) as caught:
        domain.business_date(domain.today() + timedelta(days=1), "joined_on")
    assert caught.value.field == "joined_on"


def test_no_date_means_today_in_brussels() -> None:
    assert domain.business_date(None, "joined_on") == domain.today()


def test_email_is_compared_case_insensitively() -> None:
    assert domain.normalise_email("  An.Peeters@Zemst.BE ") == "an.peeters@zemst.be"


def test_leaving_twice_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        domain.check_can_leave(False, date(2025, 1, 1), date(2025, 2, 1))


def test_leaving_before_joining_is_invalid() -> None:
    with pytest.raises(Invalid) as caught:
        domain.check_can_leave(True, date(2025, 3, 1), date(2025, 2, 1))
    assert caught.value.field == "left_on"


def test_moving_to_the_same_organisation_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        domain.check_can_move(True, "a", "a", date(2025, 1, 1), date(2025, 2, 1))


def test_a_member_who_left_cannot_move() -> None:
    with pytest.raises(Conflict):
        domain.check_can_move(False, "a", "b", date(2025, 1, 1), date(2025, 2, 1))


def test_rejoining_before_leaving_is_invalid() -> None:
    with pytest.raises(Invalid):
        domain.check_can_rejoin(False, date(2025, 5, 1), date(2025, 4, 1))


def test_only_active_members_join_knowledge_sharing() -> None:
    with pytest.raises(Conflict):
        domain.check_knowledge_sharing_join(active=False, already_in=False)
    with pytest.raises(Conflict):
        domain.check_knowledge_sharing_join(active=True, already_in=True)
    domain.check_knowledge_sharing_join(active=True, already_in=False)


def test_leaving_knowledge_sharing_requires_being_in_it() -> None:
    with pytest.raises(Conflict):
        domain.check_knowledge_sharing_leave(already_in=False)
