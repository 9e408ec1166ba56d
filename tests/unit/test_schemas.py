"""The published event schemas (docs/schemas/, tools.schemas): fresh, valid JSON Schema 2020-12, true to
the decoder, and guarded by the BACKWARD compatibility check."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from jsonschema import Draft202012Validator
from pydantic import Field, create_model

from shared import events
from tools import schemas

SAMPLES = [
    json.loads(line)
    for folder in (Path(__file__).resolve().parents[1] / "contract" / "samples",)
    for name in ("valid_v2.jsonl", "valid_tools.jsonl")
    for line in (folder / name).read_text().splitlines()
    if line.strip()
]


def test_the_committed_schemas_are_those_the_models_generate() -> None:
    fresh = schemas.generate()
    committed = schemas.committed()
    assert sorted(committed) == sorted(fresh), "run python -m tools.schemas --write"
    for path, schema in fresh.items():
        assert schemas.render(committed[path]) == schemas.render(schema), f"{path} is stale"
    assert schemas.main(["--check"]) == 0


def test_every_type_and_version_has_a_schema_named_by_its_id() -> None:
    committed = schemas.committed()
    assert len(committed) == len(events.CATALOGUE) == 33
    for model in events.CATALOGUE.values():
        schema = committed[f"{model.NAME}/v{model.VERSION}.json"]
        assert schema["$id"] == model.schema_id()
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        Draft202012Validator.check_schema(schema)


def _contract_records() -> list[dict[str, Any]]:
    shared = Path(__file__).resolve().parents[3] / "shared" / "contract" / "valid.jsonl"
    if not shared.exists():
        shared = Path(__file__).resolve().parents[2] / "shared" / "contract" / "valid.jsonl"
    lines = shared.read_text().splitlines() if shared.exists() else []
    return [json.loads(line)["value"] for line in lines if line.strip()] + [r["value"] for r in SAMPLES]


def test_what_the_decoder_accepts_the_published_schema_accepts() -> None:
    committed = schemas.committed()
    records = _contract_records()
    assert records
    for value in records:
        model = events.CATALOGUE[value["type"]]
        validator = Draft202012Validator(committed[f"{model.NAME}/v{model.VERSION}.json"])
        assert not list(validator.iter_errors(value["data"])), value["type"]
        # and what a producer writes now validates against the schema its `dataschema` names
        envelope = events.new_envelope(events.decode(json.dumps(value).encode()).data, source="/test")
        named = next(s for s in committed.values() if s["$id"] == envelope["dataschema"])
        assert not list(Draft202012Validator(named).iter_errors(envelope["data"]))


def test_v2_of_the_session_events_reads_everything_v1_allowed() -> None:
    committed = schemas.committed()
    for name in ("session.scheduled", "session.rescheduled"):
        assert schemas.breaking_changes(committed[f"{name}/v1.json"], committed[f"{name}/v2.json"]) == []


class _Changed(events.SessionScheduled):
    """Base of the deliberately changed versions below (built here, never published)."""


def _schema(model: type[events.EventData]) -> schemas.Schema:
    return schemas.schema_of(model)


BEFORE = _schema(events.SessionScheduled)


def _fields_without(name: str) -> type[events.EventData]:
    fields: dict[str, Any] = {
        k: (f.annotation, f) for k, f in events.SessionScheduled.model_fields.items() if k != name
    }
    removed: type[events.EventData] = create_model("Removed", __base__=events.EventData, **fields)
    removed.NAME, removed.VERSION, removed.TOPIC = "session.scheduled", 2, events.SessionScheduled.TOPIC
    removed.KEY_FIELD = "session_id"
    return removed


class _Retyped(_Changed):
    capacity: str | None = None  # type: ignore[assignment]


class _Tightened(_Changed):
    title: Annotated[str, Field(min_length=1, max_length=100)]


class _NarrowerEnum(_Changed):
    lead: Literal["vvsg", "joint"]


class _NoLongerNullable(_Changed):
    capacity: Annotated[int, Field(strict=True, ge=1)] = 1


class _NewRequired(_Changed):
    venue_id: uuid.UUID


class _NewOptional(_Changed):
    venue_id: uuid.UUID | None = None


class _Loosened(_Changed):
    title: Annotated[str, Field(min_length=1, max_length=1000)]


@pytest.mark.parametrize(
    ("changed", "reason"),
    [
        (_fields_without("theme"), "data.theme: field removed"),
        (_Retyped, "data.capacity"),
        (_Tightened, "data.title: maxLength lowered to 100"),
        (_NarrowerEnum, "data.lead: no longer accepts ['mediawijs']"),
        (_NoLongerNullable, "data.capacity"),
        (_NewRequired, "data.venue_id: required field added"),
    ],
    ids=["removed", "retyped", "tightened", "narrower", "not-nullable", "new-required"],
)
def test_a_breaking_change_fails_the_check(changed: type[events.EventData], reason: str) -> None:
    found = schemas.breaking_changes(BEFORE, _schema(changed))
    assert any(reason in problem for problem in found), found


@pytest.mark.parametrize(
    "changed", [_NewOptional, _Loosened, events.SessionScheduled], ids=lambda m: m.__name__
)
def test_a_compatible_change_passes_the_check(changed: type[events.EventData]) -> None:
    assert schemas.breaking_changes(BEFORE, _schema(changed)) == []


def test_the_command_refuses_to_write_a_breaking_change_over_a_published_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for path, schema in schemas.committed().items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(schemas.render(schema))
    tightened = {**schemas.generate()}
    tightened["session.scheduled/v2.json"] = _schema(_Tightened)
    monkeypatch.setattr(schemas, "DOCS", tmp_path)
    monkeypatch.setattr(schemas, "generate", lambda: tightened)
    assert schemas.main(["--check"]) == 1
    assert schemas.main(["--write"]) == 1
    assert "maxLength lowered to 100" in capsys.readouterr().err
    before = (tmp_path / "session.scheduled/v2.json").read_text()
    assert json.loads(before)["properties"]["title"]["maxLength"] == 500  # left as published
