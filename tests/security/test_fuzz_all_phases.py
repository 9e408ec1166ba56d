"""The full fuzz run (issue 11): Schemathesis' own runner, every phase (examples, coverage, fuzzing,
stateful), at least 30 examples per operation, with an admin token, against the five services running
as processes on one set of topics (so what the fuzzer writes into members and events also reaches the
KPI projection and its reports). No answer may be a server error, carry a status the OpenAPI document
does not declare, or break the declared schema or media type.

Marked `fuzz`: left out of the default run (pyproject addopts), run with `-m fuzz` (`.ci/run` does, as
its own step). The default run keeps the smaller in-process run of test_fuzz.py."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import infra
from tests.security import apps

pytestmark = pytest.mark.fuzz

EXAMPLES = 30
PHASES = "examples,coverage,fuzzing,stateful"
CONFIG = Path(__file__).with_name("fuzz.toml")  # the checks, the readiness 503, the request timeout


def command(url: str, token: str) -> list[str]:
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    return [
        st,
        "--config-file",
        str(CONFIG),
        "run",
        f"{url}/openapi.json",
        "--phases",
        PHASES,
        "--max-examples",
        str(EXAMPLES),
        "--header",
        f"Authorization: Bearer {token}",
        "--generation-deterministic",  # the same cases in every run
        "--no-color",
    ]


@pytest.fixture(scope="module")
def fleet(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    directory = tmp_path_factory.mktemp("fuzz-all")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    started: list[infra.ServiceProcess] = []
    try:
        for name in apps.SERVICES:
            process = infra.ServiceProcess(
                name,
                {
                    "DATABASE_URL": f"sqlite:///{directory}/{name}.db",
                    "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                    "KAFKA_TOPIC_PREFIX": prefix,
                    "AUTH_SECRET": infra.AUTH_SECRET,
                    "LINK_SECRET": infra.LINK_SECRET,
                    "PUBLIC_RATE_PER_MINUTE": str(10**7),  # the public endpoints are fuzzed too
                    "SMTP_PORT": str(infra.free_port()),  # nobody listens: mails stay queued
                },
                directory,
            )
            started.append(process)
            process.start()
        yield {process.name: process.url for process in started}
    finally:
        for process in reversed(started):
            process.stop()
        infra.delete_topics(kafka_bootstrap, prefix)


@pytest.mark.parametrize("service", apps.SERVICES)
def test_schemathesis_all_phases_finds_no_server_error_and_no_undocumented_status(
    fleet: dict[str, str], service: str
) -> None:
    run = subprocess.run(
        command(fleet[service], infra.token("admin")),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    output = run.stdout + run.stderr
    cases = re.search(r"Test cases:\s*\n\s*(.+)", output)
    print(f"\n{service}: {cases.group(1) if cases else 'no summary'}")
    assert run.returncode == 0, output[-6000:]
    assert cases is not None and re.fullmatch(r"\d+ generated, \d+ passed(, \d+ skipped)?", cases.group(1))
