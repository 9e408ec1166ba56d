"""Schemathesis against every service's OpenAPI document, in the default run: a bounded number of
generated requests per operation (valid and invalid ones), sent with an admin token. No answer may be
a 5xx, carry a status the document does not declare, or break the schema (or the media type) the
service declares for it. The full run (every phase, stateful too) is test_fuzz_all_phases.py.

The cases are drawn with `APIOperation.as_strategy()` under Hypothesis's `@given`, one test per
operation: schemathesis' own pytest loaders do not run under pytest 9 (they rename `node._nodeid`)."""

from __future__ import annotations

import collections
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import infra
from tests.security import apps

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))  # per operation: about 2,000 cases
CASES: collections.Counter[str] = collections.Counter()
# schemathesis' own strategies draw from `random`, which Hypothesis frowns upon; nothing to do here
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")


def _documented() -> list[tuple[str, str, str]]:
    """Every operation of every service, read from apps that are built but never started."""
    found = []
    for name in apps.SERVICES:
        app = apps.build(
            name, Path(tempfile.gettempdir()), "127.0.0.1:9", "unused.", database_url="sqlite://"
        )
        found += sorted((name, method, path) for method, path in apps.documented_operations(app))
    return found


OPERATIONS = _documented()


class Fleet:
    """The service under test, started by schemathesis when it loads its schema (one at a time: the
    operations come grouped by service)."""

    def __init__(self, kafka_bootstrap: str, directory: Path) -> None:
        self.kafka_bootstrap = kafka_bootstrap
        self.directory = directory
        self.name: str | None = None
        self.schema: schemathesis.BaseSchema | None = None

    def load(self, name: str) -> schemathesis.BaseSchema:
        if self.name != name or self.schema is None:
            self.stop()
            prefix = f"t{uuid.uuid4().hex[:10]}."
            infra.create_topics(self.kafka_bootstrap, prefix)
            app = apps.build(
                name,
                self.directory,
                self.kafka_bootstrap,
                prefix,
                public_rate_per_minute=10**7,  # the public subscription endpoint is fuzzed too
                smtp_port=infra.free_port(),  # nobody listens there: confirmation mails stay queued
            )
            self.schema = schemathesis.openapi.from_asgi("/openapi.json", app)
            self.name = name
        return self.schema

    def stop(self) -> None:
        # schemathesis started the app's lifespan when it loaded the schema; it would run until exit
        shutdown_lifespans()
        self.name, self.schema = None, None


@pytest.fixture(scope="module")
def fleet(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = Fleet(kafka_bootstrap, tmp_path_factory.mktemp("fuzz"))
    yield fleet
    fleet.stop()
    line = "fuzzing cases: " + ", ".join(f"{name} {CASES[name]}" for name in apps.SERVICES)
    print(f"\n{line} (total {sum(CASES.values())})")


def _checks(path: str) -> list[schemathesis.CheckFunction]:
    checks = [
        not_a_server_error,
        status_code_conformance,
        response_schema_conformance,
        content_type_conformance,
    ]
    if path == "/health/ready":  # 503 (declared) is its answer while a consumer waits for its partitions
        checks.remove(not_a_server_error)
    return checks


@pytest.mark.parametrize(("service", "method", "path"), OPERATIONS, ids=[" ".join(o) for o in OPERATIONS])
def test_no_server_error_and_every_answer_matches_its_schema(
    fleet: Fleet, service: str, method: str, path: str
) -> None:
    operation = fleet.load(service)[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )
    checks = _checks(path)
    headers = infra.auth("admin")

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        derandomize=os.environ.get("FUZZ_RANDOM")
        is None,  # the same cases in every run: CI stays reproducible
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def fuzz(case: schemathesis.Case) -> None:
        if path == "/kpis/changes":  # a long poll: answer at once instead of waiting up to 60 s
            case.query = {**(case.query or {}), "wait": 0}
        CASES[service] += 1
        if path == "/kpis/{year}/stream":  # opened, it never ends: fuzzed without a token (the ticket)
            case.call_and_validate(checks=checks)
            return
        case.call_and_validate(headers=headers, checks=checks)

    fuzz()
