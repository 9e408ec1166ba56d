"""Topic names and how each is kept."""

from __future__ import annotations

from dataclasses import dataclass, field

MEMBERS_EVENTS = "members.events"
MEMBERS_CONTACTS = "members.contacts"
ACTIVITIES_EVENTS = "activities.events"
FEEDBACK_EVENTS = "feedback.events"
COMMUNICATIONS_EVENTS = "communications.events"

DOMAIN_TOPICS: tuple[str, ...] = (
    MEMBERS_EVENTS,
    ACTIVITIES_EVENTS,
    FEEDBACK_EVENTS,
    COMMUNICATIONS_EVENTS,
)


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def all_topics(partitions: int = 3) -> list[TopicSpec]:
    """Domain topics keep their whole history (the KPI service rebuilds from them)."""
    forever = {"retention.ms": "-1", "retention.bytes": "-1"}
    specs = [TopicSpec(t, partitions, forever) for t in DOMAIN_TOPICS]
    specs.append(
        TopicSpec(
            MEMBERS_CONTACTS,
            partitions,
            {
                "cleanup.policy": "compact",
                "retention.ms": "-1",
                # erasure must really remove the data: tombstones and dirty segments do not linger
                "delete.retention.ms": "86400000",
                "min.compaction.lag.ms": "0",
                "max.compaction.lag.ms": "604800000",
                "segment.ms": "86400000",
            },
        )
    )
    specs += [TopicSpec(dead_letter_topic(t), 1, forever) for t in (*DOMAIN_TOPICS, MEMBERS_CONTACTS)]
    return specs
