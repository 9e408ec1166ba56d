"""Steady command traffic for the cluster tests: members joining (each one counts in OD1.1-leden) and
info sessions scheduled and held (each held one counts in OD1.2-infosessies), at a fixed rate, in
threads, to services on 127.0.0.1 only; it records every answer so a test can hold the KPIs to them."""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.infra import auth

YEAR = 2025
MEMBERS_KPI = "OD1.1-leden"
SESSIONS_KPI = "OD1.2-infosessies"


@dataclass
class Tally:
    """What the traffic got: a command counts as accepted on a 2xx, as refused on anything else
    (another status, or no answer at all)."""

    joined: int = 0  # POST /members answered 201
    held: int = 0  # POST /sessions/{id}/held answered 200
    sent: int = 0
    accepted: int = 0
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, response: httpx.Response | None, what: str, error: str = "") -> bool:
        with self.lock:
            self.sent += 1
            if response is not None and 200 <= response.status_code < 300:
                self.accepted += 1
                return True
            detail = f"{response.status_code} {response.text[:200]}" if response is not None else error
            self.refused.append(f"{time.strftime('%H:%M:%S')} {what}: {detail}")
            return False

    def expected(self) -> dict[str, int]:
        with self.lock:
            return {MEMBERS_KPI: self.joined, SESSIONS_KPI: self.held}


class Traffic:
    """`rate` commands a second, spread over threads, until stopped. `members_urls` and `events_urls`
    are the instances to send to, in turn (several when a service is scaled out); a callable lets the
    test swap an instance it restarted."""

    def __init__(
        self,
        members_urls: Callable[[], list[str]],
        events_urls: Callable[[], list[str]],
        organisation_id: str,
        rate: float = 50.0,
        threads: int = 8,
        retry_unanswered: bool = False,
    ) -> None:
        self.members_urls = members_urls
        self.events_urls = events_urls
        self.organisation_id = organisation_id
        self.interval = threads / rate
        self.threads = threads
        self.tally = Tally()
        # with instances being killed, a request to a dead one is no refusal of the system: try the next
        self.retry_unanswered = retry_unanswered
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []
        self._counter = itertools.count()

    def start(self) -> Traffic:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> Tally:
        self._stop.set()
        for worker in self._workers:
            worker.join(60)
        return self.tally

    def _run(self, index: int) -> None:
        with httpx.Client(headers=auth("staff"), timeout=30) as client:
            next_at = time.monotonic() + index * self.interval / self.threads
            while not self._stop.is_set():
                n = next(self._counter)
                # two of every three commands are members joining; the third schedules and holds a session
                if n % 3 == 2:
                    self._session(client, n)
                else:
                    self._member(client, n)
                next_at += self.interval
                pause = next_at - time.monotonic()
                if pause > 0:
                    self._stop.wait(pause)
                else:
                    next_at = time.monotonic()  # behind: no burst to make up for it

    def _send(self, client: httpx.Client, urls: Callable[[], list[str]], n: int, path: str, body: Any) -> Any:
        attempts = len(urls()) if self.retry_unanswered else 1
        error = ""
        for attempt in range(attempts):
            choices = urls()
            url = choices[(n + attempt) % len(choices)]
            try:
                return client.post(url + path, json=body), ""
            except httpx.ConnectError as exc:  # never reached the instance: safe to send elsewhere
                error = f"{url}: {exc!r}"
            except httpx.TransportError as exc:  # it may have been carried out: no second try
                return None, f"{url}: {exc!r}"
        return None, error

    def _member(self, client: httpx.Client, n: int) -> None:
        body = {
            "first_name": "Lid",
            "last_name": f"Nummer {n}",
            "email": f"lid{n}@zemst.be",
            "organisation_id": self.organisation_id,
            "joined_on": f"{YEAR}-03-01",
        }
        response, error = self._send(client, self.members_urls, n, "/members", body)
        if self.tally.record(response, "join", error):
            with self.tally.lock:
                self.tally.joined += 1

    def _session(self, client: httpx.Client, n: int) -> None:
        body = {
            "title": f"Infosessie {n}",
            "theme": "digitale inclusie",
            "lead": "vvsg",
            "format": "online",
            "kind": "info_session",
            "starts_at": f"{YEAR}-03-04T14:00:00+01:00",
            "ends_at": f"{YEAR}-03-04T16:00:00+01:00",
        }
        response, error = self._send(client, self.events_urls, n, "/sessions", body)
        if not self.tally.record(response, "schedule", error):
            return
        session_id = response.json()["id"]
        response, error = self._send(client, self.events_urls, n, f"/sessions/{session_id}/held", None)
        if self.tally.record(response, "hold", error):
            with self.tally.lock:
                self.tally.held += 1


def kpi_values(kpi_url: str) -> dict[str, int] | None:
    """The two counted KPIs of the year as the KPI service answers now (None when it does not)."""
    try:
        response = httpx.get(f"{kpi_url}/kpis/{YEAR}", headers=auth("viewer"), timeout=10)
    except httpx.HTTPError:
        return None
    if response.status_code != 200:
        return None
    return {
        k["code"]: k["value"] for k in response.json()["kpis"] if k["code"] in (MEMBERS_KPI, SESSIONS_KPI)
    }


async def partition_ends(bootstrap: str, topics: list[str]) -> dict[TopicPartition, int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    tps = [TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]]
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(tps))
    finally:
        await consumer.stop()


async def leaders(bootstrap: str, topics: list[str]) -> dict[TopicPartition, tuple[int, list[int]]]:
    """Each partition's leader and in-sync replicas."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return {
        TopicPartition(d["topic"], p["partition"]): (p["leader"], list(p["isr"]))
        for d in described
        for p in d["partitions"]
    }


def fully_replicated(bootstrap: str, topics: list[str], replicas: int = 3) -> bool:
    try:
        return all(len(isr) >= replicas for _leader, isr in asyncio.run(leaders(bootstrap, topics)).values())
    except Exception:  # noqa: BLE001 - metadata not there yet while a node comes back
        return False
