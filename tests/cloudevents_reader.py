"""Reading Kafka records the way another team would: with the CNCF CloudEvents SDK's Kafka binding
(`cloudevents.core.bindings.kafka.from_kafka_event`, SDK 2.x), then checking what it read against our
own decoder and the published schema its `dataschema` names. A test dependency only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from jsonschema import Draft202012Validator

from shared import events, topics

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "schemas"


def sdk_event(record: Any) -> BaseCloudEvent:
    """One aiokafka ConsumerRecord read by the SDK; raises whatever the SDK raises."""
    headers = {name: value for name, value in (record.headers or ())}
    return from_kafka_event(KafkaMessage(headers=headers, key=record.key, value=record.value))


@cache
def _validators() -> dict[str, Draft202012Validator]:
    found = {}
    for path in SCHEMAS.glob("*/v*.json"):
        schema = json.loads(path.read_text())
        found[schema["$id"]] = Draft202012Validator(schema)
    return found


@dataclass
class Reading:
    """What reading a set of records gave: how many of each kind, and what went wrong."""

    read: dict[str, int] = field(default_factory=dict)
    not_events: list[str] = field(default_factory=list)  # refused by the SDK and by our decoder alike
    failures: list[str] = field(default_factory=list)

    def count(self, kind: str) -> None:
        self.read[kind] = self.read.get(kind, 0) + 1


def kind_of(topic: str) -> str:
    if topic.endswith(".dlq"):
        return "dead letter"
    if topic.endswith(topics.MEMBERS_CONTACTS):
        return "contacts"
    return "domain"


def check(record: Any, reading: Reading) -> None:
    """Reads one record with the SDK and checks it; adds to `reading`."""
    kind = kind_of(record.topic)
    where = f"{record.topic}@{record.partition}:{record.offset}"
    header_names = [name for name, _value in (record.headers or ())]
    try:
        event = sdk_event(record)
    except Exception as exc:  # noqa: BLE001 - whatever the SDK raises is the finding
        if kind != "contacts" and _refused_by_us(record.value):
            # a record a test wrote deliberately broken (or its dead-letter copy): nobody can read it
            reading.not_events.append(f"{where}: {type(exc).__name__}")
        else:
            reading.failures.append(f"{where} ({kind}): the SDK cannot read it: {type(exc).__name__}: {exc}")
        return
    attributes = event.get_attributes()
    if kind == "contacts":
        problems = _contact_problems(record, attributes, event.get_data())
    else:
        if any(name.lower().startswith("ce_") for name in header_names):
            reading.failures.append(f"{where}: a ce_ header on a structured-mode record: {header_names}")
            return
        problems = _event_problems(record, attributes, event.get_data())
    reading.failures += [f"{where} ({kind}): {p}" for p in problems]
    reading.count(kind)


def _refused_by_us(value: bytes | None) -> bool:
    try:
        events.decode(value)
    except events.InvalidEvent:
        return True
    return False


def _contact_problems(record: Any, attributes: dict[str, Any], data: Any) -> list[str]:
    problems = []
    if attributes.get("type") != events.CONTACT_DETAILS_TYPE:
        problems.append(f"type {attributes.get('type')!r}")
    if record.key is None or attributes.get("subject") != record.key.decode():
        problems.append("subject is not the record key")
    if record.value is None and data is not None:
        problems.append("a tombstone read with data")
    return problems


def _as_ours(event_type: str, data: Any) -> events.EventData | None:
    """The SDK's `data` read by our model of the type and version written, upcast as `decode` does; None
    if our model refuses it."""
    try:
        return events.upcast(events.CATALOGUE[event_type].model_validate(data))
    except ValueError:  # pydantic's ValidationError
        return None


def _event_problems(record: Any, attributes: dict[str, Any], data: Any) -> list[str]:
    try:
        ours = events.decode(record.value)
    except events.InvalidEvent:
        # not one of ours (a test's record of an unknown type, or why it is a dead letter): the SDK read
        # it all the same, and there is nothing of ours to compare it with
        return []
    envelope = ours.envelope
    expected = {
        "id": envelope.id,
        "source": envelope.source,
        "type": envelope.type,
        "subject": envelope.subject,
        "specversion": "1.0",
    }
    problems = [
        f"{name}: SDK {attributes.get(name)!r}, ours {value!r}"
        for name, value in expected.items()
        if attributes.get(name) != value
    ]
    if attributes.get("time") != envelope.time:
        problems.append(f"time: SDK {attributes.get('time')!r}, ours {envelope.time!r}")
    if _as_ours(envelope.type, data) != ours.data:
        problems.append("data differs")
    if record.key is None or record.key.decode() != envelope.subject:
        problems.append("subject is not the record key")
    schema_id = attributes.get("dataschema")
    if schema_id is not None:  # records written before dataschema was set have none
        validator = _validators().get(str(schema_id))
        if validator is None:
            problems.append(f"dataschema {schema_id} is not a published schema")
        else:
            problems += [f"data against {schema_id}: {e.message}" for e in validator.iter_errors(data)]
    return problems
