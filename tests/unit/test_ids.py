"""shared.ids: the version 7 UUIDs every service makes its events' ids and its rows' keys with are laid
out as RFC 9562 says, ordered by the millisecond they were made in, and read by the contract like any
other id."""

from __future__ import annotations

import time
import uuid
from datetime import date

import pytest

from shared import events
from shared.ids import new_id, uuid7


def test_the_rfc_9562_example_comes_out_bit_for_bit() -> None:
    # RFC 9562, appendix A.6: unix_ts_ms 0x017F22E279B0, rand_a 0xCC3, rand_b 0x18C4DC0C0C07398F
    made = uuid7(0x017F22E279B0, (0xCC3 << 62) | 0x18C4DC0C0C07398F)
    assert made == uuid.UUID("017f22e2-79b0-7cc3-98c4-dc0c0c07398f")
    assert made.version == 7
    assert made.variant == uuid.RFC_4122


def test_bits_beyond_the_74_random_ones_change_nothing() -> None:
    assert uuid7(1, (1 << 74) | 5) == uuid7(1, 5)


@pytest.mark.parametrize("unix_ms", [-1, 1 << 48])
def test_a_moment_outside_48_bits_is_refused(unix_ms: int) -> None:
    with pytest.raises(ValueError, match="48 bits"):
        uuid7(unix_ms, 0)


def test_new_ids_carry_the_moment_they_were_made_and_sort_by_it() -> None:
    before = time.time_ns() // 1_000_000
    first = new_id()
    time.sleep(0.002)
    second = new_id()
    after = time.time_ns() // 1_000_000
    for made in (first, second):
        assert made.version == 7
        assert made.variant == uuid.RFC_4122
        assert before <= made.int >> 80 <= after
    assert str(first) < str(second)  # as text too: what the inbox's and the facts' keys hold


def test_new_ids_of_one_millisecond_differ() -> None:
    made = [new_id() for _ in range(10_000)]
    assert len(set(made)) == len(made)


def test_an_event_gets_a_version_7_id_and_correlation_id_and_decodes() -> None:
    data = events.MemberJoined(member_id=new_id(), organisation_id=uuid.uuid4(), joined_on=date(2025, 3, 1))
    envelope = events.new_envelope(data, source="/vvsg/members")
    assert uuid.UUID(envelope["id"]).version == 7
    assert uuid.UUID(envelope["correlationid"]).version == 7
    decoded = events.decode(events.encode(envelope))
    assert decoded.id == envelope["id"]
    assert decoded.data == data


def test_a_contact_record_gets_a_version_7_id() -> None:
    headers = events.binary_mode_headers(
        type_=events.CONTACT_DETAILS_TYPE, source="/vvsg/members", subject="x"
    )
    assert uuid.UUID(headers["ce_id"]).version == 7
