"""What the benchmarks share: a broker on 127.0.0.1 (KAFKA_BOOTSTRAP_SERVERS, or one started here with
deploy.local_kafka in its own directory and port), fresh topics per run, a fast generator of a
representative mix of catalogue events, and a batched producer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import socket
import tempfile
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from sqlalchemy import create_engine, text

from shared import events, ids, topics
from shared.db import normalise_url
from shared.kafka import ensure_topics
from shared.topics import all_topics

PARTITIONS = 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def broker() -> Iterator[str]:
    """The broker to measure against; one started here is stopped at the end."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    from deploy import local_kafka

    state = Path(tempfile.mkdtemp(prefix="vvsg-bench-kafka-"))
    port = free_port()
    local_kafka.start(state, port, free_port(), heap="1g")
    try:
        yield f"127.0.0.1:{port}"
    finally:
        local_kafka.stop(state)


def fresh_prefix(bootstrap: str) -> str:
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    asyncio.run(ensure_topics(bootstrap, all_topics(partitions=PARTITIONS), prefix=prefix))
    return prefix


@contextlib.contextmanager
def postgres_database(server: str, purpose: str = "bench", keep: bool = False) -> Iterator[str]:
    """A fresh database on the PostgreSQL server `server` (a URL of any database on it), named after
    `purpose`; its URL is yielded, and it is dropped at the end (connections and all) unless `keep`:
    then its URL is printed, to look into it afterwards."""
    name = f"{purpose}_{uuid.uuid4().hex[:8]}"
    url = server.rsplit("/", 1)[0] + "/" + name
    admin = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url
    finally:
        if keep:
            print(f"  kept the database: {url}", flush=True)
        else:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def fresh_database(
    postgres: str | None, directory: Path, file: str, purpose: str, keep: bool = False
) -> Iterator[str]:
    """The URL of a fresh database for a benchmark: the SQLite file `file`.db in `directory`, or, given
    a PostgreSQL server's URL `postgres`, a new database on it (`postgres_database(postgres, purpose,
    keep)`: dropped afterwards unless `keep`)."""
    if postgres is None:
        yield f"sqlite:///{directory}/{file}.db"
        return
    with postgres_database(postgres, purpose, keep) as url:
        yield url


# --- a representative mix ---------------------------------------------------------------------------

_SOURCE = {
    topics.MEMBERS_EVENTS: "/services/members",
    topics.ACTIVITIES_EVENTS: "/services/events",
    topics.FEEDBACK_EVENTS: "/services/feedback",
    topics.COMMUNICATIONS_EVENTS: "/services/newsletter",
}
_TYPES = {model.NAME: model for model in events.CATALOGUE.values()}
_SESSION_KINDS = [
    ("network_meeting_general", 2),
    ("network_meeting_thematic", 2),
    ("info_session", 3),
    ("inspiration_day_physical", 1),
    ("inspiration_day_online", 1),
    ("training_multiday", 1),
    ("training_thematic", 2),
    ("training_integrated", 2),
    ("presentation_on_request", 2),
    ("workshop_on_request", 1),
    ("steering_group", 2),
    ("coordination_meeting", 12),
]


class Mix:
    """Five years of one network, repeated with fresh ids: per year about 130 membership events, 31
    sessions with ~25 registrations, attendance and feedback each, advice, trajectories, a survey and
    the communications log — so every read model and every KPI is exercised in realistic proportions."""

    def __init__(self, seed: int = 7) -> None:
        self.random = random.Random(seed)
        self.id_bits = random.Random(f"ids {seed}")
        self.clock = datetime(2021, 1, 1, tzinfo=UTC)

    def _id(self) -> str:
        """A new id as the services make them (shared.ids: UUID version 7) at the mix's clock, its
        random bits from a generator of its own: the mix's choices are the same whatever the ids."""
        return str(ids.uuid7(int(self.clock.timestamp() * 1000), self.id_bits.getrandbits(74)))

    def _record(self, name: str, data: dict[str, Any]) -> tuple[str, bytes, bytes]:
        model = _TYPES[name]
        self.clock += timedelta(seconds=7)
        key = str(data[model.KEY_FIELD])
        envelope = {
            "specversion": "1.0",
            "id": self._id(),
            "source": _SOURCE[model.TOPIC],
            "type": model.type_name(),
            "subject": key,
            "time": self.clock.isoformat().replace("+00:00", "Z"),
            "datacontenttype": "application/json",
            "data": data,
        }
        return model.TOPIC, key.encode(), json.dumps(envelope, separators=(",", ":")).encode()

    def network(self) -> Iterator[tuple[str, bytes, bytes]]:
        r = self.random
        rec = self._record
        u = self._id
        orgs = [u() for _ in range(45)]
        kinds = (
            ["lokaal_bestuur"] * 30
            + ["intergemeentelijk_samenwerkingsverband"] * 5
            + ["middenveldorganisatie"] * 10
        )
        for org, kind in zip(orgs, kinds, strict=True):
            yield rec(
                "organisation.registered",
                {
                    "organisation_id": org,
                    "name": f"Organisatie {org[:6]}",
                    "kind": kind,
                    "registered_on": "2020-06-01",
                },
            )
        members: list[tuple[str, str]] = []
        for year in range(2021, 2026):
            day = lambda: date(year, r.randint(1, 12), r.randint(1, 28)).isoformat()  # noqa: B023, E731
            for _ in range(110):
                member, org = u(), r.choice(orgs)
                members.append((member, org))
                yield rec("member.joined", {"member_id": member, "organisation_id": org, "joined_on": day()})
                if r.random() < 0.3:
                    yield rec("knowledge_sharing.joined", {"member_id": member, "joined_on": day()})
                if r.random() < 0.15:
                    yield rec(
                        "newsletter.subscribed",
                        {"subscriber_id": u(), "member_id": member, "subscribed_on": day()},
                    )
            for _ in range(12):
                member, org = r.choice(members)
                yield rec("member.left", {"member_id": member, "organisation_id": org, "left_on": day()})
            for _ in range(6):
                member, org = r.choice(members)
                yield rec(
                    "member.moved",
                    {
                        "member_id": member,
                        "from_organisation_id": org,
                        "to_organisation_id": r.choice(orgs),
                        "moved_on": day(),
                    },
                )
            member, _org = r.choice(members)
            yield rec("member.erased", {"member_id": member, "erased_on": day()})
            yield rec(
                "organisation.updated",
                {"organisation_id": r.choice(orgs), "name": "Nieuwe naam", "kind": "lokaal_bestuur"},
            )
            for kind, count in _SESSION_KINDS:
                for _ in range(count):
                    yield from self._session(year, kind, members, day)
            for _ in range(12):
                yield rec(
                    "advice.given",
                    {
                        "advice_id": u(),
                        "organisation_id": r.choice(orgs),
                        "given_on": day(),
                        "topic": "Digitale balie",
                        "channel": r.choice(["mail", "meeting", "phone", "online"]),
                        "with_mediawijs": r.random() < 0.3,
                    },
                )
            trajectory = u()
            yield rec(
                "support_trajectory.started",
                {
                    "trajectory_id": trajectory,
                    "organisation_id": r.choice(orgs),
                    "started_on": f"{year}-02-01",
                    "stage": r.choice(["starting", "growing", "experienced"]),
                    "methodology": "De Wisselaar",
                    "description": "Ondersteuning op maat",
                },
            )
            yield rec(
                "support_trajectory.completed",
                {"trajectory_id": trajectory, "completed_on": f"{year}-11-30", "summary": "Afgerond"},
            )
            survey = u()
            yield rec(
                "survey.opened",
                {
                    "survey_id": survey,
                    "title": "Bevraging tools",
                    "topic": "Tools",
                    "opened_on": f"{year}-03-01",
                },
            )
            yield rec(
                "survey.closed",
                {
                    "survey_id": survey,
                    "closed_on": f"{year}-04-30",
                    "responses": 60,
                    "local_government_responses": 40,
                },
            )
            for month in range(1, 11):
                yield rec(
                    "newsletter.sent",
                    {
                        "issue_id": u(),
                        "title": f"Nieuwsbrief {month}/{year}",
                        "sent_at": f"{year}-{month:02d}-15T09:00:00Z",
                        "recipients": 600,
                    },
                )
            for _ in range(3):
                yield rec(
                    "article.published",
                    {"article_id": u(), "title": "Artikel", "magazine": "Lokaal", "published_on": day()},
                )
            for _ in range(4):
                yield rec(
                    "good_practice.published",
                    {
                        "practice_id": u(),
                        "title": "Goede praktijk",
                        "organisation_id": r.choice(orgs),
                        "published_on": day(),
                        "url": "https://www.vvsg.be/praktijk",
                    },
                )

    def _session(
        self, year: int, kind: str, members: list[tuple[str, str]], day: Any
    ) -> Iterator[tuple[str, bytes, bytes]]:
        r = self.random
        rec = self._record
        session = self._id()
        held_on = day()
        start = f"{held_on}T09:00:00Z"
        yield rec(
            "session.scheduled",
            {
                "session_id": session,
                "kind": kind,
                "title": f"Sessie {session[:6]}",
                "theme": "Digitale inclusie",
                "lead": r.choice(["vvsg", "mediawijs", "joint"]),
                "format": r.choice(["online", "physical", "hybrid"]),
                "starts_at": start,
                "ends_at": f"{held_on}T12:00:00Z",
                "planned_hours": 3.0,
                "capacity": 40,
            },
        )
        if r.random() < 0.1:
            yield rec(
                "session.rescheduled",
                {
                    "session_id": session,
                    "starts_at": start,
                    "ends_at": f"{held_on}T13:00:00Z",
                    "planned_hours": 4.0,
                },
            )
        attendees = (
            r.sample(members, min(len(members), r.randint(10, 40)))
            if kind not in ("steering_group", "coordination_meeting")
            else []
        )
        registrations = []
        for member, org in attendees:
            registration = self._id()
            registrations.append((registration, member))
            yield rec(
                "registration.received",
                {
                    "registration_id": registration,
                    "session_id": session,
                    "member_id": member,
                    "organisation_id": org,
                    "organisation_kind": "lokaal_bestuur",
                    "waitlisted": False,
                },
            )
        for registration, _member in registrations[:2]:
            yield rec("registration.cancelled", {"registration_id": registration, "session_id": session})
        hours = 0.0
        for registration, _member in registrations[2:]:
            attended = r.random() < 0.9
            hours += 3.0 if attended else 0.0
            yield rec(
                "attendance.recorded",
                {
                    "registration_id": registration,
                    "session_id": session,
                    "attended": attended,
                    "hours": 3.0 if attended else 0.0,
                },
            )
        yield rec(
            "session.held",
            {
                "session_id": session,
                "held_on": held_on,
                "participants": len(registrations),
                "participant_hours": hours,
            },
        )
        if r.random() < 0.2:
            yield rec("recording.published", {"session_id": session, "url": "https://www.vvsg.be/opname"})
        for _registration, member in registrations[2:]:
            request = self._id()
            yield rec(
                "feedback.requested",
                {
                    "request_id": request,
                    "subject_type": "session",
                    "subject_id": session,
                    "member_id": member,
                    "requested_on": held_on,
                },
            )
            if r.random() < 0.35:
                yield rec(
                    "feedback.received",
                    {
                        "response_id": self._id(),
                        "request_id": request,
                        "subject_type": "session",
                        "subject_id": session,
                        "satisfaction": r.randint(2, 5),
                        "usefulness": r.randint(2, 5),
                        "motivated": r.randint(1, 5),
                        "able_to_act": r.randint(1, 5),
                        "has_comment": False,
                        "received_on": held_on,
                    },
                )

    def records(self, count: int) -> Iterator[tuple[str, bytes, bytes]]:
        made = 0
        while True:
            for record in self.network():
                if made >= count:
                    return
                made += 1
                yield record


async def produce_fast(bootstrap: str, prefix: str, records: Iterator[tuple[str, bytes, bytes]]) -> int:
    """Batches per partition (the key's CRC picks the partition, so per-key order holds)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="bench-producer",
        acks=1,
        linger_ms=20,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    count = 0
    try:
        batches: dict[tuple[str, int], Any] = {}
        pending: list[asyncio.Future[Any]] = []
        for topic, key, value in records:
            target = (prefix + topic, zlib.crc32(key) % PARTITIONS)
            batch = batches.get(target)
            if batch is None:
                batch = batches[target] = producer.create_batch()
            if batch.append(key=key, value=value, timestamp=None) is None:
                pending.append(await producer.send_batch(batch, target[0], partition=target[1]))
                batch = batches[target] = producer.create_batch()
                batch.append(key=key, value=value, timestamp=None)
            count += 1
            if len(pending) > 64:
                await asyncio.gather(*pending)
                pending.clear()
        for (topic, partition), batch in batches.items():
            if batch.record_count():
                pending.append(await producer.send_batch(batch, topic, partition=partition))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count


def timed(label: str) -> Any:
    class _Timer:
        def __enter__(self) -> _Timer:
            self.start = time.perf_counter()
            return self

        def __exit__(self, *_exc: object) -> None:
            self.seconds = time.perf_counter() - self.start
            print(f"  {label}: {self.seconds:.1f} s", flush=True)

    return _Timer()
