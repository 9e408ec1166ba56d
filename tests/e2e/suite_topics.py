"""The topic prefixes this test session's end-to-end tests wrote under (filled by tests/e2e/conftest.py),
so that the scans at the end read this run's records and not those other runs left on a shared broker."""

from __future__ import annotations

PREFIXES: list[str] = []


def ours(topic: str) -> bool:
    return any(topic.startswith(prefix) for prefix in PREFIXES)
