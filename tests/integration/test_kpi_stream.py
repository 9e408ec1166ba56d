"""`GET /kpis/{year}/stream` against the real broker, the KPI service started as a process: the first
event holds every KPI, a published event that changes one KPI brings an event naming only that KPI
with its new value, a redelivered event brings nothing, a reconnect gets a full snapshot, and the
stream opens only with a reader's bearer token or a stream ticket."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from services.kpi import stream
from services.kpi.live import Changes
from shared import events
from shared.auth import Principal
from tests import infra, kpi_year
from tests.infra import ServiceProcess, produce, wait_until

pytestmark = pytest.mark.integration

YEAR = 2025
ARTICLES = "OD1.3-artikels"


@dataclass
class Sse:
    kind: str = "message"
    id: str | None = None
    retry: int | None = None
    data: Any = None
    comments: list[str] = field(default_factory=list)


def read_events(response: httpx.Response) -> Iterator[Sse]:
    """Server-Sent Events as the spec frames them: fields up to a blank line. A comment alone (the
    heartbeat) comes out as an event without data."""
    current = Sse()
    for line in response.iter_lines():
        if line == "":
            yield current
            current = Sse()
        elif line.startswith(":"):
            current.comments.append(line[1:].strip())
        else:
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                current.kind = value
            elif name == "id":
                current.id = value
            elif name == "retry":
                current.retry = int(value)
            elif name == "data":
                current.data = json.loads(value)


def next_data(stream_events: Iterator[Sse], within: float = 30.0) -> tuple[Sse, int]:
    """The next event with data, and how many heartbeats came before it."""
    deadline = time.monotonic() + within
    beats = 0
    for event in stream_events:
        if event.data is not None:
            return event, beats
        beats += "heartbeat" in event.comments
        assert time.monotonic() < deadline, "no event with data in time"
    raise AssertionError("the stream ended")


def values(kpis: list[dict[str, Any]]) -> dict[str, Any]:
    return {k["code"]: k["value"] for k in kpis}


def article(n: int) -> events.ArticlePublished:
    return events.ArticlePublished(
        article_id=uuid.UUID(int=10_000 + n),
        title=f"Artikel {n} over digitale inclusie",
        magazine="Lokaal",
        published_on=date(YEAR, 3, n),
    )


def publish(bootstrap: str, prefix: str, records: list[tuple[str, bytes, bytes]]) -> None:
    # from a thread of its own: Playwright's sync API keeps an event loop running in this one
    batch: list[tuple[str, bytes | None, bytes | None]] = [(prefix + t, k, v) for t, k, v in records]
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, produce(bootstrap, batch)).result()


@dataclass
class Running:
    service: ServiceProcess
    bootstrap: str
    prefix: str


@pytest.fixture(scope="module")
def kpi(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """One KPI service for the module (heartbeats every second, so that a test sees some), with the
    scripted year projected."""
    directory: Path = tmp_path_factory.mktemp("kpi-stream")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    publish(kafka_bootstrap, prefix, kpi_year.envelope_records(kpi_year.year_data()))
    service = ServiceProcess(
        "kpi",
        {
            "DATABASE_URL": f"sqlite:///{directory}/kpi.db",
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "KPI_STREAM_HEARTBEAT_SECONDS": "1",
        },
        directory,
    )
    try:
        service.start()
        with service.client("viewer") as client:
            wait_until(
                lambda: values(client.get(f"/kpis/{YEAR}").json()["kpis"])[ARTICLES] == 1,
                60,
                0.2,
                "the scripted year in the KPIs",
            )
        yield Running(service, kafka_bootstrap, prefix)
    finally:
        service.stop()
        infra.delete_topics(kafka_bootstrap, prefix)


def _stream(client: httpx.Client, **kwargs: Any) -> Any:
    return client.stream("GET", f"/kpis/{YEAR}/stream", timeout=httpx.Timeout(10, read=30), **kwargs)


def test_a_change_brings_only_the_kpi_it_changed_and_a_redelivery_brings_nothing(kpi: Running) -> None:
    with kpi.service.client("viewer") as client:
        whole = client.get(f"/kpis/{YEAR}").json()
        with _stream(client) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            received = read_events(response)

            snapshot, _ = next_data(received)
            assert snapshot.kind == "snapshot" and snapshot.retry is not None and snapshot.id
            assert snapshot.data["year"] == YEAR
            assert values(snapshot.data["kpis"]) == values(whole["kpis"])
            assert values(snapshot.data["kpis"])[ARTICLES] == 1

            second = kpi_year.envelope_records([article(2)])
            publish(kpi.bootstrap, kpi.prefix, second)
            change, _ = next_data(received)
            assert change.kind == "change" and change.id != snapshot.id
            assert [(k["code"], k["value"]) for k in change.data["kpis"]] == [(ARTICLES, 2)]
            assert len(change.data["kpis"][0]["items"]) == 2  # the whole KPI, items and all

            # the same record again (same event id): the projector applies nothing, the stream says
            # nothing but its heartbeats — for 5 s, then a new article shows it is still listening
            publish(kpi.bootstrap, kpi.prefix, second)
            quiet_until = time.monotonic() + 5
            beats = 0
            for event in received:
                assert event.data is None, f"a redelivery sent {event.kind}: {event.data}"
                beats += "heartbeat" in event.comments
                if time.monotonic() > quiet_until:
                    break
            assert beats >= 3

            publish(kpi.bootstrap, kpi.prefix, kpi_year.envelope_records([article(3)]))
            third, _ = next_data(received)
            assert [(k["code"], k["value"]) for k in third.data["kpis"]] == [(ARTICLES, 3)]
            last_id = third.id

        # a reconnect names the last event it saw, and gets everything again
        with _stream(client, headers={"Last-Event-ID": str(last_id)}) as response:
            again, _ = next_data(read_events(response))
            assert again.kind == "snapshot" and again.id == last_id
            assert values(again.data["kpis"]) == {**values(whole["kpis"]), ARTICLES: 3}


def test_every_subscriber_of_the_year_gets_the_change(kpi: Running) -> None:
    with (
        kpi.service.client("viewer") as first,
        kpi.service.client("staff") as second,
        _stream(first) as one,
        _stream(second) as other,
    ):
        ones, others = read_events(one), read_events(other)
        start = values(next_data(ones)[0].data["kpis"])[ARTICLES]
        assert values(next_data(others)[0].data["kpis"])[ARTICLES] == start
        publish(kpi.bootstrap, kpi.prefix, kpi_year.envelope_records([article(4)]))
        for received in (ones, others):
            change, _ = next_data(received)
            assert [(k["code"], k["value"]) for k in change.data["kpis"]] == [(ARTICLES, start + 1)]


def test_the_stream_opens_only_for_a_reader_or_with_a_stream_ticket(kpi: Running) -> None:
    url = f"{kpi.service.url}/kpis/{YEAR}/stream"
    secret = infra.AUTH_SECRET
    viewer = Principal("viewer@vvsg.be", "viewer")
    with httpx.Client(timeout=10) as anonymous:
        refused = anonymous.get(url)
        assert refused.status_code == 401 and "bearer token" in refused.json()["detail"]
        assert anonymous.get(url, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
        # a long-lived bearer token does not go in a URL: as a ticket it is refused
        assert anonymous.get(url, params={"ticket": infra.token("viewer")}).status_code == 401
        expired = stream.issue_ticket(secret, viewer, timedelta(seconds=-1))
        assert "expired" in anonymous.get(url, params={"ticket": expired}).json()["detail"]
        forged = stream.issue_ticket("another-secret-" + "z" * 40, viewer)
        assert anonymous.get(url, params={"ticket": forged}).status_code == 401
        assert anonymous.post(f"{kpi.service.url}/kpis/stream-tickets").status_code == 401

    with kpi.service.client("viewer") as client:
        answer = client.post("/kpis/stream-tickets")
        assert answer.status_code == 200
        ticket = answer.json()["ticket"]
        assert answer.json()["expires_in"] == stream.TICKET_SECONDS
        claims = jwt.decode(ticket, secret, algorithms=["HS256"], audience=stream.TICKET_AUDIENCE)
        assert claims["role"] == "viewer" and claims["exp"] - claims["iat"] == stream.TICKET_SECONDS
        # a ticket is no bearer token: it opens streams and nothing else
        as_bearer = httpx.get(
            f"{kpi.service.url}/kpis/{YEAR}", headers={"Authorization": f"Bearer {ticket}"}, timeout=10
        )
        assert as_bearer.status_code == 401

    with (
        httpx.Client(base_url=kpi.service.url) as anonymous,
        _stream(anonymous, params={"ticket": ticket}) as response,
    ):
        assert response.status_code == 200
        snapshot, _ = next_data(read_events(response))
        assert snapshot.kind == "snapshot" and ARTICLES in values(snapshot.data["kpis"])


def test_a_year_is_computed_once_per_change_whatever_the_number_of_subscribers() -> None:
    """The hub itself, on an event loop of the test: 50 subscribers of 2025 and 3 of 2024, two
    committed batches, one of which changes nothing of 2024."""

    async def scenario() -> None:
        changes = Changes()
        changes.attach(asyncio.get_running_loop())
        computed: Counter[int] = Counter()
        figures = {2025: 1, 2024: 7}

        def compute(year: int) -> dict[str, Any]:
            computed[year] += 1
            kpis = [{"code": ARTICLES, "value": figures[year]}, {"code": "other", "value": 0}]
            return {"year": year, "kpis": kpis}

        hub = stream.Hub(changes, compute)
        many = [await hub.subscribe(2025) for _ in range(50)]
        few = [await hub.subscribe(2024) for _ in range(3)]
        assert computed == {2025: 1, 2024: 1}
        assert all(f"{ARTICLES}" in first for first, _ in many + few)

        figures[2025] = 2
        changes.applied(1)
        for _, queue in many:
            event = await asyncio.wait_for(queue.get(), 5)
            assert event is not None and event.startswith("id: ") and "event: change" in event
            data = json.loads(event.split("data: ", 1)[1])
            assert [(k["code"], k["value"]) for k in data["kpis"]] == [(ARTICLES, 2)]
        await asyncio.sleep(stream.SETTLE_SECONDS + 0.2)
        assert computed == {2025: 2, 2024: 2}
        assert all(queue.empty() for _, queue in few)  # 2024 did not change: nothing sent

        for _, queue in many:
            hub.unsubscribe(2025, queue)
        assert 2025 not in hub.feeds and hub.subscribers() == 3
        hub.close()
        assert all(queue.get_nowait() is None for _, queue in few)  # every stream ends

    asyncio.run(scenario())


def test_the_dashboard_updates_the_changed_card_in_place_from_the_stream(kpi: Running, browser: Any) -> None:
    token = infra.token("viewer")
    page = browser.new_page()
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.add_init_script(f"localStorage.setItem('vvsg-kpi-token', '{token}')")
    page.goto(f"{kpi.service.url}/dashboard?jaar={YEAR}")
    articles = f'article.card[data-code="{ARTICLES}"] .value'
    page.wait_for_selector(f'article.card[data-code="{ARTICLES}"] svg.chart')
    before = int(page.inner_text(articles).split()[0])
    other = 'article.card[data-code="OD1.1-bijeenkomsten-algemeen"]'
    page.eval_on_selector(other, "card => { card.dataset.mark = 'still here'; }")
    loaded = len(asked)

    publish(kpi.bootstrap, kpi.prefix, kpi_year.envelope_records([article(5)]))
    page.wait_for_function(
        f"() => document.querySelector('{articles}').textContent.trim().startsWith('{before + 1}')",
        timeout=30_000,
    )
    # the other cards were left alone (not redrawn) and the answer was not read again
    assert page.eval_on_selector(other, "card => card.dataset.mark") == "still here"
    assert not [url for url in asked[loaded:] if url.split("?")[0].endswith(f"/kpis/{YEAR}")], asked
    # the stream was opened with a ticket: the bearer token itself never went in a URL
    assert any(f"/kpis/{YEAR}/stream?ticket=" in url for url in asked), asked
    assert not [url for url in asked if token in url]
    page.close()


def test_a_year_that_cannot_be_computed_ends_the_stream_with_an_event_and_leaves_no_feed() -> None:
    async def scenario() -> None:
        changes = Changes()
        changes.attach(asyncio.get_running_loop())
        started = asyncio.Event()

        def broken(year: int) -> dict[str, Any]:
            raise RuntimeError("database away")

        hub = stream.Hub(changes, broken)
        received = [event async for event in stream.events(hub, YEAR)]
        assert len(received) == 1 and "event: unavailable" in received[0] and "retry: " in received[0]
        assert "database away" in received[0] and hub.feeds == {}

        def slow(year: int) -> dict[str, Any]:
            started.set()
            time.sleep(0.5)
            return {"year": year, "kpis": []}

        hub = stream.Hub(changes, slow)
        waiting = asyncio.create_task(hub.subscribe(YEAR))
        await started.wait()
        waiting.cancel()  # the client went away before its snapshot
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert hub.feeds == {}

    asyncio.run(scenario())


def test_a_service_asked_to_stop_ends_its_open_streams_and_stops_at_once(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """uvicorn waits for every open response before it stops: without the stream's own SIGTERM hook
    an open dashboard would hold a stopping service until it is killed."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    service = ServiceProcess(
        "kpi",
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/kpi.db",
            "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
            "KAFKA_TOPIC_PREFIX": prefix,
            "KPI_STREAM_HEARTBEAT_SECONDS": "1",  # so that the loop below looks at the time every second
        },
        tmp_path,
    )
    try:
        service.start()
        with service.client("viewer") as client, _stream(client) as response:
            received = read_events(response)
            assert next_data(received)[0].kind == "snapshot"
            assert service.process is not None
            asked = time.monotonic()
            service.process.terminate()
            for event in received:  # ends when the stream ends; a heartbeat a second meanwhile
                assert event.data is None
                assert time.monotonic() - asked < 10, "the stream is still open 10 s after SIGTERM"
            # uvicorn stops gracefully, then raises again the signal it caught (hence -SIGTERM)
            assert service.process.wait(10) == -signal.SIGTERM
            assert time.monotonic() - asked < 10
    finally:
        service.stop()
        infra.delete_topics(kafka_bootstrap, prefix)
