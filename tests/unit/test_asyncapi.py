"""The AsyncAPI documents committed under docs/asyncapi/ match what the code declares."""

from __future__ import annotations

import importlib
import importlib.util
import json

import pytest

from shared import asyncapi

SERVICES = [s for s in asyncapi.SERVICES if hasattr(importlib.import_module(f"services.{s}.app"), "CONTRACT")]


@pytest.mark.parametrize("service", SERVICES)
def test_the_committed_document_is_up_to_date(service: str) -> None:
    committed = (asyncapi.DOCS / f"{service}.json").read_text()
    generated = asyncapi.render(asyncapi.specification(asyncapi.contract_of(service)))
    assert committed == generated, (
        f"run `python -m shared.asyncapi --write` and commit docs/asyncapi/{service}.json"
    )


def test_the_members_document_names_every_event_it_publishes_and_the_contacts_topic() -> None:
    document = json.loads((asyncapi.DOCS / "members.json").read_text())
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {"members.events", "members.contacts"}
    sent = {name for name, op in document["operations"].items() if op["action"] == "send"}
    assert len(sent) == 9


def test_every_service_with_a_main_declares_its_contract() -> None:
    for service in asyncapi.SERVICES:
        if importlib.util.find_spec(f"services.{service}.__main__") is not None:
            assert service in SERVICES, f"services/{service}/app.py has no CONTRACT"
