"""End-to-end fixtures: remember every topic prefix a test of this session used (tests.e2e.suite_topics)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e import suite_topics


@pytest.fixture(autouse=True)
def _remember_topic_prefix(request: pytest.FixtureRequest) -> Iterator[None]:
    if "topic_prefix" in request.fixturenames:
        suite_topics.PREFIXES.append(request.getfixturevalue("topic_prefix"))
    yield
