"""Create the Kafka topics this system needs: `python -m deploy.topics [--partitions N] [--timeout S]`."""

from __future__ import annotations

import argparse
import asyncio
import sys

from shared.kafka import ensure_topics, wait_for_broker
from shared.settings import Settings
from shared.topics import all_topics


async def create_topics(bootstrap_servers: str, prefix: str, partitions: int, timeout: float) -> list[str]:
    """Wait for the broker, then create the missing topics; return the names created."""
    await wait_for_broker(bootstrap_servers, timeout=timeout)
    return await ensure_topics(bootstrap_servers, all_topics(partitions), prefix=prefix)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.topics",
        description="Create the Kafka topics at KAFKA_BOOTSTRAP_SERVERS, prefixed by KAFKA_TOPIC_PREFIX.",
    )
    parser.add_argument("--partitions", type=int, default=3, help="partitions per domain topic (3)")
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the broker (90)")
    args = parser.parse_args(argv)
    if args.partitions < 1:
        parser.error("--partitions must be at least 1")

    settings = Settings(service_name="topics")
    bootstrap = settings.kafka_bootstrap_servers
    prefix = settings.kafka_topic_prefix
    try:
        created = asyncio.run(create_topics(bootstrap, prefix, args.partitions, args.timeout))
    except TimeoutError as exc:
        print(exc, file=sys.stderr)
        return 1
    wanted = [prefix + spec.name for spec in all_topics(args.partitions)]
    for name in created:
        print(f"created {name}")
    print(f"{len(created)} created, {len(wanted) - len(created)} already existed, on {bootstrap}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
