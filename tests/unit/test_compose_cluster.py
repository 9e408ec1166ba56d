"""Static checks of docker-compose.cluster.yml laid over docker-compose.yml (no Docker needed): three
KRaft nodes that form one quorum, topics replicated 3 times with min.insync.replicas 2 and no unclean
leader election, and every service bootstrapping from all three nodes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import DEFAULT_PORTS, Settings

ROOT = Path(__file__).resolve().parents[2]
NODES = {"kafka": 1, "kafka-2": 2, "kafka-3": 3}
SETTINGS_FIELDS = {name.upper() for name in Settings.model_fields}


def merged(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """What compose makes of `-f base -f override` for the keys checked here: mappings merge, the
    override's scalars win, lists (ports, volumes) add up."""
    result = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        elif isinstance(value, list) and isinstance(result.get(key), list):
            result[key] = [*result[key], *value]
        else:
            result[key] = value
    return result


@pytest.fixture(scope="module")
def stack() -> dict[str, Any]:
    base = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    cluster = yaml.safe_load((ROOT / "docker-compose.cluster.yml").read_text())
    return merged(base, cluster)


def env(stack: dict[str, Any], service: str) -> dict[str, str]:
    return {k: str(v) for k, v in stack["services"][service]["environment"].items()}


def test_the_three_nodes_form_one_quorum_of_three_voters(stack: dict[str, Any]) -> None:
    voters = {f"{node_id}@{name}:9093" for name, node_id in NODES.items()}
    for name, node_id in NODES.items():
        node = env(stack, name)
        assert stack["services"][name]["image"] == stack["services"]["kafka"]["image"]
        assert node["KAFKA_NODE_ID"] == str(node_id)
        assert set(node["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")) == voters
        assert node["CLUSTER_ID"] == env(stack, "kafka")["CLUSTER_ID"]
        assert f"PLAINTEXT://{name}:9092" in node["KAFKA_ADVERTISED_LISTENERS"]
        assert "healthcheck" in stack["services"][name]


def test_each_node_keeps_its_own_data_and_host_port(stack: dict[str, Any]) -> None:
    volumes = [stack["services"][name]["volumes"][0].split(":")[0] for name in NODES]
    assert len(set(volumes)) == 3 and all(v in stack["volumes"] for v in volumes)
    ports = [stack["services"][name]["ports"][0].rsplit(":", 1)[0] for name in NODES]
    assert len(set(ports)) == 3


@pytest.mark.parametrize("name", list(NODES))
def test_every_node_replicates_three_times_and_never_elects_an_unclean_leader(
    stack: dict[str, Any], name: str
) -> None:
    node = env(stack, name)
    assert node["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
    assert node["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert node["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
    assert node["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
    assert node["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"] == "3"
    assert node["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"] == "2"


def test_the_topic_job_creates_replicated_topics_once_every_node_is_healthy(stack: dict[str, Any]) -> None:
    topics = env(stack, "topics")
    assert topics["KAFKA_REPLICATION_FACTOR"] == "3"
    assert topics["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert set(topics) <= SETTINGS_FIELDS
    waits_for = stack["services"]["topics"]["depends_on"]
    assert all(waits_for[name]["condition"] == "service_healthy" for name in NODES)


@pytest.mark.parametrize("service", sorted(DEFAULT_PORTS))
def test_every_service_bootstraps_from_all_three_nodes(stack: dict[str, Any], service: str) -> None:
    settings = env(stack, service)
    assert set(settings["KAFKA_BOOTSTRAP_SERVERS"].split(",")) == {f"{n}:9092" for n in NODES}
    assert int(settings["KAFKA_SESSION_TIMEOUT_MS"]) >= 6000  # the broker refuses a shorter session
