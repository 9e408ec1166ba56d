"""Rate limiting of the public pages (feedback, subscribe, unsubscribe): a token bucket per client
address, in memory (one process per service). Over the limit: 429 with Retry-After."""

from __future__ import annotations

import threading
import time

from fastapi import HTTPException, Request, status


class RateLimiter:
    def __init__(self, per_minute: int, burst: int | None = None) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(burst if burst is not None else max(1, per_minute // 4))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 when allowed; otherwise the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                if len(self._buckets) > 100_000:  # forget idle clients rather than grow without end
                    self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 600}
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate if self.rate else 60.0


def public_rate_limit(request: Request) -> None:
    """Dependency for public routes; the limiter lives on app.state (see shared.service.create_app)."""
    limiter: RateLimiter | None = getattr(request.app.state, "public_rate_limiter", None)
    if limiter is None:
        return
    client = request.client.host if request.client else "unknown"
    wait = limiter.take(client)
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "Te veel aanvragen na elkaar. Probeer het over een ogenblik opnieuw.",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
