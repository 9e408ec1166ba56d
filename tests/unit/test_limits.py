"""The public pages' rate limiter."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from shared.limits import RateLimiter, public_rate_limit


def test_a_client_gets_its_burst_then_must_wait() -> None:
    limiter = RateLimiter(per_minute=60, burst=3)
    assert [limiter.take("1.2.3.4") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("1.2.3.4") > 0
    assert limiter.take("5.6.7.8") == 0.0  # another client has its own bucket


def test_over_the_limit_a_page_answers_429_with_retry_after() -> None:
    app = FastAPI(dependencies=[Depends(public_rate_limit)])
    app.state.public_rate_limiter = RateLimiter(per_minute=60, burst=2)
    app.state.settings = SimpleNamespace()

    @app.get("/pagina")
    def page() -> dict[str, str]:
        return {"ok": "ja"}

    client = TestClient(app)
    assert [client.get("/pagina").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/pagina")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert "Te veel aanvragen" in refused.json()["detail"]
