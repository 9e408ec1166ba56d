"""`python -m services.kpi.rebuild` against a running KPI service, on both databases: the service keeps
answering from the old read models while the rebuild runs or stands interrupted, the rebuild resumes,
the switch-over gives the same answer as the live projection, and the live projector carries on in the
new generation."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.kpi.api import GENERATION_HEADER
from tests import kpi_year
from tests.infra import ROOT, Databases, ServiceProcess, produce, wait_until

pytestmark = pytest.mark.e2e


def _answer(kpi: httpx.Client) -> tuple[str, dict[str, Any]]:
    response = kpi.get("/kpis/2025")
    assert response.status_code == 200, response.text
    body = response.json()
    return response.headers[GENERATION_HEADER], {k["code"]: (k["value"], k["items"]) for k in body["kpis"]}


def _rebuild(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "services.kpi.rebuild", "--batch-size", "10", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _publish(bootstrap: str, prefix: str, records: list[tuple[str, bytes, bytes]]) -> None:
    asyncio.run(produce(bootstrap, [(prefix + topic, key, value) for topic, key, value in records]))


def test_a_rebuild_resumes_after_an_interruption_and_switches_to_the_same_answer(
    databases: Databases,
    services: Callable[..., ServiceProcess],
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    records = kpi_year.envelope_records(kpi_year.year_data())
    _publish(kafka_bootstrap, topic_prefix, records)
    url = databases("kpi")
    kpi_service = services("kpi", url)
    env = {
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
    }
    with kpi_service.client("viewer") as kpi:
        wait_until(
            lambda: all(_answer(kpi)[1][c][0] == v for c, v in kpi_year.EXPECTED.items()),
            30,
            0.2,
            "the live projection of the scripted year",
        )
        generation, live = _answer(kpi)
        assert generation == "1"

        interrupted = _rebuild(env, "--stop-after", "30")
        assert interrupted.returncode == 3, interrupted.stderr
        assert _answer(kpi) == ("1", live)  # half a rebuild changes nothing the API says

        finished = _rebuild(env)
        assert finished.returncode == 0, finished.stderr
        assert "gaat verder met generatie 2" in finished.stderr
        wait_until(lambda: _answer(kpi)[0] == "2", 20, 0.2, "the service to answer from generation 2")
        assert _answer(kpi)[1] == live

        _publish(
            kafka_bootstrap,
            topic_prefix,
            kpi_year.envelope_records(kpi_year.corrections(), kpi_year.T0.replace(year=2026)),
        )
        wait_until(
            lambda: (
                {c: _answer(kpi)[1][c][0] for c in kpi_year.AFTER_CORRECTIONS} == kpi_year.AFTER_CORRECTIONS
            ),
            30,
            0.2,
            "the live projector to carry on in generation 2",
        )


def test_the_api_answers_while_a_rebuild_runs(
    services: Callable[..., ServiceProcess], kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> None:
    records = kpi_year.envelope_records(kpi_year.year_data())
    _publish(kafka_bootstrap, topic_prefix, records * 3)  # redelivered twice: counted once
    url = f"sqlite:///{tmp_path}/kpi.db"
    kpi_service = services("kpi", url)
    env = {
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": topic_prefix,
    }
    with kpi_service.client("viewer") as kpi:
        wait_until(lambda: _answer(kpi)[1]["OD1.2-deelnemersuren"][0] == 3.5, 30, 0.2, "the live projection")
        _generation, live = _answer(kpi)
        rebuild = subprocess.Popen(
            [sys.executable, "-m", "services.kpi.rebuild", "--batch-size", "5"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        answers = []
        try:
            while rebuild.poll() is None:
                answers.append(_answer(kpi))
        finally:
            rebuild.wait(60)
        assert rebuild.returncode == 0
        assert answers and all(answer == live for _generation, answer in answers)
        wait_until(lambda: _answer(kpi) == ("2", live), 20, 0.2, "the switch to generation 2")
