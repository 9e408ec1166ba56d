"""The KPI stream's shared year feed (services/kpi/stream.py Hub) while its first answer is still being
computed: a subscriber that leaves then must not strand the others, and stopping the service must release
everyone who waits. The answer is computed by a plain function here; the stream over HTTP with the real
broker is tests/integration/test_kpi_stream.py."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from services.kpi.live import Changes
from services.kpi.stream import Hub, StreamClosed


def _slow_answer(release: threading.Event) -> Any:
    def compute(year: int) -> dict[str, Any]:
        release.wait(5)
        return {"year": year, "kpis": [{"code": "OD1.1-leden", "value": 3}]}

    return compute


async def test_a_subscriber_leaving_during_the_first_answer_leaves_the_others_their_snapshot() -> None:
    changes = Changes()
    changes.attach(asyncio.get_running_loop())
    release = threading.Event()
    hub = Hub(changes, _slow_answer(release))
    leaving = asyncio.create_task(hub.subscribe(2025))
    staying = asyncio.create_task(hub.subscribe(2025))
    await asyncio.sleep(0.05)  # both wait for the first answer
    leaving.cancel()
    await asyncio.sleep(0.05)
    release.set()
    snapshot, queue = await asyncio.wait_for(staying, 5)
    assert '"OD1.1-leden"' in snapshot and snapshot.startswith("retry:")
    assert hub.subscribers() == 1
    hub.unsubscribe(2025, queue)
    assert hub.feeds == {}


async def test_the_only_subscriber_leaving_during_the_first_answer_stops_the_feed() -> None:
    changes = Changes()
    changes.attach(asyncio.get_running_loop())
    release = threading.Event()
    hub = Hub(changes, _slow_answer(release))
    leaving = asyncio.create_task(hub.subscribe(2025))
    await asyncio.sleep(0.05)
    leaving.cancel()
    await asyncio.sleep(0.05)
    release.set()
    assert hub.feeds == {}


async def test_closing_during_the_first_answer_releases_whoever_waits() -> None:
    changes = Changes()
    changes.attach(asyncio.get_running_loop())
    release = threading.Event()
    hub = Hub(changes, _slow_answer(release))
    waiting = asyncio.create_task(hub.subscribe(2025))
    await asyncio.sleep(0.05)
    hub.close()
    with pytest.raises(StreamClosed):
        await asyncio.wait_for(waiting, 2)
    release.set()
    with pytest.raises(StreamClosed):
        await hub.subscribe(2025)
