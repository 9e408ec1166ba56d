"""No personal data on domain topics; an erased person's contact record really leaves the broker.

Named to run after the other end-to-end tests: the scan reads every record that they, and this module,
left on the broker — the payloads, and on this session's topics also every envelope attribute (`actor`)
and every record header."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from shared import events, topics
from tests.e2e import suite_topics
from tests.infra import ServiceProcess, read_topic, read_topics, wait_until

pytestmark = pytest.mark.e2e

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_PHONE_LIKE = re.compile(r"(?<![\w-])(\+\d{2}|0)[\d ./]{7,14}\d(?![\w-])")


class _Phone:
    """A Belgian-style number: +32 or 0, then 8 to 10 more digits, with spaces, dots or slashes."""

    @staticmethod
    def search(text: str) -> bool:
        return any(9 <= sum(c.isdigit() for c in m.group()) <= 12 for m in _PHONE_LIKE.finditer(text))


PHONE = _Phone()
# ids, dates and timestamps are made of digits too; they are not phone numbers
NOT_TEXT = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d{2}-\d{2}.*)$")
DOMAIN_SUFFIXES = tuple(f".{t}" for t in topics.DOMAIN_TOPICS) + topics.DOMAIN_TOPICS


async def _all_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(await admin.list_topics())
    finally:
        await admin.close()


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_no_domain_topic_carries_a_name_an_email_address_or_a_phone_number(
    services: Callable[..., ServiceProcess], tmp_path: Path, kafka_bootstrap: str
) -> None:
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    with members.client("staff") as client:  # a person of our own, with a phone number, moved and erased
        org = client.post("/organisations", json={"name": "Gemeente Ergens", "kind": "lokaal_bestuur"}).json()
        other = client.post("/organisations", json={"name": "Stad Elders", "kind": "lokaal_bestuur"}).json()
        person = client.post(
            "/members",
            json={
                "first_name": "Zebedeüs",
                "last_name": "Quartelmaan",
                "email": "zebedeus.quartelmaan@example.be",
                "phone": "+32 470 12 34 56",
                "organisation_id": org["id"],
            },
        ).json()
        client.post(f"/members/{person['id']}/move", json={"organisation_id": other["id"]})
        client.post(f"/members/{person['id']}/erase")
        wait_until(lambda: client.get("/health/ready").status_code == 200, 10)
    time.sleep(1.0)  # let the relay publish what was committed last (no consumer to poll here)

    all_topics = asyncio.run(_all_topics(kafka_bootstrap))
    contact_topics = [t for t in all_topics if t.endswith(topics.MEMBERS_CONTACTS)]
    domain_topics = [t for t in all_topics if t.endswith(DOMAIN_SUFFIXES)]
    names: set[str] = {"Quartelmaan", "Zebedeüs Quartelmaan"}
    for record in asyncio.run(read_topics(kafka_bootstrap, contact_topics)):
        contact = json.loads(record.value) if record.value else {}
        first, last = contact.get("first_name"), contact.get("last_name")
        if first and last:
            names.add(f"{first} {last}")
            if len(last) >= 5 and last != "(gewist)":
                names.add(last)
    name_pattern = re.compile("|".join(rf"\b{re.escape(n)}\b" for n in sorted(names, key=len, reverse=True)))

    # the dead letters of the domain topics are domain records too (a contacts dead letter is a contact)
    dead_letters = [t for t in all_topics if t.endswith(tuple(f"{d}.dlq" for d in topics.DOMAIN_TOPICS))]
    scanned, envelopes_scanned, findings = 0, 0, []
    for record in asyncio.run(read_topics(kafka_bootstrap, domain_topics + dead_letters)):
        scanned += 1
        # the envelope's attributes (actor above all) and the record headers too, not only `data`: on
        # this session's topics only, since a shared broker keeps what older code wrote in other runs
        whole = suite_topics.ours(record.topic)
        texts = [(f"header {name}", value.decode(errors="replace")) for name, value in record.headers or ()]
        texts = texts if whole else []
        try:
            envelope = json.loads(record.value)
        except (TypeError, ValueError):
            envelope = None  # not an event (a test's deliberately broken record): no personal data either
        if isinstance(envelope, dict):
            texts += [("data", text) for text in _strings(envelope.get("data", {}))]
            if whole:
                envelopes_scanned += 1
                texts += [
                    (f"attribute {k}", t) for k, v in envelope.items() if k != "data" for t in _strings(v)
                ]
        for where, text in texts:
            if NOT_TEXT.match(text):
                continue
            for kind, pattern in (("e-mail", EMAIL), ("phone", PHONE), ("name", name_pattern)):
                if pattern.search(text):
                    findings.append((record.topic, record.offset, where, kind, text))
    print(
        f"PII scan: {scanned} records on {len(domain_topics)} domain and {len(dead_letters)} dead-letter "
        f"topics ({envelopes_scanned} whole envelopes and their headers), {len(names)} known names"
    )
    assert scanned > 0 and len(domain_topics) >= 4 and envelopes_scanned > 0
    assert findings == []


def test_after_erasure_and_compaction_the_contact_record_is_gone_from_the_topic(
    services: Callable[..., ServiceProcess], tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    contacts = topic_prefix + topics.MEMBERS_CONTACTS
    asyncio.run(_compact_eagerly(kafka_bootstrap, contacts))
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    with members.client("staff") as client:
        org = client.post("/organisations", json={"name": "Gemeente Wis", "kind": "lokaal_bestuur"}).json()
        person = client.post(
            "/members",
            json={
                "first_name": "Wanda",
                "last_name": "Wismans",
                "email": "wanda@wis.be",
                "organisation_id": org["id"],
            },
        ).json()
        client.patch(f"/members/{person['id']}", json={"phone": "+32 3 123 45 67"})
        assert client.post(f"/members/{person['id']}/erase").status_code == 200
    key = person["id"].encode()

    partition = _partition_of(kafka_bootstrap, contacts, key)

    def compacted() -> bool:
        # keep writing other keys to that partition: only rolled segments are compacted
        asyncio.run(_fill(kafka_bootstrap, contacts, partition))
        mine = [r for r in asyncio.run(read_topic(kafka_bootstrap, contacts)) if r.key == key]
        return bool(mine) and all(r.value is None for r in mine)

    wait_until(compacted, 90, 1.0, "the log cleaner to drop the erased person's contact records")


def _partition_of(bootstrap: str, topic: str, key: bytes) -> int:
    def find() -> int | None:
        return next((r.partition for r in asyncio.run(read_topic(bootstrap, topic)) if r.key == key), None)

    wait_until(lambda: find() is not None, 20, 0.2, "the person's contact records")
    partition = find()
    assert partition is not None
    return partition


async def _fill(bootstrap: str, topic: str, partition: int) -> None:
    from shared.kafka import make_producer

    producer = make_producer(bootstrap, "filler")
    await producer.start()
    try:
        # a binary-mode CloudEvent like every contact record, so that the SDK reads the filler too
        headers = events.binary_mode_headers(
            type_=events.CONTACT_DETAILS_TYPE, source="/tests/compaction-filler", subject="filler"
        )
        await producer.send_and_wait(
            topic,
            value=b"{}",
            key=b"filler",
            partition=partition,
            headers=[(name, value.encode()) for name, value in headers.items()],
        )
    finally:
        await producer.stop()


async def _compact_eagerly(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        # AlterConfigs replaces every override of the topic, so compaction is named again
        await admin.alter_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    topic,
                    configs={
                        "cleanup.policy": "compact",
                        "segment.ms": "200",
                        "min.cleanable.dirty.ratio": "0.01",
                        "min.compaction.lag.ms": "0",
                        "delete.retention.ms": "60000",
                    },
                )
            ]
        )
    finally:
        await admin.close()
