"""session.scheduled/rescheduled v1 stays readable forever: a history whose first half was written in
v1 exactly as the producers wrote it before v2 (no dataschema, the `ce_type` header, the staff member's
address as actor) and whose second half is v2 gives the KPI service the same answer as the same year
written all in v2 (with the new fields filled in) — live through the projector, and after a rebuild.

Both histories go on topics of their own prefixes, which the end-of-suite scans do not judge: the old
records are what older code wrote, kept as they are."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.kpi.api import GENERATION_HEADER
from shared import events
from shared.kafka import make_producer
from tests import infra, kpi_year
from tests.infra import ROOT, ServiceProcess, wait_until

pytestmark = pytest.mark.e2e

Record = tuple[str, bytes, bytes, list[tuple[str, bytes]]]
SESSION_EVENTS = (events.SessionScheduled, events.SessionRescheduled)


def _as_v1(payload: events.EventData) -> events.EventData:
    older = (
        events.SessionScheduledV1
        if isinstance(payload, events.SessionScheduled)
        else events.SessionRescheduledV1
    )
    return older.model_validate(payload.model_dump(mode="json"))


def _with_v2_fields(payload: events.EventData) -> events.EventData:
    return payload.model_copy(
        update={
            "location": "Bischoffsheimlaan 1-8, 1000 Brussel",
            "online_link": "https://meet.vvsg.be/sessie",
            "description": "Praktisch: koffie vanaf half negen.",
            "registration_deadline": datetime(2025, 1, 1, tzinfo=UTC),
        }
    )


def _records(data: list[events.EventData], *, mixed: bool) -> list[Record]:
    """One minute apart, as the outbox publishes them; in the mixed history the first half of the
    session events as the code before v2 wrote them."""
    cut = len(data) // 2
    records: list[Record] = []
    for index, payload in enumerate(data):
        time = kpi_year.T0 + timedelta(minutes=index)
        old = mixed and index < cut and isinstance(payload, SESSION_EVENTS)
        if isinstance(payload, SESSION_EVENTS):
            payload = _as_v1(payload) if old else _with_v2_fields(payload)
        envelope = events.new_envelope(payload, source="/services/events", time=time)
        headers = [("content-type", events.CONTENT_TYPE.encode())]
        if old:
            del envelope["dataschema"]
            envelope["actor"] = "an.medewerker@vvsg.be"
            headers.append(("ce_type", envelope["type"].encode()))
        records.append((payload.TOPIC, payload.key().encode(), events.encode(envelope), headers))
    return records


async def _publish(bootstrap: str, prefix: str, records: list[Record]) -> None:
    producer = make_producer(bootstrap, "test-history")
    await producer.start()
    try:
        for topic, key, value, headers in records:
            await producer.send_and_wait(prefix + topic, value=value, key=key, headers=headers)
    finally:
        await producer.stop()


def _answer(kpi: httpx.Client) -> tuple[str, list[Any]]:
    response = kpi.get("/kpis/2025")
    assert response.status_code == 200, response.text
    kpis = response.json()["kpis"]
    return response.headers[GENERATION_HEADER], sorted((k["code"], k["value"], k["items"]) for k in kpis)


def _projected(kpi: httpx.Client) -> bool:
    _generation, answer = _answer(kpi)
    return all(
        value == kpi_year.EXPECTED[code] for code, value, _items in answer if code in kpi_year.EXPECTED
    )


def _generation_is(kpi: httpx.Client, generation: str) -> bool:
    return _answer(kpi)[0] == generation


def _rebuild(bootstrap: str, prefix: str, url: str) -> None:
    env = {"DATABASE_URL": url, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, "KAFKA_TOPIC_PREFIX": prefix}
    finished = subprocess.run(
        [sys.executable, "-m", "services.kpi.rebuild", "--batch-size", "10"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert finished.returncode == 0, finished.stderr


@pytest.fixture
def histories(kafka_bootstrap: str) -> Iterator[dict[str, str]]:
    prefixes = {name: f"h{uuid.uuid4().hex[:10]}." for name in ("mixed", "v2")}
    for prefix in prefixes.values():
        infra.create_topics(kafka_bootstrap, prefix)
    yield prefixes
    for prefix in prefixes.values():
        infra.delete_topics(kafka_bootstrap, prefix)


def test_mixed_v1_and_v2_history_gives_the_same_kpis_live_and_after_a_rebuild(
    services: Callable[..., ServiceProcess], kafka_bootstrap: str, histories: dict[str, str], tmp_path: Path
) -> None:
    data = kpi_year.year_data()
    mixed = _records(data, mixed=True)
    written = {
        json.loads(value)["type"].rsplit(".", 1)[-1] for _t, _k, value, _h in mixed if b".session." in value
    }
    assert written == {"v1", "v2"}
    asyncio.run(_publish(kafka_bootstrap, histories["mixed"], mixed))
    asyncio.run(_publish(kafka_bootstrap, histories["v2"], _records(data, mixed=False)))

    urls = {name: f"sqlite:///{tmp_path}/kpi-{name}.db" for name in histories}
    kpis = {
        name: services("kpi", urls[name], KAFKA_TOPIC_PREFIX=prefix).client("viewer")
        for name, prefix in histories.items()
    }
    try:
        for name, kpi in kpis.items():
            wait_until(partial(_projected, kpi), 45, 0.3, f"the live projection of the {name} history")
        live = {name: _answer(kpi) for name, kpi in kpis.items()}
        assert live["mixed"] == live["v2"]

        for name, prefix in histories.items():
            _rebuild(kafka_bootstrap, prefix, urls[name])
        for name, kpi in kpis.items():
            wait_until(partial(_generation_is, kpi, "2"), 30, 0.2, f"the {name} rebuild to take over")
        rebuilt = {name: _answer(kpi) for name, kpi in kpis.items()}
        assert rebuilt["mixed"] == rebuilt["v2"] == ("2", live["v2"][1])
    finally:
        for kpi in kpis.values():
            kpi.close()
