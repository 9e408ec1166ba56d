"""Broker faults under load on a three-node cluster (replication 3, min.insync.replicas 2): the leader of
the busiest partition killed with SIGKILL and brought back, then every node restarted in turn. With about
50 commands a second flowing through members and events into the KPIs, no command is refused, every
accepted one is counted exactly once, and the KPIs catch up within 15 s of the cluster being whole."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy import local_kafka
from shared import topics
from shared.kafka import ensure_topics
from tests.cluster.load import Traffic, fully_replicated, kpi_values, leaders, partition_ends
from tests.infra import ServiceProcess, auth, wait_until

pytestmark = pytest.mark.cluster

CATCH_UP_SECONDS = 15.0


@pytest.fixture
def stack(kafka_cluster: local_kafka.Cluster, tmp_path: Path) -> Iterator[dict[str, ServiceProcess]]:
    """Members, events and KPI as processes on the cluster, each on its own SQLite database."""
    prefix = f"f{uuid.uuid4().hex[:8]}."
    asyncio.run(
        ensure_topics(
            kafka_cluster.bootstrap, topics.all_topics(), prefix, replication_factor=3, min_insync_replicas=2
        )
    )
    started: dict[str, ServiceProcess] = {}
    try:
        for name in ("members", "events", "kpi"):
            env = {
                "DATABASE_URL": f"sqlite:///{tmp_path}/{name}.db",
                "KAFKA_BOOTSTRAP_SERVERS": kafka_cluster.bootstrap,
                "KAFKA_TOPIC_PREFIX": prefix,
                "KAFKA_REPLICATION_FACTOR": "3",
                "KAFKA_MIN_INSYNC_REPLICAS": "2",
                "OUTBOX_POLL_SECONDS": "0.2",
            }
            started[name] = ServiceProcess(name, env, tmp_path).start(ready_timeout=90)
        yield started
    finally:
        for process in started.values():
            process.stop()


def _catch_up(kpi_url: str, expected: dict[str, int], since: float) -> float:
    """Seconds from `since` until the KPIs count at least what was accepted before it."""

    def caught_up() -> bool:
        seen = kpi_values(kpi_url)
        return seen is not None and all(seen[code] >= n for code, n in expected.items())

    wait_until(caught_up, 60, 0.2, f"the KPIs to reach {expected}")
    return time.monotonic() - since


def test_no_command_is_refused_or_lost_when_brokers_fail_under_load(
    kafka_cluster: local_kafka.Cluster, stack: dict[str, ServiceProcess]
) -> None:
    bootstrap = kafka_cluster.bootstrap
    prefix = stack["members"].env["KAFKA_TOPIC_PREFIX"]
    domain = [prefix + t for t in (*topics.DOMAIN_TOPICS, topics.MEMBERS_CONTACTS)]
    organisation = httpx.post(
        f"{stack['members'].url}/organisations",
        json={"name": "Gemeente Zemst", "kind": "lokaal_bestuur"},
        headers=auth("staff"),
        timeout=30,
    )
    assert organisation.status_code == 201, organisation.text
    traffic = Traffic(
        lambda: [stack["members"].url], lambda: [stack["events"].url], organisation.json()["id"]
    ).start()
    started = time.monotonic()
    figures: dict[str, float] = {}
    try:
        time.sleep(8)
        # the busiest partition: the most records so far; its leader is the node to kill
        ends = asyncio.run(partition_ends(bootstrap, domain))
        busiest = max(ends, key=lambda tp: ends[tp])
        victim = asyncio.run(leaders(bootstrap, [busiest.topic]))[busiest][0]
        print(
            f"\nkilling node {victim}, leader of {busiest.topic}[{busiest.partition}]"
            f" ({ends[busiest]} records)"
        )
        kafka_cluster.kill_node(victim)
        time.sleep(12)  # a single-node failure under load: leadership moves, writes go on with two replicas
        kafka_cluster.start_node(victim, wait=True)
        whole = time.monotonic()
        figures["catch-up after the kill (s)"] = _catch_up(stack["kpi"].url, traffic.tally.expected(), whole)

        for node in kafka_cluster.ids:
            # a rolling restart waits for every replica to be back in sync before the next node goes
            wait_until(
                lambda: fully_replicated(bootstrap, domain), 90, 0.5, "every partition fully replicated"
            )
            kafka_cluster.stop_node(node)
            time.sleep(3)
            kafka_cluster.start_node(node, wait=True)
        whole = time.monotonic()
        figures["catch-up after the rolling restart (s)"] = _catch_up(
            stack["kpi"].url, traffic.tally.expected(), whole
        )
    finally:
        tally = traffic.stop()
    stopped = time.monotonic()
    expected = tally.expected()
    final = wait_until(
        lambda: kpi_values(stack["kpi"].url) == expected and expected, 30, 0.2, f"the KPIs at {expected}"
    )
    figures["catch-up after the traffic stopped (s)"] = time.monotonic() - stopped
    duration = stopped - started
    print(
        f"commands sent {tally.sent}, 2xx {tally.accepted}, refused {len(tally.refused)} "
        f"in {duration:.0f}s ({tally.sent / duration:.1f}/s); members joined {tally.joined}, "
        f"sessions held {tally.held}; KPIs {final}"
    )
    for what, seconds in figures.items():
        print(f"{what}: {seconds:.1f}")
    assert tally.refused == [], tally.refused[:10]
    # counted exactly once: the KPIs equal what was accepted, neither less nor more
    assert kpi_values(stack["kpi"].url) == expected
    assert figures["catch-up after the kill (s)"] <= CATCH_UP_SECONDS
    assert figures["catch-up after the rolling restart (s)"] <= CATCH_UP_SECONDS
