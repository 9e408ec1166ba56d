"""Consumer groups per environment: every group id of every service carries KAFKA_TOPIC_PREFIX, so
environments that share one Kafka cluster never share (and take each other's partitions in) a group."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from shared.service import Runtime
from tools.asyncapi import SERVICES


def _runtime(service: str, directory: Path, prefix: str) -> Runtime:
    """The service as `python -m services.<service>` builds it (nothing started), in one environment."""
    module = importlib.import_module(f"services.{service}.app")
    loader = getattr(module, "load", None)
    settings: Any = (
        loader() if loader is not None else importlib.import_module("shared.settings").load(service)
    )
    settings.database_url = f"sqlite:///{directory}/{service}.db"
    settings.kafka_topic_prefix = prefix
    settings.link_secret = SecretStr("x" * 32)
    runtime: Runtime = module.build(settings).state.runtime
    return runtime


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("prefix", ["", "staging."])
def test_every_group_id_is_the_consumer_in_its_environment(service: str, prefix: str, tmp_path: Path) -> None:
    runtime = _runtime(service, tmp_path, prefix)
    try:
        groups = [driver.group_id for driver in runtime.drivers]
        assert groups or service == "members"  # members reacts to nobody
        for driver in runtime.drivers:
            # once, whether or not the service already put the prefix in the consumer's name
            assert driver.group_id == prefix + driver.tracked.name.removeprefix(prefix)
        assert len(set(groups)) == len(groups)
    finally:
        runtime.engine.dispose()
