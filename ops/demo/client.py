"""The demo's hold on the services: HTTP clients with the staff token, the public pages as a person's
browser reaches them, and what the demo remembers of what it did (`Demo`)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx

from ops.demo.data import COUNTED, INFO, INTEGRATED, NOT_ASKED, TRAINING, WORKERS, V
from shared.clock import business_today


@dataclass
class Attendee:
    registration_id: str
    member_id: str | None
    hours: float  # attended hours; 0 for someone who did not come


@dataclass
class HeldSession:
    id: str
    kind: str
    lead: str
    title: str
    format: str
    held_on: date
    attendees: list[Attendee]


today = business_today  # the business date, defined once in shared.clock


def dice(seed: int) -> random.Random:
    """Seeded dice: the same demo every run (bandit's B311, low: nothing secret is drawn from them)."""
    return random.Random(seed)


@dataclass
class Demo:
    year: int
    clients: dict[str, httpx.Client]
    rng: random.Random = field(default_factory=lambda: dice(2025))
    # the dice of the sessions' practical fields and of the agenda ahead: their own, so that adding
    # them left every figure of the year (drawn from `rng`) as it was
    places: random.Random = field(default_factory=lambda: dice(16))
    organisations: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    log: Callable[[str], None] = print
    scale: float = 1.0
    link_secret: str | None = None
    public: httpx.Client | None = None  # the public pages, reached as a person's browser does: no token
    held: list[HeldSession] = field(default_factory=list)
    cancelled: int = 0
    recordings: int = 0
    answered: int = 0  # feedback requests about sessions answered on the personal page
    requests: int = 0  # feedback requests about sessions
    facts: dict[str, int] = field(default_factory=dict)  # counted KPIs that do not come from sessions
    completed_trajectories: int = 0
    issues: list[str] = field(default_factory=list)
    kpis: dict[str, Any] | None = None  # the KPI answer for the year once the KPI service caught up
    notes: list[str] = field(default_factory=list)
    _throttled: bool = False

    @property
    def last_day(self) -> date:
        """Business dates may not lie in the future: 31 December, or yesterday in the running year."""
        return min(date(self.year, 12, 31), today() - timedelta(days=1))

    def post(
        self, service: str, path: str, body: dict[str, Any] | None = None, *, csv: str | None = None
    ) -> dict[str, Any]:
        client = self.clients[service]
        if csv is not None:
            response = client.post(path, content=csv.encode("utf-8"), headers={"Content-Type": "text/csv"})
        else:
            response = client.post(path, json=body if body is not None else {})
        if response.status_code not in (200, 201, 202):
            raise RuntimeError(f"{service} {path}: {response.status_code} {response.text}")
        return response.json()  # type: ignore[no-any-return]

    def post_all(self, service: str, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Independent commands side by side (the answers in the order of the calls)."""
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(lambda call: self.post(service, *call), calls))

    def get(self, service: str, path: str, **params: Any) -> Any:
        response = self.clients[service].get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"{service} {path}: {response.status_code} {response.text}")
        return response.json()

    def pages(self, service: str, path: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self.get(service, path, limit=1000, offset=len(items), **params)
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    def submit(self, path: str, form: dict[str, str]) -> int:
        """A person sends a form on a public page; waits when the page's rate limit says so."""
        assert self.public is not None
        while True:
            response = self.public.post(path, data=form)
            if response.status_code != 429:
                return response.status_code
            if not self._throttled:
                self._throttled = True
                self.log("  (de publieke pagina's remmen af: te veel antwoorden van één adres; even geduld)")
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))

    def count(self, full: int, least: int = 1) -> int:
        """`full` at scale 1, fewer in a smaller demo, never fewer than `least`."""
        return max(least, round(full * self.scale))

    def in_year(self, month: int, day: int) -> date | None:
        """A working day of the demo year, or None when it lies after the last allowed day."""
        found = working_day(date(self.year, month, day))
        return found if found.year == self.year and found <= self.last_day else None

    def expected_kpis(self) -> dict[str, float]:
        """What the KPI service should answer for the year, from what the demo did."""
        expected: dict[str, float] = {code: 0 for code in set(COUNTED.values())}
        expected |= {"OD1.2-infosessies": 0, "OD1.2-deelnemersuren": 0.0, "OD2.2-deelnemersuren": 0.0}
        for held in self.held:
            hours = sum(a.hours for a in held.attendees)
            if held.kind == INFO and held.lead == V:
                expected["OD1.2-infosessies"] += 1
                expected["OD1.2-deelnemersuren"] += hours
            if held.kind in COUNTED:
                expected[COUNTED[held.kind]] += 1
            if held.kind in (TRAINING, INTEGRATED):
                expected["OD2.2-deelnemersuren"] += hours
        for code in ("OD1.2-deelnemersuren", "OD2.2-deelnemersuren"):
            expected[code] = round(expected[code], 2)
        if any(h.kind not in NOT_ASKED for h in self.held):
            expected["feedback-gevraagd"] = 100.0
            expected["feedback-respons"] = percentage(self.answered, self.requests)
        return expected | self.facts


def working_day(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def percentage(part: int, whole: int) -> float:
    if not whole:
        return 0.0
    return float((Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def dutch_hours(hours: float) -> str:
    return f"{hours:g}".replace(".", ",")  # as a Belgian spreadsheet writes them


def wait(check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Poll until `check` gives something truthy; None after the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found or None
        time.sleep(interval)


def subset(items: list[Any], share: float, least: int) -> list[Any]:
    return items if share >= 1 else items[: max(least, round(len(items) * share))]


def active_on(member: dict[str, Any], day: date) -> bool:
    left = member.get("left_on")
    return date.fromisoformat(member["joined_on"]) <= day and (left is None or date.fromisoformat(left) > day)


def organisation_kinds(demo: Demo) -> dict[str, str]:
    return {o["id"]: o["kind"] for o in demo.organisations}
