"""The event catalogue against the contract samples: v1 from the shared contract folder (read-only),
v2 and the types added after it (the tools catalogue) from tests/contract/samples/ beside it; every v1
record reads as the newest version (upcast)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from shared import events
from shared.events import CATALOGUE, InvalidEvent

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "contract"
if not CONTRACT.exists():  # CI lays shared/ beside the checkout; a developer may have it inside
    CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract"


def _lines(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (CONTRACT / name).read_text().splitlines() if line.strip()]


SAMPLES = Path(__file__).resolve().parent / "samples"


def _v2(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SAMPLES / name).read_text().splitlines() if line.strip()]


VALID = _lines("valid.jsonl") + _v2("valid_v2.jsonl") + _v2("valid_tools.jsonl")
INVALID = _lines("invalid.jsonl") + _v2("invalid_v2.jsonl") + _v2("invalid_tools.jsonl")


def _id(record: dict[str, Any]) -> str:
    name, version = record["value"]["type"].rsplit(".", 2)[-2:]
    return f"{name}.{version}"


def test_every_catalogue_type_has_a_valid_sample_and_every_sample_a_type() -> None:
    sampled = {r["value"]["type"] for r in VALID}
    assert sampled == set(CATALOGUE)
    assert len(CATALOGUE) == 33  # 31 events, two of them in v1 and v2
    assert {name for name, model in events.LATEST.items() if model.VERSION == 2} == {
        "session.scheduled",
        "session.rescheduled",
    }


@pytest.mark.parametrize("record", VALID, ids=_id)
def test_valid_sample_is_accepted_on_its_topic_and_key(record: dict[str, Any]) -> None:
    event = events.decode(json.dumps(record["value"]).encode())
    assert record["topic"] == event.data.TOPIC
    assert event.data.key() == record["key"]
    assert event.envelope.subject == record["key"]


@pytest.mark.parametrize("record", VALID, ids=_id)
def test_a_consumer_is_handed_the_newest_version(record: dict[str, Any]) -> None:
    event = events.decode(json.dumps(record["value"]).encode())
    assert type(event.data) is events.LATEST[event.data.NAME]
    assert event.envelope.type == record["value"]["type"]  # what was written stays visible


@pytest.mark.parametrize("record", VALID, ids=_id)
def test_event_round_trips_through_a_new_envelope(record: dict[str, Any]) -> None:
    original = events.decode(json.dumps(record["value"]).encode())
    envelope = events.new_envelope(original.data, source=record["value"]["source"])
    again = events.decode(events.encode(envelope))
    assert again.data == original.data
    assert envelope["type"] == original.data.type_name()  # written in the newest version
    assert envelope["dataschema"] == original.data.schema_id()
    written = record["value"]["data"]
    assert {k: v for k, v in envelope["data"].items() if k in written} == {
        k: v for k, v in written.items() if k in envelope["data"]
    }
    upcast_defaults = set(envelope["data"]) - set(written)
    assert all(envelope["data"][k] in (None, events.ONLINE) for k in upcast_defaults)


def test_a_v1_session_upcasts_with_the_documented_defaults() -> None:
    v1 = next(r["value"] for r in VALID if r["value"]["type"].endswith("session.scheduled.v1"))
    online = events.decode(json.dumps(v1).encode()).data
    assert isinstance(online, events.SessionScheduled)
    assert (online.location, online.online_link, online.description, online.registration_deadline) == (
        "online",
        None,
        None,
        None,
    )
    physical = {**v1, "data": {**v1["data"], "format": "physical"}}
    assert events.decode(json.dumps(physical).encode()).data.model_dump()["location"] is None
    rescheduled = next(r["value"] for r in VALID if r["value"]["type"].endswith("session.rescheduled.v1"))
    moved = events.decode(json.dumps(rescheduled).encode()).data
    assert isinstance(moved, events.SessionRescheduled)
    assert moved.location is None and moved.planned_hours == 2.5


def test_a_v1_record_is_checked_against_v1_before_it_is_upcast() -> None:
    v1 = next(r["value"] for r in VALID if r["value"]["type"].endswith("session.scheduled.v1"))
    broken = {**v1, "data": {k: v for k, v in v1["data"].items() if k != "format"}}
    with pytest.raises(InvalidEvent, match=r"session.scheduled v1: format"):
        events.decode(json.dumps(broken).encode())


def test_upcasters_chain_from_every_old_version_to_the_newest() -> None:
    for (name, version), model in events.VERSIONS.items():
        if version < events.LATEST[name].VERSION:
            assert (name, version) in events.UPCASTERS, model
    assert set(events.UPCASTERS) == {("session.scheduled", 1), ("session.rescheduled", 1)}


def test_unknown_fields_and_extensions_are_ignored() -> None:
    record = _lines("valid.jsonl")[-1]
    assert "source_system" in record["value"]["data"] and "someextension" in record["value"]
    event = events.decode(json.dumps(record["value"]).encode())
    assert not hasattr(event.data, "source_system")
    assert event.data.model_dump(mode="json") == {
        "member_id": record["key"],
        "organisation_id": record["value"]["data"]["organisation_id"],
        "joined_on": "2025-01-07",
    }


@pytest.mark.parametrize("record", INVALID, ids=lambda r: str(r["why"]))
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


def test_every_record_names_the_schema_of_its_data() -> None:
    for model in events.LATEST.values():
        assert (
            model.schema_id()
            == f"https://schemas.vvsg.be/digitaleinclusie/{model.NAME}/v{model.VERSION}.json"
        )


def test_event_payloads_carry_no_personal_fields() -> None:
    personal = {"email", "e_mail", "phone", "first_name", "last_name", "full_name", "comment", "comments"}
    for model in CATALOGUE.values():
        assert not personal & set(model.model_fields), model.NAME


def test_the_tool_events_key_by_tool_on_the_communications_topic() -> None:
    for name in ("tool.published", "tool.updated", "tool.retired"):
        model = events.LATEST[name]
        assert (model.TOPIC, model.KEY_FIELD, model.VERSION) == ("communications.events", "tool_id", 1)
    assert {r["value"]["type"].rsplit(".", 2)[-2] for r in _v2("invalid_tools.jsonl")} == {
        "published",
        "updated",
        "retired",
    }


# Values a field is set to in the mutations below: the wrong JSON types, the edges of the usual formats.
_MUTATIONS: tuple[Any, ...] = (
    None,
    "",
    "x",
    0,
    -1,
    6,
    1.5,
    True,
    [],
    {},
    "2025-01-07T00:00:00",
    "2025-01-07T10:00:00",
    "2025-01-07T10:00:00+01:00",
    "2025-1-7",
    "be.vvsg.digitaleinclusie.member.joined.v1",
    "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "nobody@example.org",
)


def _one_pass(value: bytes) -> events.Event | None:
    try:
        return events.decode(value)
    except InvalidEvent:
        return None


def _two_pass(value: bytes) -> events.Event | None:
    try:
        return events._why_refused(value)
    except InvalidEvent:
        return None


def _variants(value: dict[str, Any]) -> list[dict[str, Any]]:
    """The record with one attribute or one field of `data` left out, or set to each of `_MUTATIONS`."""
    found: list[dict[str, Any]] = []
    for name in value:
        found.append({k: v for k, v in value.items() if k != name})
        found += [{**value, name: mutation} for mutation in _MUTATIONS]
    data = value["data"]
    for name in data:
        found.append({**value, "data": {k: v for k, v in data.items() if k != name}})
        found += [{**value, "data": {**data, name: mutation}} for mutation in _MUTATIONS]
    return found


@pytest.mark.parametrize("record", VALID, ids=_id)
def test_the_one_pass_reading_accepts_what_the_field_by_field_reading_accepts(record: dict[str, Any]) -> None:
    """`decode` reads a record in one pass (attributes and typed `data` together); `_why_refused` reads
    the attributes, then `data` against the written version's model. They must accept the same records
    and give the same event: checked on the sample and on ~40 variants per field."""
    variants = [record["value"], *_variants(record["value"])]
    accepted = 0
    for variant in variants:
        value = json.dumps(variant).encode()
        ours, theirs = _one_pass(value), _two_pass(value)
        assert (ours is None) == (theirs is None), variant
        if ours is not None and theirs is not None:
            accepted += 1
            assert ours.data == theirs.data
            for name in events.Envelope.model_fields:
                assert getattr(ours.envelope, name) == getattr(theirs.envelope, name)
    # both kinds occur: the sample itself and variants of optional fields are accepted, most are refused
    assert 0 < accepted < len(variants)


def test_a_decoded_event_pickles_and_reads_back_equal() -> None:
    """Its envelope's class is made per type and version; pickle looks it up by name in shared.events."""
    decoded = [events.decode(json.dumps(record["value"]).encode()) for record in VALID]
    assert pickle.loads(pickle.dumps(decoded)) == decoded


def test_a_decoded_event_is_what_model_construct_makes() -> None:
    """`events.decode` builds the Event itself (`events._event`), not with pydantic's `model_construct`:
    every slot pydantic keeps on a model must be the same, and the event must behave the same."""
    for record in VALID:
        decoded = events.decode(json.dumps(record["value"]).encode())
        constructed = events.Event.model_construct(envelope=decoded.envelope, data=decoded.data)
        for slot in BaseModel.__slots__:
            assert getattr(decoded, slot) == getattr(constructed, slot), slot
        assert decoded == constructed
        assert decoded.model_dump() == constructed.model_dump()
        assert decoded.model_fields_set == constructed.model_fields_set == {"envelope", "data"}
        assert (
            decoded.model_fields_set
            is not events.decode(json.dumps(record["value"]).encode()).model_fields_set
        )
        with pytest.raises(ValidationError):  # still frozen
            decoded.data = constructed.data  # type: ignore[misc]
