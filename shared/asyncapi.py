"""AsyncAPI documents generated from the code with FastStream: what each service publishes and what it
consumes, as CloudEvents envelopes around the catalogue's payload models.

    python -m shared.asyncapi --write     # regenerate docs/asyncapi/<service>.json

A test fails when a committed document no longer matches what the code declares.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any, Literal

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, ConfigDict, create_model

from shared import events, topics
from shared.contacts import ContactRecord

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "asyncapi"
SERVICES = ("members", "events", "feedback", "newsletter", "kpi")


@dataclass(frozen=True)
class Contract:
    """The events a service publishes and the records it consumes, by topic (base names)."""

    service: str
    title: str
    publishes: list[type[events.EventData]] = field(default_factory=list)
    consumes: dict[str, list[type[events.EventData]]] = field(default_factory=dict)
    publishes_contacts: bool = False
    consumes_contacts: bool = False


def _envelope(model: type[events.EventData]) -> type[BaseModel]:
    """The CloudEvents structured-mode record carrying one payload model."""
    fields: dict[str, Any] = {
        "specversion": (Literal["1.0"], ...),
        "id": (str, ...),
        "source": (str, ...),
        "type": (Literal[model.type_name()], ...),
        "subject": (str, ...),
        "time": (datetime, ...),
        "datacontenttype": (Literal["application/json"], "application/json"),
        "correlationid": (str | None, None),
        "causationid": (str | None, None),
        "actor": (str | None, None),
        "data": (model, ...),
    }
    envelope: type[BaseModel] = create_model(
        f"{model.__name__}Event",
        __config__=ConfigDict(title=model.type_name()),
        __doc__=f"CloudEvents 1.0 envelope of {model.NAME} v{model.VERSION}; key = {model.KEY_FIELD}.",
        **fields,
    )
    return envelope


def specification(contract: Contract) -> dict[str, Any]:
    broker = KafkaBroker("kafka:9092")
    for model in contract.publishes:
        broker.publisher(
            model.TOPIC,
            title=f"{model.TOPIC}/{model.NAME}",
            description=(model.__doc__ or model.NAME).strip(),
            schema=_envelope(model),
        )
    if contract.publishes_contacts:
        broker.publisher(
            topics.MEMBERS_CONTACTS,
            title=f"{topics.MEMBERS_CONTACTS}/contact",
            description="Compacted: the latest contact details per member id; a null value is a tombstone.",
            schema=ContactRecord,
        )
    group = f"{contract.service}"
    for topic, models in contract.consumes.items():
        for model in models:
            _subscribe(broker, topic, f"{topic}/{model.NAME}", _envelope(model), group)
    if contract.consumes_contacts:
        _subscribe(
            broker, topics.MEMBERS_CONTACTS, f"{topics.MEMBERS_CONTACTS}/contact", ContactRecord, group
        )
    spec = AsyncAPI(
        broker,
        title=contract.title,
        version="1.0.0",
        description=f"Events of the {contract.service} service (CloudEvents 1.0, structured JSON mode).",
        schema_version="3.0.0",
    )
    return json.loads(spec.to_specification().to_json())  # type: ignore[no-any-return]


def _subscribe(broker: KafkaBroker, topic: str, title: str, schema: type[BaseModel], group: str) -> None:
    def handler(message: Any) -> None:  # documentation only: the real consumers are TrackedConsumers
        return None

    handler.__annotations__ = {"message": schema, "return": None}
    handler.__name__ = title.replace(".", "_").replace("/", "__")
    broker.subscriber(topic, group_id=group, title=title)(handler)


def contract_of(service: str) -> Contract:
    module = importlib.import_module(f"services.{service}.app")
    contract: Contract = module.CONTRACT
    return contract


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}"
)


def html(document: dict[str, Any]) -> str:
    """A plain page of the document: channels, their operations and message fields (no CDN)."""
    info = document.get("info", {})
    operations = document.get("operations", {})
    schemas = document.get("components", {}).get("schemas", {})
    rows = []
    for name, operation in sorted(operations.items()):
        channel = operation.get("channel", {}).get("$ref", "").rsplit("/", 1)[-1]
        address = document.get("channels", {}).get(channel, {}).get("address", channel)
        messages = document.get("channels", {}).get(channel, {}).get("messages", {})
        fields = []
        for message in messages.values():
            ref = message.get("$ref", "").rsplit("/", 1)[-1]
            payload = document.get("components", {}).get("messages", {}).get(ref, {}).get("payload", {})
            schema = schemas.get(payload.get("$ref", "").rsplit("/", 1)[-1], payload)
            data = schema.get("properties", {}).get("data", {})
            data_schema = schemas.get(data.get("$ref", "").rsplit("/", 1)[-1], data)
            fields = sorted((data_schema.get("properties") or schema.get("properties") or {}).keys())
        rows.append(
            f"<tr><td>{escape(operation.get('action', ''))}</td><td><code>{escape(str(address))}</code></td>"
            f"<td>{escape(name)}</td><td>{escape(', '.join(fields))}</td></tr>"
        )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(info.get('title', 'AsyncAPI'))}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(info.get('title', ''))}</h1><p>{escape(info.get('description', ''))}</p>"
        "<p><a href='/asyncapi.json'>asyncapi.json</a> (AsyncAPI 3.0)</p><table><thead><tr><th>action</th>"
        "<th>topic</th><th>operation</th><th>payload fields</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>"
    )


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="write docs/asyncapi/<service>.json")
    args = parser.parse_args(argv)
    DOCS.mkdir(parents=True, exist_ok=True)
    for service in SERVICES:
        try:
            contract = contract_of(service)
        except (ImportError, AttributeError):
            continue
        text = render(specification(contract))
        if args.write:
            (DOCS / f"{service}.json").write_text(text)
            print(f"wrote docs/asyncapi/{service}.json")
        else:
            sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
