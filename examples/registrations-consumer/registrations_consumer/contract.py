"""Reading one Kafka record by the published contract only: the CNCF CloudEvents SDK's Kafka binding
reads the envelope, the JSON Schema its `dataschema` names (or, for older records without one, the schema
of its `type`) checks the data, and v1 of session.scheduled is upcast to v2 with the documented defaults."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka_event
from jsonschema import Draft202012Validator

TYPE_PREFIX = "be.vvsg.digitaleinclusie."
SCHEMA_BASE = "https://schemas.vvsg.be/digitaleinclusie/"


class Refused(ValueError):
    """A record that does not honour the contract (the reason says why)."""


@dataclass(frozen=True)
class Event:
    id: str
    name: str  # e.g. "session.scheduled"
    version: int  # the version the consumer works with (after upcasting)
    written_version: int  # the version on the topic
    subject: str | None
    data: dict[str, Any]


class Contract:
    """The published schemas of one folder (docs/schemas/ of the producing project), by their `$id`."""

    def __init__(self, schemas_dir: Path) -> None:
        self.validators: dict[str, Draft202012Validator] = {}
        for path in sorted(schemas_dir.glob("*/v*.json")):
            schema = json.loads(path.read_text())
            Draft202012Validator.check_schema(schema)
            self.validators[schema["$id"]] = Draft202012Validator(schema)
        if not self.validators:
            raise FileNotFoundError(f"no published schemas under {schemas_dir}")

    def read(
        self, headers: dict[str, bytes], key: bytes | None, value: bytes | None, interested: frozenset[str]
    ) -> Event | None:
        """The event, upcast; None for an event of a type this consumer does not follow."""
        try:
            cloudevent = from_kafka_event(KafkaMessage(headers=headers, key=key, value=value or b""))
        except Exception as exc:  # noqa: BLE001 - the SDK's reason is the reason
            raise Refused(f"not a CloudEvent: {type(exc).__name__}: {exc}") from None
        attributes = cloudevent.get_attributes()
        kind = str(attributes.get("type", ""))
        name, _, version_text = kind.removeprefix(TYPE_PREFIX).rpartition(".v")
        if not kind.startswith(TYPE_PREFIX) or not version_text.isdigit():
            raise Refused(f"not one of the catalogue's types: {kind!r}")
        version = int(version_text)
        if name not in interested:
            return None
        schema_id = str(attributes.get("dataschema") or f"{SCHEMA_BASE}{name}/v{version}.json")
        validator = self.validators.get(schema_id)
        if validator is None:
            raise Refused(f"no published schema {schema_id} (a newer version? update the schemas)")
        data = cloudevent.get_data()
        if not isinstance(data, dict):
            raise Refused("data is not a JSON object")
        errors = sorted(validator.iter_errors(data), key=lambda e: list(e.path))
        if errors:
            where = ".".join(str(part) for part in errors[0].path) or "data"
            raise Refused(f"data does not match {schema_id}: {where}: {errors[0].message}")
        data, newest = upcast(name, version, data)
        subject = attributes.get("subject")
        return Event(
            str(attributes["id"]), name, newest, version, None if subject is None else str(subject), data
        )


def upcast(name: str, version: int, data: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """v1 → v2 of the session events, with the defaults docs/EVENTS.md documents."""
    if name == "session.scheduled" and version == 1:
        location = "online" if data.get("format") == "online" else None
        extra = {
            "location": location,
            "online_link": None,
            "description": None,
            "registration_deadline": None,
        }
        return {**data, **extra}, 2
    return data, version
