"""bench.replay's sample for the naive projector (`shares`): each partition gives its share of the
records from its start, so the sample has the mix of the whole topics whatever the first fetches bring."""

from __future__ import annotations

from aiokafka import TopicPartition

from bench.replay import shares

MEMBERS = [TopicPartition("members.events", p) for p in range(3)]
ACTIVITIES = [TopicPartition("activities.events", p) for p in range(3)]


def test_each_partition_gives_its_share_of_the_records() -> None:
    ends = dict(zip(MEMBERS + ACTIVITIES, [1_000, 1_100, 900, 6_000, 5_500, 5_500], strict=True))

    quota = shares(ends, 2_000)

    assert sum(quota.values()) == 2_000
    assert [quota[tp] for tp in MEMBERS] == [100, 110, 90]  # 3,000 of 20,000 records: 15 %
    assert [quota[tp] for tp in ACTIVITIES] == [600, 550, 550]
    assert all(quota[tp] <= ends[tp] for tp in ends)


def test_what_rounding_leaves_goes_to_the_largest_partitions() -> None:
    ends = {MEMBERS[0]: 1, MEMBERS[1]: 1, MEMBERS[2]: 1, ACTIVITIES[0]: 4}

    assert shares(ends, 2) == {MEMBERS[0]: 0, MEMBERS[1]: 0, MEMBERS[2]: 0, ACTIVITIES[0]: 2}
    assert shares(ends, 6) == {MEMBERS[0]: 1, MEMBERS[1]: 1, MEMBERS[2]: 0, ACTIVITIES[0]: 4}


def test_a_sample_larger_than_the_topics_takes_every_record() -> None:
    ends = {MEMBERS[0]: 5, ACTIVITIES[0]: 0}

    assert shares(ends, 100) == {MEMBERS[0]: 5, ACTIVITIES[0]: 0}
    assert shares({}, 100) == {}
