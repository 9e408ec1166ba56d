"""The AsyncAPI documents committed under docs/asyncapi/ match what the services' brokers declare: their
real FastStream subscribers (the tracked consumers) and publishers (the outbox relay's)."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import pytest

from shared import events, topics
from tools import asyncapi

SERVICES = list(asyncapi.SERVICES)


def _committed(service: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((asyncapi.DOCS / f"{service}.json").read_text())
    return document


@pytest.mark.parametrize("service", SERVICES)
def test_the_committed_document_is_up_to_date(service: str) -> None:
    committed = (asyncapi.DOCS / f"{service}.json").read_text()
    generated = asyncapi.render(asyncapi.document(service))
    assert committed == generated, (
        f"run `python -m tools.asyncapi --write` and commit docs/asyncapi/{service}.json"
    )


def test_the_members_document_sends_every_members_event_and_the_contacts() -> None:
    document = _committed("members")
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {topics.MEMBERS_EVENTS, topics.MEMBERS_CONTACTS}
    assert {op["action"] for op in document["operations"].values()} == {"send"}
    types = {
        schema["properties"]["type"]["const"]
        for schema in document["components"]["schemas"].values()
        if "type" in schema.get("properties", {}) and "const" in schema["properties"]["type"]
    }
    expected = {m.type_name() for m in events.CATALOGUE.values() if m.TOPIC == topics.MEMBERS_EVENTS}
    assert types == expected


def test_every_consumer_is_documented_as_a_receive_operation_of_its_topics() -> None:
    document = _committed("newsletter")
    received = {
        document["channels"][op["channel"]["$ref"].rsplit("/", 1)[-1]]["address"]
        for op in document["operations"].values()
        if op["action"] == "receive"
    }
    assert received == {
        topics.MEMBERS_CONTACTS,
        topics.MEMBERS_EVENTS,
        topics.ACTIVITIES_EVENTS,
        topics.FEEDBACK_EVENTS,
    }


@pytest.mark.parametrize("service", SERVICES)
def test_every_message_documents_its_record_headers(service: str) -> None:
    document = _committed(service)
    plain = {
        ref["$ref"].rsplit("/", 1)[-1]
        for channel in document["channels"].values()
        if channel["address"] == topics.MEMBERS_CONTACTS
        for ref in channel["messages"].values()
    }
    for name, message in document["components"]["messages"].items():
        headers = message["headers"]["properties"]
        if name in plain:  # binary mode: the contact record is the value
            assert headers["content-type"]["const"] == "application/json"
            assert headers["ce_type"]["const"] == events.CONTACT_DETAILS_TYPE
        else:  # structured mode by the letter: no ce_ header at all
            assert headers["content-type"]["const"] == events.CONTENT_TYPE
            assert not [h for h in headers if h.startswith("ce_")]
            assert message["correlationId"]["location"] == "$message.payload#/correlationid"


def test_every_service_with_a_main_has_a_document() -> None:
    for service in ("members", "events", "feedback", "newsletter", "kpi"):
        if importlib.util.find_spec(f"services.{service}.__main__") is not None:
            assert service in SERVICES
