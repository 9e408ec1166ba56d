"""Beheer (admins only): the dead letters per topic with the reason the consumer gave, and replaying one
after the fix that makes it readable. The services expose no dead letters over HTTP; the back office
reads the `<topic>.dlq` topics on Kafka itself with the same code as `vvsg dlq list/replay` (ops)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ops import dead_letters
from services.backoffice.session import StaffSession
from services.backoffice.web import Form, PageProblem, Staff, posted, render, settings_of
from shared import kafka
from shared.auth import ADMIN
from shared.topics import DOMAIN_TOPICS, MEMBERS_CONTACTS, dead_letter_topic

router = APIRouter(include_in_schema=False)

TOPICS: dict[str, str] = {
    "members.events": "Leden en organisaties",
    "members.contacts": "Contactgegevens van leden",
    "activities.events": "Activiteiten",
    "feedback.events": "Feedback",
    "communications.events": "Communicatie en nieuwsbrief",
}
assert set(TOPICS) == {*DOMAIN_TOPICS, MEMBERS_CONTACTS}  # every topic a consumer reads, named
KAFKA_DOWN = "Kafka antwoordt nu niet. Er is niets veranderd; probeer het zo opnieuw."


@dataclass(frozen=True)
class Letter:
    offset: int
    consumer: str
    origin: str
    reason: str
    event_type: str
    event_id: str


def _admin(staff: StaffSession) -> None:
    if staff.role not in ADMIN:
        raise PageProblem(403, "Geen toegang", "Alleen beheerders zien de dode brieven.")


def _topic(topic: str) -> str:
    if topic not in TOPICS:
        raise PageProblem(404, "Niet gevonden", "Dit topic bestaat niet.")
    return topic


def _bootstrap(request: Request) -> tuple[str, str]:
    settings = settings_of(request)
    return settings.kafka_bootstrap_servers, settings.kafka_topic_prefix


async def _counts(bootstrap: str, names: list[str]) -> dict[str, int]:
    """How many records each dead-letter topic holds (end minus start offsets, over its partitions)."""
    found = await kafka.partitions_of(bootstrap, names)
    tps = [TopicPartition(name, p) for name, partitions in found.items() for p in partitions]
    counts = dict.fromkeys(names, 0)
    if not tps:
        return counts
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="dlq-count")
    await consumer.start()
    try:
        # assigned first, the client fetches the metadata of all the topics at once; otherwise it learns
        # them one topic per retry (a metadata round and 100 ms back-off each: half a second for five).
        # Nothing is read: with no committed offsets the consumer starts at the end ("latest").
        consumer.assign(tps)
        first, ends = await consumer.beginning_offsets(tps), await consumer.end_offsets(tps)
    finally:
        await consumer.stop()
    for tp in tps:
        counts[tp.topic] += ends[tp] - first[tp]
    return counts


def _described(letter: dead_letters.DeadLetter) -> Letter:
    """What an admin needs to judge a letter: its reason and which event it was, not its whole content
    (the payload may hold personal data)."""
    event_type = event_id = ""
    try:
        value = json.loads(letter.value or b"")
        if isinstance(value, dict):
            event_type, event_id = str(value.get("type", "")), str(value.get("id", ""))
    except ValueError:
        event_type = "(geen leesbare JSON)"
    origin = (
        f"{letter.header('dlq-topic')} [{letter.header('dlq-partition')}] @ {letter.header('dlq-offset')}"
    )
    return Letter(
        letter.offset,
        letter.header("dlq-consumer"),
        origin,
        letter.header("dlq-reason"),
        event_type or dict(letter.headers).get("ce_type", b"").decode(errors="replace"),
        event_id,
    )


@router.get("/beheer")
async def overview(request: Request, staff: Staff) -> HTMLResponse:
    _admin(staff)
    bootstrap, prefix = _bootstrap(request)
    try:
        counts = await _counts(bootstrap, [dead_letter_topic(prefix + t) for t in TOPICS])
    except KafkaError:
        raise PageProblem(503, "Even niet bereikbaar", KAFKA_DOWN) from None
    rows = [(t, label, counts[dead_letter_topic(prefix + t)]) for t, label in TOPICS.items()]
    return render(request, "admin.html", "Beheer: dode brieven", staff, rows=rows)


async def _letters_page(request: Request, staff: StaffSession, topic: str, done: str = "") -> HTMLResponse:
    bootstrap, prefix = _bootstrap(request)
    try:
        letters = await dead_letters.list_dead_letters(bootstrap, prefix + topic)
    except KafkaError:
        raise PageProblem(503, "Even niet bereikbaar", KAFKA_DOWN) from None
    return render(
        request,
        "admin_topic.html",
        f"Dode brieven: {TOPICS[topic]}",
        staff,
        topic=topic,
        label=TOPICS[topic],
        letters=[_described(letter) for letter in letters],
        done=done,
    )


@router.get("/beheer/{topic}")
async def topic_letters(request: Request, staff: Staff, topic: str, opnieuw: int = -1) -> HTMLResponse:
    _admin(staff)
    done = f"Dode brief {opnieuw} is opnieuw op {topic} gezet." if opnieuw >= 0 else ""
    return await _letters_page(request, staff, _topic(topic), done)


@router.post("/beheer/{topic}/opnieuw")
async def replay(request: Request, topic: str, form: Form = Depends(posted(*ADMIN))) -> Response:  # noqa: B008
    """Put one dead letter back on its topic; the consumers skip what they had already applied."""
    topic = _topic(topic)
    raw = form.values.get("offset", "")
    if not raw.isdigit():
        raise PageProblem(404, "Niet gevonden", "Deze dode brief bestaat niet.")
    bootstrap, prefix = _bootstrap(request)
    try:
        replayed = await dead_letters.replay(bootstrap, prefix + topic, {int(raw)})
    except KafkaError:
        raise PageProblem(503, "Even niet bereikbaar", KAFKA_DOWN) from None
    if not replayed:
        raise PageProblem(404, "Niet gevonden", "Deze dode brief bestaat niet.")
    return RedirectResponse(f"/beheer/{topic}?opnieuw={raw}", status_code=303)
