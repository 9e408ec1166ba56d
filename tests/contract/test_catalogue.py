"""The event catalogue v1 against the shared contract samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared import events
from shared.events import CATALOGUE, InvalidEvent

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contract"
if not CONTRACT.exists():  # CI lays shared/ beside the checkout; a developer may have it inside
    CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract"


def _lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CONTRACT / name).read_text().splitlines() if line.strip()]


VALID = _lines("valid.jsonl")
INVALID = _lines("invalid.jsonl")


def test_every_catalogue_type_has_a_valid_sample_and_every_sample_a_type() -> None:
    sampled = {r["value"]["type"] for r in VALID}
    assert sampled == set(CATALOGUE)
    assert len(CATALOGUE) == 28


@pytest.mark.parametrize("record", VALID, ids=lambda r: r["value"]["type"].split(".")[-2])
def test_valid_sample_is_accepted_on_its_topic_and_key(record: dict[str, Any]) -> None:
    event = events.decode(json.dumps(record["value"]).encode())
    assert record["topic"] == event.data.TOPIC
    assert event.data.key() == record["key"]
    assert event.envelope.subject == record["key"]


@pytest.mark.parametrize("record", VALID, ids=lambda r: r["value"]["type"].split(".")[-2])
def test_event_round_trips_through_a_new_envelope(record: dict[str, Any]) -> None:
    original = events.decode(json.dumps(record["value"]).encode())
    envelope = events.new_envelope(original.data, source=record["value"]["source"])
    again = events.decode(events.encode(envelope))
    assert again.data == original.data
    assert envelope["data"] == {k: v for k, v in record["value"]["data"].items() if k in envelope["data"]}


def test_unknown_fields_and_extensions_are_ignored() -> None:
    record = VALID[-1]
    assert "source_system" in record["value"]["data"] and "someextension" in record["value"]
    event = events.decode(json.dumps(record["value"]).encode())
    assert not hasattr(event.data, "source_system")
    assert event.data.model_dump(mode="json") == {
        "member_id": record["key"],
        "organisation_id": record["value"]["data"]["organisation_id"],
        "joined_on": "2025-01-07",
    }


@pytest.mark.parametrize("record", INVALID, ids=lambda r: r["why"])
def test_invalid_sample_is_refused(record: dict[str, Any]) -> None:
    with pytest.raises(InvalidEvent):
        events.decode(json.dumps(record["value"]).encode())


def test_bytes_that_are_not_json_are_refused() -> None:
    with pytest.raises(InvalidEvent, match="not JSON"):
        events.decode((CONTRACT / "not-json.bin").read_bytes())


def test_a_timestamp_without_offset_is_refused() -> None:
    value = next(r["value"] for r in VALID if r["value"]["type"].endswith("session.scheduled.v1"))
    broken = {**value, "data": {**value["data"], "starts_at": "2025-03-18T10:00:00"}}
    with pytest.raises(InvalidEvent, match="starts_at"):
        events.decode(json.dumps(broken).encode())


def test_event_payloads_carry_no_personal_fields() -> None:
    personal = {"email", "e_mail", "phone", "first_name", "last_name", "full_name", "comment", "comments"}
    for model in CATALOGUE.values():
        assert not personal & set(model.model_fields), model.NAME
