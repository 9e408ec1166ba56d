"""A served service freezes the heap it has once started (shared.service.freeze_heap: the collector's
full collections no longer walk it, which stopped every request for 70-120 ms); an app started any
other way, as in a test process, leaves the collector alone."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared import service
from tests.security import apps


@pytest.fixture(autouse=True)
def unfrozen() -> Any:
    gc.unfreeze()
    yield
    gc.unfreeze()  # this test process goes on collecting what the app made


def test_serve_asks_the_runtime_to_freeze_its_heap_once_started(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = apps.build("members", tmp_path, kafka_bootstrap, topic_prefix)
    runtime = app.state.runtime
    assert runtime.freeze_heap is False
    served: list[Any] = []

    def run(served_app: Any, **options: Any) -> None:
        # uvicorn would start the app here: the lifespan (Runtime.start) is what follows below
        served.append((served_app, options))

    monkeypatch.setattr("uvicorn.run", run)
    service.serve(app, runtime.settings)
    assert served and served[0][0] is app
    assert runtime.freeze_heap is True

    assert gc.get_freeze_count() == 0
    with TestClient(app) as client:
        assert client.get("/health/live").status_code == 200
        assert gc.get_freeze_count() > 10_000  # the modules, models and routes of a started service


def test_an_app_started_in_a_test_process_freezes_nothing(
    tmp_path: Path, kafka_bootstrap: str, topic_prefix: str
) -> None:
    app = apps.build("members", tmp_path, kafka_bootstrap, topic_prefix)
    with TestClient(app) as client:
        assert client.get("/health/live").status_code == 200
        assert gc.get_freeze_count() == 0
