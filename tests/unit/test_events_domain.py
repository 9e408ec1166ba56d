"""Rules of sessions, the waiting list, attendance and attendance lists, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.events import domain
from services.events.domain import AttendanceEntry, DayAttendance
from shared.errors import Conflict, Invalid

ONE_DAY = domain.plan(datetime(2025, 3, 4, 9, tzinfo=UTC), datetime(2025, 3, 4, 12, tzinfo=UTC), None)
# Monday 9:00 to Wednesday 16:00 Brussels time, 18 hours of training
THREE_DAYS = domain.plan(datetime(2025, 3, 10, 9), datetime(2025, 3, 12, 16), 18)
R1, R2 = uuid.UUID(int=1), uuid.UUID(int=2)
LATER = date(2026, 1, 1)


def test_the_end_must_lie_after_the_start() -> None:
    with pytest.raises(Invalid) as caught:
        domain.plan(datetime(2025, 3, 4, 12, tzinfo=UTC), datetime(2025, 3, 4, 9, tzinfo=UTC), None)
    assert caught.value.field == "ends_at"


def test_planned_hours_default_to_the_time_between_start_and_end() -> None:
    assert ONE_DAY.planned_hours == 3.0


def test_planned_hours_cannot_exceed_the_time_between_start_and_end() -> None:
    with pytest.raises(Invalid) as caught:
        domain.plan(datetime(2025, 3, 4, 9, tzinfo=UTC), datetime(2025, 3, 4, 12, tzinfo=UTC), 4)
    assert caught.value.field == "planned_hours"


def test_a_session_over_several_days_needs_its_planned_hours() -> None:
    with pytest.raises(Invalid) as caught:
        domain.plan(datetime(2025, 3, 10, 9), datetime(2025, 3, 12, 16), None)
    assert caught.value.field == "planned_hours"


def test_a_time_without_offset_is_brussels_time() -> None:
    assert THREE_DAYS.starts_at == datetime(2025, 3, 10, 8, tzinfo=UTC)
    assert THREE_DAYS.days == [date(2025, 3, 10), date(2025, 3, 11), date(2025, 3, 12)]


def test_the_business_date_of_a_late_evening_is_brussels_not_utc() -> None:
    # 31 December 23:30 UTC is already 1 January in Brussels
    assert domain.local_date(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == date(2026, 1, 1)


def test_an_on_request_session_names_who_asked_for_it() -> None:
    with pytest.raises(Invalid) as caught:
        domain.check_requested_by("workshop_on_request", None)
    assert caught.value.field == "requested_by_organisation_id"


def test_a_held_session_cannot_be_rescheduled() -> None:
    with pytest.raises(Conflict):
        domain.check_can_reschedule(domain.HELD)


def test_a_cancelled_session_cannot_be_held() -> None:
    with pytest.raises(Conflict):
        domain.held_on(domain.CANCELLED, ONE_DAY, None, LATER)


def test_a_session_is_not_held_before_it_starts() -> None:
    with pytest.raises(Invalid) as caught:
        domain.held_on(domain.SCHEDULED, ONE_DAY, date(2025, 3, 3), LATER)
    assert caught.value.field == "held_on"


def test_held_on_defaults_to_the_last_day_of_the_session() -> None:
    assert domain.held_on(domain.SCHEDULED, THREE_DAYS, None, LATER) == date(2025, 3, 12)


def test_held_on_may_not_lie_in_the_future() -> None:
    with pytest.raises(Invalid):
        domain.held_on(domain.SCHEDULED, ONE_DAY, date(2025, 3, 5), date(2025, 3, 4))


def test_a_full_session_puts_newcomers_on_the_waiting_list() -> None:
    assert domain.goes_on_waiting_list(confirmed=2, capacity=3, waiting=0) is False
    assert domain.goes_on_waiting_list(confirmed=3, capacity=3, waiting=0) is True
    assert domain.goes_on_waiting_list(confirmed=100, capacity=None, waiting=0) is False


def test_a_freed_seat_promotes_one_from_the_waiting_list() -> None:
    assert domain.promotions(confirmed=2, capacity=3, waiting=2) == 1
    assert domain.promotions(confirmed=3, capacity=3, waiting=2) == 0
    assert domain.promotions(confirmed=2, capacity=3, waiting=0) == 0


def test_a_registration_with_attended_hours_cannot_be_cancelled() -> None:
    with pytest.raises(Conflict):
        domain.check_can_cancel_registration(domain.SCHEDULED, domain.REGISTERED, 1.5)


def test_attendance_cannot_be_recorded_for_a_cancelled_session() -> None:
    with pytest.raises(Conflict):
        domain.check_can_record_attendance(domain.CANCELLED, ONE_DAY, datetime(2025, 3, 5, tzinfo=UTC))


def test_attendance_cannot_be_recorded_before_the_session_starts() -> None:
    with pytest.raises(Conflict):
        domain.check_can_record_attendance(domain.SCHEDULED, ONE_DAY, datetime(2025, 3, 4, 8, tzinfo=UTC))


def test_attended_without_hours_counts_the_planned_hours_of_a_one_day_session() -> None:
    plan = domain.plan_attendance(ONE_DAY, {}, [AttendanceEntry(R1, True)], LATER)
    assert plan.days == {R1: {date(2025, 3, 4): DayAttendance(True, 3.0)}}


def test_partial_attendance_counts_partly() -> None:
    plan = domain.plan_attendance(ONE_DAY, {}, [AttendanceEntry(R1, True, 1.5)], LATER)
    assert domain.totals(plan.days[R1]) == DayAttendance(True, 1.5)


def test_hours_above_the_planned_hours_are_refused() -> None:
    plan = domain.plan_attendance(ONE_DAY, {}, [AttendanceEntry(R1, True, 3.5)], LATER)
    assert [p.field for p in plan.problems] == ["hours"]
    assert plan.changed == []


def test_a_later_record_for_the_same_day_replaces_the_earlier_one() -> None:
    existing = {R1: {date(2025, 3, 4): DayAttendance(True, 3.0)}}
    plan = domain.plan_attendance(ONE_DAY, existing, [AttendanceEntry(R1, True, 2)], LATER)
    assert domain.totals(plan.days[R1]) == DayAttendance(True, 2.0)


def test_a_multi_day_training_adds_up_its_days() -> None:
    existing = {R1: {date(2025, 3, 10): DayAttendance(True, 6.0)}}
    entries = [
        AttendanceEntry(R1, True, 6, date(2025, 3, 11)),
        AttendanceEntry(R1, False, None, date(2025, 3, 12)),
    ]
    plan = domain.plan_attendance(THREE_DAYS, existing, entries, LATER)
    assert domain.totals(plan.days[R1]) == DayAttendance(True, 12.0)


def test_the_days_of_a_multi_day_training_together_stay_within_its_planned_hours() -> None:
    existing = {R1: {date(2025, 3, 10): DayAttendance(True, 10.0)}}
    plan = domain.plan_attendance(
        THREE_DAYS, existing, [AttendanceEntry(R1, True, 9, date(2025, 3, 11))], LATER
    )
    assert [p.field for p in plan.problems] == ["hours"]


def test_a_multi_day_training_needs_the_day() -> None:
    plan = domain.plan_attendance(THREE_DAYS, {}, [AttendanceEntry(R1, True, 6)], LATER)
    assert [p.field for p in plan.problems] == ["day"]


def test_a_day_outside_the_session_is_refused() -> None:
    plan = domain.plan_attendance(THREE_DAYS, {}, [AttendanceEntry(R1, True, 6, date(2025, 3, 13))], LATER)
    assert [p.field for p in plan.problems] == ["day"]


def test_not_attended_with_hours_is_refused() -> None:
    plan = domain.plan_attendance(ONE_DAY, {}, [AttendanceEntry(R1, False, 2)], LATER)
    assert [p.field for p in plan.problems] == ["hours"]


def test_one_bad_entry_leaves_the_whole_list_unapplied() -> None:
    entries = [AttendanceEntry(R1, True, 2, line=2), AttendanceEntry(R2, True, 9, line=3)]
    plan = domain.plan_attendance(ONE_DAY, {}, entries, LATER)
    assert [p.line for p in plan.problems] == [3]
    assert plan.changed == [] and plan.days == {}


def test_the_same_registration_and_day_twice_in_one_list_is_refused() -> None:
    entries = [AttendanceEntry(R1, True, 2, line=2), AttendanceEntry(R1, True, 3, line=5)]
    plan = domain.plan_attendance(ONE_DAY, {}, entries, LATER)
    assert [(p.line, p.field) for p in plan.problems] == [(5, "day")]


def test_a_new_schedule_must_still_fit_the_recorded_attendance() -> None:
    shorter = domain.plan(datetime(2025, 3, 4, 9, tzinfo=UTC), datetime(2025, 3, 4, 11, tzinfo=UTC), None)
    with pytest.raises(Conflict):
        domain.check_reschedule_keeps_attendance(shorter, {R1: {date(2025, 3, 4): DayAttendance(True, 3.0)}})


def test_session_totals_count_only_attended_registrations() -> None:
    registrations = [DayAttendance(True, 3.0), DayAttendance(True, 1.5), DayAttendance(False, 0.0)]
    assert domain.participants(registrations) == 2
    assert domain.session_totals(registrations).hours == 4.5


def test_an_email_digest_ignores_case_and_spaces() -> None:
    assert domain.email_digest(" An.Peeters@Zemst.BE ") == domain.email_digest("an.peeters@zemst.be")
    assert len(domain.email_digest("a@b.be")) == 64


def test_a_semicolon_list_with_dutch_headers_and_decimal_commas_is_understood() -> None:
    text = "lid;aanwezig;uren\n00000000-0000-0000-0000-000000000001;ja;1,5\nan@zemst.be;nee;\n"
    rows, problems = domain.parse_attendance_csv(text)
    assert problems == []
    assert [(r.line, r.identifier, r.attended, r.hours) for r in rows] == [
        (2, R1, True, 1.5),
        (3, None, False, None),
    ]
    assert rows[1].email_sha256 == domain.email_digest("an@zemst.be")


def test_an_attendance_list_without_an_attended_column_lists_attendees() -> None:
    rows, _ = domain.parse_attendance_csv("email,hours,day\nan@zemst.be,2:30,10/03/2025\n")
    assert (rows[0].attended, rows[0].hours, rows[0].day) == (True, 2.5, date(2025, 3, 10))


def test_lines_not_understood_are_reported_by_line() -> None:
    text = (
        "member_id,attended,hours\nnot-an-id,ja,1\n,ja,1\n00000000-0000-0000-0000-000000000001,misschien,1\n"
        + ("00000000-0000-0000-0000-000000000002,ja,veel\n")
    )
    rows, problems = domain.parse_attendance_csv(text)
    assert rows == []
    assert [(p.line, p.field) for p in problems] == [
        (2, "member"),
        (3, "member"),
        (4, "attended"),
        (5, "hours"),
    ]


def test_a_list_without_an_identifier_column_is_refused() -> None:
    _, problems = domain.parse_attendance_csv("naam,uren\nAn,2\n")
    assert [p.field for p in problems] == ["header"]


def test_an_excel_file_with_byte_order_mark_is_read() -> None:
    assert domain.decode_csv("\ufefflid;uren\n".encode()).startswith("lid")
    assert domain.decode_csv("dag;opmerking\n01/02/2025;één\n".encode("cp1252")).endswith("één\n")


def test_a_trajectory_is_not_completed_before_it_started() -> None:
    with pytest.raises(Invalid) as caught:
        domain.check_can_complete_trajectory(date(2025, 5, 1), None, date(2025, 4, 1))
    assert caught.value.field == "completed_on"


def test_a_business_date_in_the_future_is_refused() -> None:
    with pytest.raises(Invalid):
        domain.business_date(domain.today() + timedelta(days=1), "given_on")
