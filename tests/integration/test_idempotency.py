"""`Idempotency-Key` on creating commands: a retried request gets the first answer and creates
nothing new; the same key for another request is a 422. Real service, real database (SQLite and
PostgreSQL through the `database_url` fixture), real broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.members.app import build
from shared.db import make_engine
from shared.settings import Settings
from tests.infra import AUTH_SECRET, auth

pytestmark = pytest.mark.integration


@pytest.fixture
def members(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[TestClient]:
    settings = Settings(
        service_name="members",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,  # type: ignore[arg-type]
        outbox_poll_seconds=0.1,
    )
    with TestClient(build(settings), headers=auth("staff", "an.medewerker@vvsg.be")) as client:
        yield client


def _count(database_url: str, table: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_a_retried_organisation_is_created_once(members: TestClient, database_url: str) -> None:
    body = {"name": "Gemeente Zemst", "kind": "lokaal_bestuur", "nis_code": "23096"}
    first = members.post("/organisations", json=body, headers={"Idempotency-Key": "org-zemst-1"})
    again = members.post("/organisations", json=body, headers={"Idempotency-Key": "org-zemst-1"})
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(database_url, "organisations") == 1
    assert _count(database_url, "outbox") == 1


def test_the_same_key_for_another_request_is_refused(members: TestClient, database_url: str) -> None:
    headers = {"Idempotency-Key": "org-key-2"}
    assert (
        members.post("/organisations", json={"name": "A", "kind": "andere"}, headers=headers).status_code
        == 201
    )
    other = members.post("/organisations", json={"name": "B", "kind": "andere"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"][-1] == "Idempotency-Key"
    assert _count(database_url, "organisations") == 1


def test_without_a_key_every_request_is_a_new_command(members: TestClient, database_url: str) -> None:
    for _ in range(2):
        assert members.post("/organisations", json={"name": "A", "kind": "andere"}).status_code == 201
    assert _count(database_url, "organisations") == 2


def test_a_refused_command_stores_no_key(members: TestClient, database_url: str) -> None:
    headers = {"Idempotency-Key": "org-key-3"}
    body = {"name": "Gemeente Zemst", "kind": "lokaal_bestuur", "nis_code": "23096"}
    assert members.post("/organisations", json=body).status_code == 201
    assert members.post("/organisations", json=body, headers=headers).status_code == 409  # NIS code taken
    assert _count(database_url, "idempotency_keys") == 0
