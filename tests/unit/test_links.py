"""Personal link tokens."""

from __future__ import annotations

import pytest

from shared.links import BadLink, make_token, read_token

SECRET = "link-secret-" + "q" * 32


def test_a_token_gives_back_its_id() -> None:
    assert read_token(SECRET, "feedback", make_token(SECRET, "feedback", "abc-123")) == "abc-123"


def test_a_token_for_another_purpose_is_refused() -> None:
    with pytest.raises(BadLink):
        read_token(SECRET, "newsletter-unsubscribe", make_token(SECRET, "feedback", "abc-123"))


def test_a_tampered_id_is_refused() -> None:
    token = make_token(SECRET, "feedback", "abc-123")
    with pytest.raises(BadLink):
        read_token(SECRET, "feedback", "abc-124" + token[len("abc-123") :])


def test_a_token_made_with_another_secret_is_refused() -> None:
    with pytest.raises(BadLink):
        read_token(SECRET, "feedback", make_token("other-" + "w" * 32, "feedback", "abc"))
