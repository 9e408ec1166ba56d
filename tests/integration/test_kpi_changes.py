"""`GET /kpis/changes`, the long poll a client waits on for the read models to change: it answers at
once when they changed since the client's token, and otherwise `settle` seconds after the first change
(0.3 s unless asked, so that a dashboard refreshes once per burst of batches; 0 answers at the first
change). The KPI app in-process on SQLite, against the real broker."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from services.kpi.live import Changes
from shared.auth import issue_token
from tests import infra
from tests.security import apps

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def kpi(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    app = apps.build("kpi", Path(tmp_path_factory.mktemp("changes")), kafka_bootstrap, prefix)
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {issue_token(infra.AUTH_SECRET, 'kpi@vvsg.be', 'staff')}"
        yield client


def _after_a_change(client: TestClient, settle: str | None) -> tuple[float, str, str]:
    """Waits on the feed from the current token while a batch is committed 0.1 s after the request
    began to wait (not before: a token already behind is answered at once): how long after that commit
    the answer came, and the tokens before and after."""
    changes: Changes = client.app.state.changes  # type: ignore[attr-defined]
    token = client.get("/kpis/changes", params={"wait": 0}).json()["token"]
    committed: list[float] = []

    def commit() -> None:
        deadline = time.monotonic() + 10
        while not changes.waiting and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        committed.append(time.monotonic())
        changes.applied(1)  # as the projector does after a committed batch, from its thread

    threading.Thread(target=commit).start()
    params = {"after": token, "wait": 10} | ({"settle": settle} if settle is not None else {})
    answer = client.get("/kpis/changes", params=params)
    answered = time.monotonic()
    assert answer.status_code == 200, answer.text
    return answered - committed[0], token, answer.json()["token"]


def test_the_feed_answers_at_the_first_change_when_asked_not_to_settle(kpi: TestClient) -> None:
    waited, before, after = _after_a_change(kpi, "0")
    assert after != before
    assert waited < 1.5  # no settling: the answer follows the commit (generous for a loaded machine)


def test_the_feed_lets_a_burst_settle_before_answering(kpi: TestClient) -> None:
    waited, before, after = _after_a_change(kpi, "2")
    assert after != before
    assert waited >= 2.0
    waited, before, after = _after_a_change(kpi, None)  # the default
    assert after != before
    assert waited >= 0.3


def test_a_token_already_behind_is_answered_at_once(kpi: TestClient) -> None:
    changes: Changes = kpi.app.state.changes  # type: ignore[attr-defined]
    token = kpi.get("/kpis/changes", params={"wait": 0}).json()["token"]
    changes.applied(1)
    started = time.monotonic()
    answer = kpi.get("/kpis/changes", params={"after": token, "wait": 10, "settle": 5})
    assert answer.json()["token"] != token
    assert time.monotonic() - started < 4  # not the 10 s wait nor the 5 s settle


@pytest.mark.parametrize("settle", ["-1", "5.5", "soon"])
def test_a_settle_out_of_range_is_refused(kpi: TestClient, settle: str) -> None:
    answer = kpi.get("/kpis/changes", params={"wait": 0, "settle": settle})
    assert answer.status_code == 422
