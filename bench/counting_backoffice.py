"""The back office as `python -m services.backoffice` runs it, counting what it asks of others: each
HTTP request to a service and each Kafka client it starts add one byte to a file (BENCH_HTTP_COUNT,
BENCH_KAFKA_COUNT), so that bench.backoffice_screens can report the calls a screen makes, a figure
that does not depend on how busy the machine is. For the benchmark only."""

from __future__ import annotations

import os
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient


def _tally(variable: str) -> None:
    with open(os.environ[variable], "ab") as tally:  # appending one byte: atomic enough for one process
        tally.write(b".")


def _counted(cls: Any, method: str, variable: str) -> None:
    original = getattr(cls, method)

    if method == "send":

        def send(self: Any, *args: Any, **kwargs: Any) -> Any:
            _tally(variable)
            return original(self, *args, **kwargs)

        setattr(cls, method, send)
    else:

        async def start(self: Any, *args: Any, **kwargs: Any) -> Any:
            _tally(variable)
            return await original(self, *args, **kwargs)

        setattr(cls, method, start)


if __name__ == "__main__":
    _counted(httpx.Client, "send", "BENCH_HTTP_COUNT")
    for kafka_client in (AIOKafkaConsumer, AIOKafkaProducer):
        _counted(kafka_client, "start", "BENCH_KAFKA_COUNT")
    _counted(AIOKafkaAdminClient, "start", "BENCH_KAFKA_COUNT")

    from services.backoffice.app import build
    from services.backoffice.settings import load  # after the patches: the app sees them
    from shared.service import serve

    settings = load()
    serve(build(settings), settings)
