"""The golden year: the scripted 2025 of tests/kpi_year.py, every KPI code worked out by hand from the
DESIGN rules; the same records interleaved across keys and partly redelivered through the projector's
real idempotent path give the same answer; `as_of` in mid-year gives the hand-worked figures then.

The script, in short (see tests/kpi_year.py):
- members: M1 @ A (lokaal_bestuur) since 2024-05-01; M2 @ A 2025-02-01, left 2025-06-30, erased 2025-12-01;
  M3 @ B (ISV) 2025-03-01; M4 @ C (kennisinstelling) 2025-04-01, moved to B 2025-09-01.
  Knowledge sharing: M1 joined 2025-01-10, left 2025-12-15.
- sessions held: general 03-10 and 10-02; info (vvsg) 04-15; training_thematic 05-21 (rescheduled);
  steering 06-01; coordination 02-03; inspiration_day_physical 11-05 (mediawijs); workshop_on_request
  09-09 (cancelled 09-20, after it was held).
- attendance: general_1 R1 3.0 + R2 2.5; info R3 2.0 + R4 1.5, R5 not attended, R6 cancelled;
  training R7 6.0.
- advice 03-03; trajectory of A 01-15 .. 11-30; feedback requested for general_1 (03-11) and info
  (04-16), one answer for general_1 (satisfaction 4, motivated 5, able_to_act 3); survey closed 03-31
  with 25 local-government responses; newsletters sent 01-15 and 06-15; article in Lokaal 05-05; good
  practice 07-07; a newsletter subscription (01-02 .. 08-02), which no KPI counts.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from sqlmodel import Session

from services.kpi import kpis, projection
from services.kpi.app import MIGRATIONS
from shared import events
from shared.consumer import Item, TrackedConsumer, decode_event
from shared.db import make_engine, migrate
from tests import kpi_year

NOW = datetime(2026, 2, 1, tzinfo=UTC)  # the report is asked after the year: D = 31 December 2025

# code -> (value, status). Every KPI code of the DESIGN table, worked out by hand.
YEAR_END: dict[str, tuple[int | float, str]] = {
    # active on 31/12: M1 (since 2024), M3 (since 03-01), M4 (since 04-01); M2 left 06-30 -> 3
    "OD1.1-leden": (3, "geen doel"),
    # lokaal_bestuur/ISV orgs with an active member on 31/12: A (M1), B (M3, and M4 since 09-01) -> 2
    "OD1.1-besturen": (2, "geen doel"),
    # network_meeting_general held: 03-10 + 10-02 = 2 >= 2
    "OD1.1-bijeenkomsten-algemeen": (2, "behaald"),
    # no network_meeting_thematic -> 0 < 2
    "OD1.1-bijeenkomsten-specifiek": (0, "niet behaald"),
    # M1 joined 01-10 but left 12-15 -> 0 active on 31/12
    "OD1.1-kennisdeling": (0, "geen doel"),
    # one info_session, lead vvsg, held 04-15 -> 1 < 2
    "OD1.2-infosessies": (1, "niet behaald"),
    # attended at that info session: R3 2.0 + R4 1.5 (R5 not attended, R6 cancelled) = 3.5 < 100
    "OD1.2-deelnemersuren": (3.5, "niet behaald"),
    # inspiration_day_physical held 11-05 -> 1 >= 1
    "OD1.2-inspiratiedag-fysiek": (1, "behaald"),
    # no inspiration_day_online -> 0 < 1
    "OD1.2-inspiratiedag-online": (0, "niet behaald"),
    # good practice published 07-07 -> 1
    "OD1.3-goede-praktijken": (1, "geen doel"),
    # newsletters sent 01-15 + 06-15 -> 2
    "OD1.3-nieuwsbrieven": (2, "geen doel"),
    # one article in Lokaal, 05-05 -> 1
    "OD1.3-artikels": (1, "geen doel"),
    # workshop_on_request held 09-09, cancelled afterwards: stays held -> 1
    "OD1.3-op-vraag": (1, "geen doel"),
    # no training_multiday -> 0
    "OD2.1-meerdaagse": (0, "geen doel"),
    # training_thematic rescheduled to and held on 05-21 -> 1
    "OD2.2-thematisch": (1, "geen doel"),
    # no training_integrated -> 0
    "OD2.2-geintegreerd": (0, "geen doel"),
    # attended at the thematic training: R7 6.0 = 6.0 < 160
    "OD2.2-deelnemersuren": (6.0, "niet behaald"),
    # survey closed 03-31 with 25 (>= 1) local-government responses -> 1 >= 1
    "OD3.1-bevraging": (1, "behaald"),
    # no tool of the catalogue (OD 3.1) in the script: none disclosed, none past its review
    "OD3.1-hulpmiddelen": (0, "geen doel"),
    "OD3.1-herziening": (0, "geen doel"),
    # one advice.given, 03-03 -> 1
    "OD3.2-advies": (1, "geen doel"),
    # A's trajectory 01-15 .. 11-30 is active in 2025 -> 1 organisation
    "OD3.3-op-maat": (1, "geen doel"),
    # steering_group held 06-01 -> 1 < 2
    "afstemming-stuurgroep": (1, "niet behaald"),
    # coordination_meeting held 02-03 -> 1 < 12
    "afstemming-overleg": (1, "niet behaald"),
    # sessions held (not steering/coordination): general x2, info, training, inspiration, workshop = 6;
    # with a feedback request: general_1, info = 2 -> 2/6 = 33.33.. -> 33.3 < 100
    "feedback-gevraagd": (33.3, "niet behaald"),
    # requests for those sessions: 2; answered: 1 (for general_1) -> 1/2 = 50.0
    "feedback-respons": (50.0, "geen doel"),
    # satisfaction answers: [4] -> 4.00
    "feedback-tevredenheid": (4.0, "geen doel"),
    # motivated answers: [5], 4 or 5: 1 of 1 -> 100.0
    "feedback-gemotiveerd": (100.0, "geen doel"),
    # able-to-act answers: [3], 4 or 5: 0 of 1 -> 0.0
    "feedback-zelf-realiseren": (0.0, "geen doel"),
}

# joined and left during 2025 per organisation kind, by the organisation at the time:
# M2 joined A (lokaal_bestuur) and left it; M3 joined B (ISV); M4 joined C (kennisinstelling).
LEDEN_ITEMS = [
    {"organisation_kind": "intergemeentelijk_samenwerkingsverband", "joined": 1, "left": 0},
    {"organisation_kind": "kennisinstelling", "joined": 1, "left": 0},
    {"organisation_kind": "lokaal_bestuur", "joined": 1, "left": 1},
]

MID_YEAR_DAY = date(2025, 7, 1)
MID_YEAR: dict[str, int | float] = {
    # active on 07-01: M1, M3, M4 (M2 left 06-30) -> 3
    "OD1.1-leden": 3,
    # A (M1) and B (M3); M4 is still at C, a kennisinstelling -> 2
    "OD1.1-besturen": 2,
    # M1 joined knowledge sharing 01-10 and only leaves 12-15 -> 1
    "OD1.1-kennisdeling": 1,
    # only the spring meeting (03-10) is held by 07-01 -> 1
    "OD1.1-bijeenkomsten-algemeen": 1,
    # the info session of 04-15: 2.0 + 1.5 = 3.5
    "OD1.2-deelnemersuren": 3.5,
    # inspiration day only on 11-05 -> 0
    "OD1.2-inspiratiedag-fysiek": 0,
    # good practice only on 07-07 -> 0
    "OD1.3-goede-praktijken": 0,
    # workshop only on 09-09 -> 0
    "OD1.3-op-vraag": 0,
    # both newsletters (01-15, 06-15) -> 2
    "OD1.3-nieuwsbrieven": 2,
    # trajectory started 01-15 -> 1
    "OD3.3-op-maat": 1,
    # held by 07-01 (not steering/coordination): general_1, info, training = 3; with a request: 2
    # -> 2/3 = 66.66.. -> 66.7
    "feedback-gevraagd": 66.7,
}


def _consumer(engine: Any) -> TrackedConsumer[events.Event]:
    """The projector exactly as services.kpi.projection.projector builds it, without a broker: batches are
    handed to its transactional `_apply` (inbox by event id + positions, one commit per batch)."""
    return projection.projector(topics=[], engine=engine, batch_size=1000)


def _record(
    topic: str, partition: int, offset: int, key: bytes, value: bytes
) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, partition, offset, 0, 0, key, value, None, len(key), len(value), ())


def _report(
    tmp_path: Path, batches: list[list[ConsumerRecord[bytes, bytes]]], as_of: date | None
) -> dict[str, Any]:
    engine = make_engine(f"sqlite:///{tmp_path}/kpi-{uuid.uuid4().hex}.db")
    migrate(engine, MIGRATIONS)
    tracked = _consumer(engine)
    for batch in batches:
        items = [Item(r, *decode_event(r)) for r in batch]
        tracked._apply(items, batch, set())
    # each event applied exactly once: the rest was skipped by position or by event id
    assert tracked.stats.applied == len(kpi_year.year_data())
    with Session(engine) as session:
        answer = kpis.report(session, kpi_year.YEAR, as_of, NOW)
    engine.dispose()
    return {k["code"]: k for k in answer["kpis"]}


def _in_order() -> list[list[ConsumerRecord[bytes, bytes]]]:
    """Every record in script order, one partition per topic, one batch."""
    offsets: dict[str, int] = {}
    batch = []
    for topic, key, value in kpi_year.envelope_records(kpi_year.year_data()):
        batch.append(_record(topic, 0, offsets.get(topic, 0), key, value))
        offsets[topic] = offsets.get(topic, 0) + 1
    return [batch]


def _interleaved(seed: int) -> list[list[ConsumerRecord[bytes, bytes]]]:
    """As Kafka delivers them: records spread over 3 partitions per topic by key (order kept per key),
    partitions interleaved at random, cut into random batches; then part of it comes again — some
    records redelivered at their old positions (after a lost commit), some republished by a relay
    with new offsets but the same CloudEvents id."""
    rng = random.Random(seed)
    queues: dict[tuple[str, int], list[ConsumerRecord[bytes, bytes]]] = {}
    for topic, key, value in kpi_year.envelope_records(kpi_year.year_data()):
        partition = sum(key) % 3
        queue = queues.setdefault((topic, partition), [])
        queue.append(_record(topic, partition, len(queue), key, value))
    stream: list[ConsumerRecord[bytes, bytes]] = []
    pending = {tp: list(q) for tp, q in queues.items()}
    while pending:
        tp = rng.choice(sorted(pending))
        stream.append(pending[tp].pop(0))
        if not pending[tp]:
            del pending[tp]
    # redelivered at their old positions: a random third of the stream again, per partition in order
    again = sorted(rng.sample(stream, len(stream) // 3), key=lambda r: (r.topic, r.partition, r.offset))
    # republished with new offsets (same event ids): another random third
    republished = []
    ends = {tp: len(q) for tp, q in queues.items()}
    for r in rng.sample(stream, len(stream) // 3):
        tp = (r.topic, r.partition)
        republished.append(_record(r.topic, r.partition, ends[tp], r.key, r.value))
        ends[tp] += 1
    full = stream + again + republished
    cuts = sorted(rng.sample(range(1, len(full)), 6))
    return [full[a:b] for a, b in zip([0, *cuts], [*cuts, len(full)], strict=True)]


def _values(report: dict[str, Any]) -> dict[str, tuple[int | float, str]]:
    return {code: (k["value"], k["status"]) for code, k in report.items()}


def test_the_golden_year_answers_every_kpi_as_worked_out_by_hand(tmp_path: Path) -> None:
    report = _report(tmp_path, _in_order(), None)
    assert set(report) == set(YEAR_END), "every KPI code of the design, and no other"
    assert _values(report) == YEAR_END
    assert report["OD1.1-leden"]["items"] == LEDEN_ITEMS
    # the overviews list what they count
    for code, (value, _status) in YEAR_END.items():
        if code.startswith(("OD1.2-infosessies", "OD1.3-", "OD3.3-")):
            assert len(report[code]["items"]) == value, code


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_interleaved_and_redelivered_records_give_the_same_answer(tmp_path: Path, seed: int) -> None:
    batches = _interleaved(seed)
    assert sum(map(len, batches)) > len(kpi_year.year_data())  # some records do come twice
    once = _report(tmp_path, _in_order(), None)
    twice = _report(tmp_path, batches, None)
    assert _values(twice) == YEAR_END
    assert {c: k["items"] for c, k in twice.items()} == {c: k["items"] for c, k in once.items()}
    mid = _report(tmp_path, batches, MID_YEAR_DAY)
    assert {code: mid[code]["value"] for code in MID_YEAR} == MID_YEAR


def test_as_of_mid_year_answers_what_was_true_then(tmp_path: Path) -> None:
    report = _report(tmp_path, _in_order(), MID_YEAR_DAY)
    assert {code: report[code]["value"] for code in MID_YEAR} == MID_YEAR
