"""Every record the end-to-end suite left on the broker — domain topics, the contacts topic and the dead
letters — reads with the CNCF CloudEvents SDK's Kafka binding, as another team would read it.

Named to run after the other end-to-end tests (and the privacy scan): it reads what they all wrote on
the topics of this session (every test that takes the `topic_prefix` fixture; tests.e2e.suite_topics),
so that on a broker shared with other runs it does not judge their records."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from shared import events, topics
from tests.cloudevents_reader import Reading, check
from tests.e2e import suite_topics
from tests.infra import ServiceProcess, produce, read_topic, read_topics, wait_until

pytestmark = pytest.mark.e2e

SUFFIXES = (
    *topics.DOMAIN_TOPICS,
    topics.MEMBERS_CONTACTS,
    *(topics.dead_letter_topic(t) for t in (*topics.DOMAIN_TOPICS, topics.MEMBERS_CONTACTS)),
)


async def _suite_topics(bootstrap: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return sorted(t for t in await admin.list_topics() if t.endswith(SUFFIXES) and suite_topics.ours(t))
    finally:
        await admin.close()


def test_the_cloudevents_sdk_reads_every_record_on_every_topic(
    services: Callable[..., ServiceProcess], tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    # this module's own share, so that every kind of record is there even when it runs alone: domain
    # events, contact details and a tombstone, and a dead letter the projector could not use
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    kpi = services("kpi", f"sqlite:///{tmp_path}/kpi.db")
    with members.client("staff") as client:
        org = client.post("/organisations", json={"name": "Gemeente Lezen", "kind": "lokaal_bestuur"}).json()
        person = client.post(
            "/members",
            json={
                "first_name": "Sam",
                "last_name": "Lezer",
                "email": "sam@lezen.be",
                "organisation_id": org["id"],
            },
        ).json()
        assert client.post(f"/members/{person['id']}/erase").status_code == 200
    unknown_version = events.new_envelope(
        events.MemberJoined(member_id=uuid.uuid4(), organisation_id=uuid.uuid4(), joined_on=date(2025, 1, 7)),
        source="/services/members",
    )
    unknown_version["type"] = unknown_version["type"].replace(".v1", ".v9")
    members_topic = topic_prefix + topics.MEMBERS_EVENTS
    asyncio.run(
        produce(
            kafka_bootstrap,
            [(members_topic, unknown_version["subject"].encode(), events.encode(unknown_version))],
        )
    )
    dead = topics.dead_letter_topic(members_topic)
    wait_until(lambda: asyncio.run(read_topic(kafka_bootstrap, dead)), 30, 0.5, "the projector's dead letter")
    contacts = topic_prefix + topics.MEMBERS_CONTACTS
    wait_until(
        lambda: any(r.value is None for r in asyncio.run(read_topic(kafka_bootstrap, contacts))),
        30,
        0.5,
        "the tombstone",
    )
    assert kpi.client("viewer").get("/health/ready").status_code == 200

    names = asyncio.run(_suite_topics(kafka_bootstrap))
    records = asyncio.run(read_topics(kafka_bootstrap, names))
    reading = Reading()
    for record in records:
        check(record, reading)
    print(
        f"CloudEvents SDK: {len(records)} records on {len(names)} topics; read {reading.read}; "
        f"{len(reading.not_events)} deliberately broken records (refused by our decoder too)"
    )
    assert reading.failures == [], "\n".join(reading.failures[:20])
    assert reading.read.get("domain", 0) > 0 and reading.read.get("contacts", 0) > 0
    assert reading.read.get("dead letter", 0) > 0
