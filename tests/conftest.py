"""Fixtures shared by every test: a real broker, a real PostgreSQL server, fresh databases and topics."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy import local_kafka
from tests import browser as browser_tools
from tests import infra


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("AUTH_SECRET", infra.AUTH_SECRET)
    os.environ.setdefault("LINK_SECRET", infra.LINK_SECRET)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """For pytest-xdist's `--dist loadgroup` (bin/test runs the plain run in two workers): a module's
    tests run in one worker, in order, so that its module-scoped services are started once and hold
    what its earlier tests left; the end-to-end tests all run in one worker, in file order, because the
    scans at the end (tests/e2e/test_zz_*) read the topics of the tests before them in that process."""
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group("e2e" if module.startswith("tests/e2e/") else module))


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    if infra.docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            os.environ["KAFKA_BOOTSTRAP_SERVERS"] = container.get_bootstrap_server()  # for examples/
            yield container.get_bootstrap_server()
        return
    state = tmp_path_factory.mktemp("kafka")
    port = infra.free_port()
    # every test makes its own topics: a few thousand partitions by the end of the suite
    local_kafka.start(state, port, infra.free_port(), heap="2g")
    # the reference consumer's tests (examples/, beyond this conftest's reach) find the broker here
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{port}"
    try:
        yield f"127.0.0.1:{port}"
    finally:
        local_kafka.stop(state)


@pytest.fixture(scope="session")
def kafka_cluster() -> Iterator[local_kafka.Cluster]:
    """A three-node KRaft cluster of the `cluster` tests alone (they kill and restart its nodes), on
    ports of its own, with its data in a temporary folder; stopped and removed at the end."""
    state = Path(tempfile.mkdtemp(prefix="vvsg-test-cluster-"))
    cluster = local_kafka.Cluster(state, nodes=3, port=local_kafka.free_port_range(6))
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("TEST_POSTGRES_URL")
    if configured:
        yield configured
        return
    if infra.docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine") as container:
            yield container.get_connection_url()
        return
    from deploy import local_postgres

    # not under pytest's tmp dirs: those are private to root, and PostgreSQL runs as `postgres`
    data_dir = Path(tempfile.mkdtemp(prefix="vvsg-test-postgres-"))
    url = local_postgres.start(data_dir, infra.free_port())
    try:
        yield url
    finally:
        local_postgres.stop(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind the services run on."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/service.db"
        return
    server = request.getfixturevalue("postgres_server")
    with infra.postgres_database(server) as url:
        yield url


@pytest.fixture
def topic_prefix(kafka_bootstrap: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """Topics of this test only, so that no test sees another's records. An end-to-end test's topics
    stay for the privacy scan that reads them all at the end; the others are deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    yield prefix
    if request.node.get_closest_marker("e2e") is None:
        infra.delete_topics(kafka_bootstrap, prefix)


@pytest.fixture(params=["sqlite", "postgresql"])
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[infra.Databases]:
    """Fresh, empty databases (one per service) of each kind the services run on."""
    if request.param == "sqlite":
        yield infra.Databases(lambda name: f"sqlite:///{tmp_path}/{name}.db")
        return
    server = request.getfixturevalue("postgres_server")
    with contextlib.ExitStack() as stack:
        yield infra.Databases(lambda _name: stack.enter_context(infra.postgres_database(server)))


@pytest.fixture
def services(
    kafka_bootstrap: str, topic_prefix: str, tmp_path: Path
) -> Iterator[Callable[..., infra.ServiceProcess]]:
    """Starts services as processes on this test's topics; stops them all at the end."""
    started: list[infra.ServiceProcess] = []

    def start(name: str, database_url: str, **env: str) -> infra.ServiceProcess:
        process = infra.ServiceProcess(
            name,
            {
                "DATABASE_URL": database_url,
                "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
                "KAFKA_TOPIC_PREFIX": topic_prefix,
                "OUTBOX_POLL_SECONDS": "0.2",
                **env,
            },
            tmp_path,
        )
        started.append(process)
        return process.start()

    yield start
    for process in reversed(started):
        process.stop()


@pytest.fixture(params=[pytest.param("memory"), pytest.param("kafka", marks=pytest.mark.integration)])
def transport_place(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """One consumer scenario, two transports (tests.transports): (kind, bootstrap, topic prefix). In
    memory nothing may connect to the broker address; on Kafka the topics are this test's own."""
    if request.param == "kafka":
        return "kafka", request.getfixturevalue("kafka_bootstrap"), request.getfixturevalue("topic_prefix")
    return "memory", "127.0.0.1:9", f"memory{uuid.uuid4().hex[:6]}."


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium under Playwright for one test (tests/browser.py); skipped where there is none."""
    with browser_tools.chromium() as launched:
        yield launched
