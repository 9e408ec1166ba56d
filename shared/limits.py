"""Rate limiting of the public pages (feedback, subscribe, unsubscribe): a token bucket per client
address, in memory (one process per service). Over the limit: 429 with Retry-After.

The client address is the connection's peer, unless that peer is one of the configured reverse
proxies (TRUSTED_PROXIES): then X-Forwarded-For names it. Believing the header from anyone would let
a client pick a new address for every request and never be limited."""

from __future__ import annotations

import ipaddress
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


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The reverse proxies whose X-Forwarded-For is believed: addresses or CIDR networks, comma-separated."""

    def __init__(self, spec: str) -> None:
        self.networks: list[Network] = [
            ipaddress.ip_network(item.strip(), strict=False) for item in spec.split(",") if item.strip()
        ]

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, peer: str, forwarded_for: str | None) -> str:
        """The client's address: walking X-Forwarded-For from the right (each proxy appends the
        address it got the request from), the first hop that is not a trusted proxy."""
        if not self.networks or not forwarded_for or not self.trusts(peer):
            return peer
        hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self.trusts(hop):
                return hop[:64]  # an invalid entry is as good a key as any, but bounded
        return hops[0][:64] if hops else peer


def client_address(request: Request) -> str:
    """The address a request comes from, as the rate limiter counts it."""
    peer = request.client.host if request.client else "unknown"
    proxies: TrustedProxies | None = getattr(request.app.state, "trusted_proxies", None)
    if proxies is None:
        return peer
    # several X-Forwarded-For lines read as one list, in order
    return proxies.client(peer, ",".join(request.headers.getlist("x-forwarded-for")))


def enforce(request: Request, limiter_name: str, detail: str) -> None:
    """Takes one from the client's bucket of `app.state.<limiter_name>` (none there: no limit), or
    refuses with 429, `detail` and Retry-After."""
    limiter: RateLimiter | None = getattr(request.app.state, limiter_name, None)
    if limiter is None:
        return
    wait = limiter.take(client_address(request))
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, detail, headers={"Retry-After": str(max(1, round(wait)))}
        )


async def public_rate_limit(request: Request) -> None:
    """Dependency for public routes; the limiter lives on app.state (see shared.service.create_app).
    Async although it never waits: a plain function would cost every public request a hop to the
    thread pool and back for a few microseconds of arithmetic."""
    enforce(
        request,
        "public_rate_limiter",
        "Te veel aanvragen na elkaar. Probeer het over een ogenblik opnieuw.",
    )
