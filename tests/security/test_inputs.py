"""Inputs a schema-driven fuzzer does not make: numbers beyond a database integer, moments before the
year 1 in UTC, and JSON that Python reads but cannot write back (NaN, lone surrogates). None may
break a service (5xx); each is refused as invalid input."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests import infra
from tests.security import apps

SESSION = {
    "kind": "info_session",
    "title": "Digitale drempels",
    "theme": "toegankelijkheid",
    "lead": "vvsg",
    "format": "online",
    "starts_at": "2025-03-04T10:00:00+01:00",
    "ends_at": "2025-03-04T12:00:00+01:00",
}
JSON = {**infra.auth("admin"), "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def clients(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, TestClient]]:
    directory = tmp_path_factory.mktemp("inputs")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    with contextlib.ExitStack() as stack:
        yield {
            name: stack.enter_context(
                TestClient(
                    apps.build(name, directory, kafka_bootstrap, prefix), raise_server_exceptions=False
                )
            )
            for name in ("members", "events")
        }


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("members", "/members"),
        ("members", "/organisations"),
        ("events", "/sessions"),
        ("events", "/advice"),
        ("events", "/trajectories"),
    ],
)
def test_an_offset_beyond_a_database_integer_is_refused(
    clients: dict[str, TestClient], service: str, path: str
) -> None:
    response = clients[service].get(path, params={"offset": 2**63}, headers=infra.auth("admin"))
    assert response.status_code == 422


def test_a_capacity_beyond_a_database_integer_is_refused(clients: dict[str, TestClient]) -> None:
    response = clients["events"].post("/sessions", json={**SESSION, "capacity": 2**63}, headers=infra.auth())
    assert response.status_code == 422


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [
        ("0001-01-01T00:00:00+14:00", "0001-01-01T01:00:00+14:00"),
        ("0001-01-01T00:00:00", "0001-01-01T01:00:00"),  # Brussels time, before 0001-01-01 in UTC
        ("9999-12-31T23:00:00-14:00", "9999-12-31T23:30:00-14:00"),
    ],
)
def test_a_moment_outside_what_a_datetime_holds_in_utc_is_refused(
    clients: dict[str, TestClient], starts_at: str, ends_at: str
) -> None:
    body = {**SESSION, "starts_at": starts_at, "ends_at": ends_at}
    response = clients["events"].post("/sessions", json=body, headers=infra.auth())
    assert response.status_code == 422


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_a_json_number_that_is_not_a_number_is_refused(clients: dict[str, TestClient], literal: str) -> None:
    body = json.dumps({"kind": "andere"})[:-1] + f', "name": {literal}}}'
    response = clients["members"].post("/organisations", content=body, headers=JSON)
    assert response.status_code == 422


def test_a_lone_surrogate_in_a_text_field_is_refused(clients: dict[str, TestClient]) -> None:
    body = '{"name": "Zemst \\ud800", "kind": "lokaal_bestuur"}'
    response = clients["members"].post("/organisations", content=body, headers=JSON)
    assert response.status_code == 422


@pytest.fixture(scope="module")
def members_on_postgresql(
    kafka_bootstrap: str, postgres_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    with infra.postgres_database(postgres_server) as url:
        directory = tmp_path_factory.mktemp("inputs-pg")
        app = apps.build("members", directory, kafka_bootstrap, prefix, database_url=url)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client


def test_a_nul_character_in_a_text_field_is_refused_on_postgresql(members_on_postgresql: TestClient) -> None:
    body = {"name": "Zemst\u0000", "kind": "lokaal_bestuur"}
    response = members_on_postgresql.post("/organisations", json=body, headers=infra.auth("admin"))
    assert response.status_code == 422
