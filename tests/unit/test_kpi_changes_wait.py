"""`Changes.wait` (services/kpi/live.py), the slice `GET /kpis/changes` long-polls with: a token already
behind is answered at once, a change that comes while the caller waits settles first, also when it came
between two of the caller's slices. In one event loop, without the app; the endpoint over HTTP with the
real broker is tests/integration/test_kpi_changes.py."""

from __future__ import annotations

import asyncio
import time

from services.kpi.live import Changes


async def _changes() -> Changes:
    changes = Changes()
    changes.attach(asyncio.get_running_loop())
    return changes


async def test_a_token_already_behind_is_answered_without_settling() -> None:
    changes = await _changes()
    before = changes.token()
    changes.applied(1)
    started = time.monotonic()
    assert await changes.wait(before, timeout=5, settle=2) == changes.token() != before
    assert time.monotonic() - started < 1


async def test_a_change_between_two_slices_settles_like_one_inside_a_slice() -> None:
    changes = await _changes()
    before = changes.token()
    changes.applied(1)  # came after the caller's previous slice ended and before this one began
    started = time.monotonic()
    assert await changes.wait(before, timeout=5, settle=0.5, waited=True) == changes.token() != before
    assert time.monotonic() - started >= 0.5


async def test_a_change_inside_the_slice_settles_and_the_burst_behind_it_is_one_answer() -> None:
    changes = await _changes()
    before = changes.token()
    waiting = asyncio.create_task(changes.wait(before, timeout=5, settle=0.5))
    while not changes.waiting:
        await asyncio.sleep(0.01)
    changes.applied(1)
    await asyncio.sleep(0.1)
    changes.applied(3)  # a second batch of the same burst, inside the settling time
    assert await waiting == changes.token() == changes.token_of(2)
    assert changes.waiting == 0


async def test_no_change_gives_the_same_token_after_the_slice() -> None:
    changes = await _changes()
    before = changes.token()
    started = time.monotonic()
    assert await changes.wait(before, timeout=0.2, settle=2) == before
    assert 0.2 <= time.monotonic() - started < 1.5  # the slice, not the settling time
    assert changes.waiting == 0
