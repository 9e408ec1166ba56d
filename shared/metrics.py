"""Prometheus metrics of one service process, served on /metrics.

Counters that the code already keeps (relay and consumer stats) are read at scrape time by a collector,
so nothing is counted twice; HTTP requests are counted by the middleware in shared.service.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from shared.outbox import outbox_backlog

if TYPE_CHECKING:
    from shared.service import Runtime


class ServiceMetrics:
    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry()
        service = runtime.settings.service_name
        self.http_requests = Counter(
            "vvsg_http_requests",
            "HTTP requests answered",
            ["service", "method", "route", "status"],
            registry=self.registry,
        )
        self.http_latency = Histogram(
            "vvsg_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["service", "method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.service = service
        self.registry.register(_RuntimeCollector(runtime))


class _RuntimeCollector(Collector):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Metric]:
        service = self.runtime.settings.service_name
        published = CounterMetricFamily(
            "vvsg_events_published", "Outbox rows published to Kafka", labels=["service"]
        )
        published.add_metric([service], self.runtime.relay.published)
        yield published
        backlog = GaugeMetricFamily(
            "vvsg_outbox_backlog", "Outbox rows not yet published", labels=["service"]
        )
        age = GaugeMetricFamily(
            "vvsg_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row", labels=["service"]
        )
        try:
            count, oldest = outbox_backlog(self.runtime.engine)
        except Exception:  # noqa: BLE001 - a database that does not answer shows in readiness instead
            count, oldest = -1, -1.0
        backlog.add_metric([service], count)
        age.add_metric([service], oldest)
        yield backlog
        yield age
        families = {
            "consumed": CounterMetricFamily(
                "vvsg_records_consumed", "Records read from Kafka", labels=["service", "consumer"]
            ),
            "applied": CounterMetricFamily(
                "vvsg_records_applied",
                "Events applied to this service's state",
                labels=["service", "consumer"],
            ),
            "duplicates": CounterMetricFamily(
                "vvsg_records_duplicate", "Events skipped as already applied", labels=["service", "consumer"]
            ),
            "dead_letters": CounterMetricFamily(
                "vvsg_dead_letters", "Records sent to a dead-letter topic", labels=["service", "consumer"]
            ),
        }
        lag = GaugeMetricFamily(
            "vvsg_consumer_lag",
            "Records on the topic not yet consumed",
            labels=["service", "consumer", "topic"],
        )
        for tracked in self.runtime.consumers:
            for name, family in families.items():
                family.add_metric([service, tracked.name], getattr(tracked.stats, name))
            for topic, value in tracked.stats.lag.items():
                lag.add_metric([service, tracked.name, topic], value)
        yield from families.values()
        yield lag
