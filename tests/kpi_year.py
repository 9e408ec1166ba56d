"""A small scripted year (2025) touching every event type, for the KPI report, freeze, dashboard and
rebuild tests, plus two late corrections. The hand-worked figures of the later golden-year test can
start from here; these tests only rely on the few figures named in EXPECTED."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from shared import events

YEAR = 2025
T0 = datetime(2025, 1, 1, 8, tzinfo=UTC)


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


ORG_A, ORG_B, ORG_C = _id(1), _id(2), _id(3)
M1, M2, M3, M4 = (_id(100 + i) for i in range(1, 5))
S_GENERAL_1, S_GENERAL_2, S_INFO, S_TRAINING, S_STEERING, S_COORDINATION, S_INSPIRATION, S_WORKSHOP = (
    _id(200 + i) for i in range(1, 9)
)
R = {n: _id(300 + n) for n in range(1, 10)}
TRAJECTORY = _id(401)


def _session(
    sid: uuid.UUID, kind: str, title: str, day: date, lead: str = "vvsg", hours: float = 3.0
) -> list[Any]:
    start = datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
    return [
        events.SessionScheduled(
            session_id=sid,
            kind=kind,
            title=title,
            theme="Digitale inclusie",
            lead=lead,
            format="physical",
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            planned_hours=hours,
            capacity=30,
        )
    ]


def _held(sid: uuid.UUID, day: date, participants: int = 0, hours: float = 0.0) -> events.SessionHeld:
    return events.SessionHeld(session_id=sid, held_on=day, participants=participants, participant_hours=hours)


def _registration(
    rid: uuid.UUID, sid: uuid.UUID, member: uuid.UUID | None, org: uuid.UUID
) -> events.EventData:
    return events.RegistrationReceived(
        registration_id=rid,
        session_id=sid,
        member_id=member,
        organisation_id=org,
        organisation_kind="lokaal_bestuur",
        waitlisted=False,
    )


def _attended(rid: uuid.UUID, sid: uuid.UUID, hours: float, attended: bool = True) -> events.EventData:
    return events.AttendanceRecorded(registration_id=rid, session_id=sid, attended=attended, hours=hours)


def year_data() -> list[events.EventData]:
    d = date
    data: list[events.EventData] = [
        events.OrganisationRegistered(
            organisation_id=ORG_A,
            name="Gemeente Zemst",
            kind="lokaal_bestuur",
            nis_code="23096",
            registered_on=d(2024, 1, 1),
        ),
        events.OrganisationRegistered(
            organisation_id=ORG_B,
            name="Welzijnsregio Noord",
            kind="intergemeentelijk_samenwerkingsverband",
            registered_on=d(2024, 1, 1),
        ),
        events.OrganisationRegistered(
            organisation_id=ORG_C,
            name="Hogeschool West",
            kind="kennisinstelling",
            registered_on=d(2024, 1, 1),
        ),
        events.MemberJoined(member_id=M1, organisation_id=ORG_A, joined_on=d(2024, 5, 1)),
        events.MemberJoined(member_id=M2, organisation_id=ORG_A, joined_on=d(2025, 2, 1)),
        events.MemberJoined(member_id=M3, organisation_id=ORG_B, joined_on=d(2025, 3, 1)),
        events.MemberJoined(member_id=M4, organisation_id=ORG_C, joined_on=d(2025, 4, 1)),
        events.KnowledgeSharingJoined(member_id=M1, joined_on=d(2025, 1, 10)),
        events.MemberLeft(member_id=M2, organisation_id=ORG_A, left_on=d(2025, 6, 30)),
        events.MemberMoved(
            member_id=M4, from_organisation_id=ORG_C, to_organisation_id=ORG_B, moved_on=d(2025, 9, 1)
        ),
        events.MemberErased(member_id=M2, erased_on=d(2025, 12, 1)),
        events.KnowledgeSharingLeft(member_id=M1, left_on=d(2025, 12, 15)),
        events.OrganisationUpdated(
            organisation_id=ORG_C, name="Hogeschool West-Vlaanderen", kind="kennisinstelling"
        ),
    ]
    data += _session(S_GENERAL_1, "network_meeting_general", "Netwerkdag voorjaar", d(2025, 3, 10))
    data += [
        _registration(R[1], S_GENERAL_1, M1, ORG_A),
        _registration(R[2], S_GENERAL_1, M3, ORG_B),
        _attended(R[1], S_GENERAL_1, 3.0),
        _attended(R[2], S_GENERAL_1, 2.5),
        _held(S_GENERAL_1, d(2025, 3, 10), 2, 5.5),
        events.RecordingPublished(session_id=S_GENERAL_1, url="https://www.vvsg.be/opname/netwerkdag"),
    ]
    data += _session(S_GENERAL_2, "network_meeting_general", "Netwerkdag najaar", d(2025, 10, 2))
    data += [_held(S_GENERAL_2, d(2025, 10, 2))]
    data += _session(S_INFO, "info_session", "Infosessie digitale drempels", d(2025, 4, 15), hours=2.0)
    data += [
        _registration(R[3], S_INFO, M2, ORG_A),
        _registration(R[4], S_INFO, M4, ORG_C),
        _registration(R[5], S_INFO, M1, ORG_A),
        _registration(R[6], S_INFO, None, ORG_A),
        events.RegistrationCancelled(registration_id=R[6], session_id=S_INFO),
        _attended(R[3], S_INFO, 2.0),
        _attended(R[4], S_INFO, 1.5),
        _attended(R[5], S_INFO, 0.0, attended=False),
        _held(S_INFO, d(2025, 4, 15), 2, 3.5),
    ]
    data += _session(
        S_TRAINING, "training_thematic", "Opleiding regie en netwerken", d(2025, 5, 20), hours=6.0
    )
    data += [
        events.SessionRescheduled(
            session_id=S_TRAINING,
            starts_at=datetime(2025, 5, 21, 9, tzinfo=UTC),
            ends_at=datetime(2025, 5, 21, 15, tzinfo=UTC),
            planned_hours=6.0,
        ),
        _registration(R[7], S_TRAINING, M3, ORG_B),
        _attended(R[7], S_TRAINING, 6.0),
        _held(S_TRAINING, d(2025, 5, 21), 1, 6.0),
    ]
    data += _session(S_STEERING, "steering_group", "Stuurgroep digitale inclusie", d(2025, 6, 1))
    data += [_held(S_STEERING, d(2025, 6, 1))]
    data += _session(
        S_COORDINATION, "coordination_meeting", "Overleg ABB en Mediawijs", d(2025, 2, 3), hours=1.0
    )
    data += [_held(S_COORDINATION, d(2025, 2, 3))]
    data += _session(
        S_INSPIRATION, "inspiration_day_physical", "Inspiratiedag", d(2025, 11, 5), lead="mediawijs"
    )
    data += [_held(S_INSPIRATION, d(2025, 11, 5))]
    data += _session(S_WORKSHOP, "workshop_on_request", "Workshop op vraag van Zemst", d(2025, 9, 9))
    data += [
        _held(S_WORKSHOP, d(2025, 9, 9)),
        events.SessionCancelled(session_id=S_WORKSHOP, cancelled_on=d(2025, 9, 20)),  # held stays held
        events.AdviceGiven(
            advice_id=_id(501),
            organisation_id=ORG_A,
            given_on=d(2025, 3, 3),
            topic="Digitale balie",
            channel="meeting",
            with_mediawijs=True,
        ),
        events.SupportTrajectoryStarted(
            trajectory_id=TRAJECTORY,
            organisation_id=ORG_A,
            started_on=d(2025, 1, 15),
            stage="starting",
            methodology="De Wisselaar",
            description="Collega's uit alle beleidsdomeinen meekrijgen",
        ),
        events.SupportTrajectoryCompleted(
            trajectory_id=TRAJECTORY, completed_on=d(2025, 11, 30), summary="Afgerond"
        ),
        events.FeedbackRequested(
            request_id=_id(601),
            subject_type="session",
            subject_id=S_GENERAL_1,
            member_id=M1,
            requested_on=d(2025, 3, 11),
        ),
        events.FeedbackRequested(
            request_id=_id(602),
            subject_type="session",
            subject_id=S_INFO,
            member_id=M2,
            requested_on=d(2025, 4, 16),
        ),
        events.FeedbackReceived(
            response_id=_id(651),
            request_id=_id(601),
            subject_type="session",
            subject_id=S_GENERAL_1,
            satisfaction=4,
            usefulness=5,
            motivated=5,
            able_to_act=3,
            has_comment=False,
            received_on=d(2025, 3, 12),
        ),
        events.SurveyOpened(
            survey_id=_id(701), title="Bevraging tools", topic="Tools", opened_on=d(2025, 2, 1)
        ),
        events.SurveyClosed(
            survey_id=_id(701), closed_on=d(2025, 3, 31), responses=40, local_government_responses=25
        ),
        events.NewsletterSubscribed(subscriber_id=_id(801), member_id=M1, subscribed_on=d(2025, 1, 2)),
        events.NewsletterUnsubscribed(subscriber_id=_id(801), unsubscribed_on=d(2025, 8, 2)),
        events.NewsletterSent(
            issue_id=_id(811),
            title="Nieuwsbrief januari",
            sent_at=datetime(2025, 1, 15, 9, tzinfo=UTC),
            recipients=600,
        ),
        events.NewsletterSent(
            issue_id=_id(812),
            title="Nieuwsbrief juni",
            sent_at=datetime(2025, 6, 15, 9, tzinfo=UTC),
            recipients=610,
        ),
        events.ArticlePublished(
            article_id=_id(821),
            title="Digitale inclusie lokaal",
            magazine="Lokaal",
            published_on=d(2025, 5, 5),
        ),
        events.GoodPracticePublished(
            practice_id=_id(831),
            title="Digibank Zemst",
            organisation_id=ORG_A,
            published_on=d(2025, 7, 7),
            url="https://www.vvsg.be/goede-praktijk/digibank",
        ),
    ]
    return data


def corrections() -> list[events.EventData]:
    """Late facts after the report was submitted: attendance recorded late, an article logged late."""
    return [
        _attended(R[5], S_INFO, 2.0),
        events.ArticlePublished(
            article_id=_id(822),
            title="Laat gemeld artikel",
            magazine="Lokaal",
            published_on=date(2025, 12, 1),
        ),
    ]


# figures these tests rely on (the rest is for the golden-year test to work out)
EXPECTED = {
    "OD1.1-bijeenkomsten-algemeen": 2,
    "OD1.2-infosessies": 1,
    "OD1.2-deelnemersuren": 3.5,
    "OD2.2-deelnemersuren": 6.0,
    "OD1.3-artikels": 1,
    "OD1.3-nieuwsbrieven": 2,
}
AFTER_CORRECTIONS = {"OD1.2-deelnemersuren": 5.5, "OD1.3-artikels": 2}


def envelope_records(data: list[events.EventData], start: datetime = T0) -> list[tuple[str, bytes, bytes]]:
    """(topic, key, value) records, one minute apart, as a producer's outbox would publish them."""
    records = []
    for index, payload in enumerate(data):
        envelope = events.new_envelope(
            payload, source="/tests/kpi-year", time=start + timedelta(minutes=index)
        )
        records.append((payload.TOPIC, payload.key().encode(), events.encode(envelope)))
    return records


def decoded(data: list[events.EventData], start: datetime = T0) -> list[events.Event]:
    return [events.decode(value) for _topic, _key, value in envelope_records(data, start)]
