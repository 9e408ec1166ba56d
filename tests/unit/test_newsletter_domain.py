"""The newsletter's rules without I/O: addresses, consent, the age of a cause, SMTP answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.newsletter.domain import (
    Answer,
    ConsentEffect,
    classify,
    consent_effect,
    normalise_address,
    retry_delay,
    too_old_to_mail,
)
from shared.errors import Invalid


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" An.Peeters@Gemeente.BE ", "an.peeters@gemeente.be"),
        ("jan@bücherei.example", "jan@" + "bücherei".encode("idna").decode() + ".example"),
    ],
)
def test_an_address_is_trimmed_lower_cased_and_kept_in_ascii(raw: str, expected: str) -> None:
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "geen-adres",
        "a@b",
        "twee@@gemeente.be",
        "spatie in@gemeente.be",
        "x" * 65 + "@gemeente.be",
        "é@gemeente.be",
        "a@" + "d" * 250 + ".be",
    ],
)
def test_an_invalid_address_is_refused_with_the_field_named(raw: str) -> None:
    with pytest.raises(Invalid) as refused:
        normalise_address(raw)
    assert refused.value.field == "email"


@pytest.mark.parametrize(
    ("previous", "now", "effect"),
    [
        (None, True, ConsentEffect.SUBSCRIBE),
        (False, True, ConsentEffect.SUBSCRIBE),
        (True, False, ConsentEffect.UNSUBSCRIBE),
        (True, True, ConsentEffect.NONE),  # a new phone number does not undo an unsubscribe
        (None, False, ConsentEffect.NONE),
        (False, False, ConsentEffect.NONE),
    ],
)
def test_only_a_change_of_consent_changes_the_subscription(
    previous: bool | None, now: bool, effect: ConsentEffect
) -> None:
    assert consent_effect(previous, now) is effect


def test_an_event_older_than_the_limit_mails_nobody() -> None:
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    assert too_old_to_mail(now - timedelta(days=8), now, 7)
    assert not too_old_to_mail(now - timedelta(days=6, hours=23), now, 7)


@pytest.mark.parametrize(
    ("code", "answer"),
    [
        (250, Answer.ACCEPTED),
        (550, Answer.REFUSED),
        (554, Answer.REFUSED),
        (451, Answer.DEFERRED),
        (421, Answer.DEFERRED),
    ],
)
def test_a_5xx_is_permanent_and_a_4xx_is_tried_again(code: int, answer: Answer) -> None:
    assert classify(code) is answer


def test_retries_back_off_exponentially_up_to_a_ceiling() -> None:
    assert [retry_delay(n, 1, 5).total_seconds() for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]
