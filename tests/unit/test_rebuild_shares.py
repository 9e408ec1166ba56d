"""How the rebuild deals the partitions out over its processes (services.kpi.rebuild.shares): every
partition exactly once, no process without any, about as many records left in each share."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.kpi.rebuild import shares


def _partitions(*left: int) -> list[tuple[TopicPartition, int]]:
    return [(TopicPartition("t", i), n) for i, n in enumerate(left)]


def test_the_largest_partitions_go_first_to_the_share_with_the_fewest_records() -> None:
    dealt = shares(_partitions(100, 60, 50, 40, 5, 5), 2)
    left = dict(_partitions(100, 60, 50, 40, 5, 5))
    assert sorted(tp.partition for share in dealt for tp in share) == [0, 1, 2, 3, 4, 5]
    # 100 | 60, 60+50 | 100+40 | 110+5, 115+5 (dealt in turn, as the partitions come, would be 155 | 105)
    assert [sum(left[tp] for tp in share) for share in dealt] == [140, 120]


def test_a_costlier_topic_weighs_its_records() -> None:
    left = [(TopicPartition("members", 0), 40), (TopicPartition("t", 0), 60), (TopicPartition("t", 1), 30)]
    # by records: 60 | 40+30; a members record costing two: 80 | 60+30
    assert shares(left, 2) == [
        [TopicPartition("t", 0)],
        [TopicPartition("members", 0), TopicPartition("t", 1)],
    ]
    assert shares(left, 2, {"members": 2.0}) == [
        [TopicPartition("members", 0)],
        [TopicPartition("t", 0), TopicPartition("t", 1)],
    ]


def test_no_share_is_empty_when_nothing_is_left_to_replay() -> None:
    dealt = shares(_partitions(0, 0, 0, 0), 2)
    assert [len(share) for share in dealt] == [2, 2]


def test_never_more_shares_than_partitions() -> None:
    assert shares(_partitions(7), 2) == [[TopicPartition("t", 0)]]
