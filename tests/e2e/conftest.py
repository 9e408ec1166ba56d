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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """With pytest-xdist (`-n 2 --dist loadgroup`), the end-to-end tests run in one worker, in file
    order: the scans at the end (test_zz_*) read the topics of the tests before them in that process."""
    for item in items:
        if item.nodeid.startswith("tests/e2e/"):
            item.add_marker(pytest.mark.xdist_group("e2e"))
