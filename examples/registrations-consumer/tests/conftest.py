"""Fixtures of the reference consumer's tests: the consumer importable without installing it, a fresh
SQLite store per test, and the real broker from KAFKA_BOOTSTRAP_SERVERS (the producing project's test
session sets it for the broker it starts, so CI runs these tests against it too)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


@pytest.fixture
def kafka_bootstrap_servers() -> str:
    address = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if not address:
        pytest.skip("no broker: set KAFKA_BOOTSTRAP_SERVERS to run the scenario against Kafka")
    return address
