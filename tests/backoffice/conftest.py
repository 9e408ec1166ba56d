"""The back office's fixtures: a real OpenID Connect provider (Keycloak from Maven Central, see
deploy/local_keycloak.py) for the test session, the back office as a process, and Debian's Chromium."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy import local_keycloak
from tests import infra

ARTEFACTS = Path(__file__).resolve().parents[2] / "test-output" / "backoffice"  # gitignored


@pytest.fixture(scope="session")
def keycloak(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The issuer of the vvsg realm: KEYCLOAK_URL names one already running (started with
    `python -m deploy.local_keycloak start`), else one is started for this session and stopped after."""
    configured = os.environ.get("KEYCLOAK_URL")
    if configured:
        yield f"{configured.rstrip('/')}/realms/{local_keycloak.REALM}"
        return
    state = tmp_path_factory.mktemp("keycloak")
    began = time.monotonic()
    provider = local_keycloak.start(state, local_keycloak.free_port())
    print(f"\nKeycloak {local_keycloak.KEYCLOAK_VERSION} answered after {time.monotonic() - began:.1f} s")
    try:
        yield provider.issuer
    finally:
        local_keycloak.stop(state)


@pytest.fixture
def backoffice(keycloak: str, tmp_path: Path) -> Iterator[Callable[..., infra.ServiceProcess]]:
    started: list[infra.ServiceProcess] = []

    def start(**env: str) -> infra.ServiceProcess:
        process = infra.ServiceProcess(
            "backoffice",
            {
                "OIDC_ISSUER": keycloak,
                "OIDC_CLIENT_ID": local_keycloak.CLIENT_ID,
                "OIDC_ROLE_CLAIM": "roles",
                "OIDC_ROLE_MAP": local_keycloak.ROLE_MAP,
                **env,
            },
            tmp_path,
        )
        started.append(process)
        return process.start()

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def artefacts() -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    return ARTEFACTS
