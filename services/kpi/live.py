"""Tells waiting dashboards that the read models changed: the projector bumps a counter after each
committed batch that applied something. `GET /kpis/changes` long-polls on it (for clients written
before the stream), and the year feeds of `GET /kpis/{year}/stream` (services/kpi/stream.py) await it
without any timer."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid

# how long a change waits for the batches behind it, so that a burst becomes one answer of the long poll
# (GET /kpis/changes) and one change event of the stream (services/kpi/stream.py)
SETTLE_SECONDS = 0.3


class Changes:
    def __init__(self) -> None:
        self._boot = uuid.uuid4().hex[:8]  # a restarted service makes every client refresh once
        self._version = 0
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: set[asyncio.Future[None]] = set()

    def token(self) -> str:
        return f"{self._boot}.{self._version}"

    @property
    def version(self) -> int:
        return self._version

    def token_of(self, version: int) -> str:
        return f"{self._boot}.{version}"

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def applied(self, count: int) -> None:
        """From any thread: `count` events were just committed."""
        if count <= 0:
            return
        with self._lock:
            self._version += 1
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is shutting down
                loop.call_soon_threadsafe(self._wake)

    def bump(self) -> None:
        """From the event loop: something changed wholesale (another generation answers now)."""
        with self._lock:
            self._version += 1
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(
        self, after: str, timeout: float, settle: float = SETTLE_SECONDS, waited: bool = False
    ) -> str:
        """The token once it differs from `after`, or the same token after `timeout` seconds.
        `settle` lets a burst of batches through before answering, so clients refresh once. A token
        already behind is answered at once, unless the caller `waited` in an earlier slice: then the
        change came while it waited and settles like any other."""
        if self.token() == after:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            except TimeoutError:
                pass  # a change may still have come as the time ran out: then it settles below
            finally:
                self._waiters.discard(waiter)
            if self.token() == after:
                return after
        elif not waited:
            return self.token()
        await asyncio.sleep(settle)
        return self.token()

    @property
    def waiting(self) -> int:
        """How many long polls and year feeds wait for the next change now."""
        return len(self._waiters)

    async def after(self, version: int) -> int:
        """The version once it passes `version`: waits on a future the projector's commit resolves,
        so an idle year feed costs nothing (no timer, no polling)."""
        while self._version <= version:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.add(waiter)
            try:
                await waiter
            finally:
                self._waiters.discard(waiter)
        return self._version
