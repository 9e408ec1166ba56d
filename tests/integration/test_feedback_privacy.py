"""The feedback service and the person (GDPR), in process on SQLite and PostgreSQL with the real broker:
the right of access (GET /people/{member_id}) and what `member.erased` does to what the person wrote."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiokafka.partitioner import murmur2
from fastapi.testclient import TestClient

from services.feedback.app import build
from services.feedback.settings import FeedbackSettings
from shared import events
from shared.links import make_token
from tests import infra

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
COMMENT = "Heel leerrijk, maar mijn collega Jozefien vond het te snel gaan."
SURVEY_TEXT = "Ik mis een handleiding voor het OCMW van Kruibeke."
FORM = {"satisfaction": "4", "usefulness": "5", "motivated": "4", "able_to_act": "3", "comment": COMMENT}


@dataclass
class Feedback:
    client: TestClient
    bootstrap: str
    prefix: str

    def ok(self, response: Any, status: int = 200) -> Any:
        assert response.status_code == status, response.text
        return response.json()

    def publish(self, *datas: events.EventData) -> None:
        records: list[tuple[str, bytes | None, bytes | None]] = [
            (self.prefix + d.TOPIC, d.key().encode(), events.encode(events.new_envelope(d, source="/test")))
            for d in datas
        ]
        asyncio.run(infra.produce(self.bootstrap, records))

    def people(self, member: uuid.UUID, role: Any = "staff") -> Any:
        return self.client.get(f"/people/{member}", headers=infra.auth(role))

    def export(self, member: uuid.UUID) -> dict[str, Any]:
        return dict(self.ok(self.people(member)))

    def requests(self, subject_id: uuid.UUID | str) -> list[dict[str, Any]]:
        return list(self.ok(self.client.get("/requests", params={"subject_id": str(subject_id)}))["items"])

    def erase(self, member: uuid.UUID) -> None:
        self.publish(events.MemberErased(member_id=member, erased_on=date.today()))

    def erased(self, member: uuid.UUID) -> dict[str, Any]:
        def done() -> dict[str, Any] | None:
            export = self.export(member)
            return export if (export["member"] or {}).get("erased") else None

        return dict(infra.wait_until(done, 30, 0.1, "the erasure to be applied"))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def feedback(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Feedback]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    if request.param == "sqlite":
        database: Any = nullcontext(f"sqlite:///{tmp_path_factory.mktemp('feedback-privacy')}/feedback.db")
    else:
        database = infra.postgres_database(request.getfixturevalue("postgres_server"))
    with database as url:
        settings = FeedbackSettings(
            service_name="feedback",
            database_url=url,
            kafka_bootstrap_servers=kafka_bootstrap,
            kafka_topic_prefix=prefix,
            auth_secret=infra.AUTH_SECRET,
            link_secret=infra.LINK_SECRET,
            feedback_public_url="https://feedback.example.be",
            outbox_poll_seconds=0.1,
        )
        with TestClient(build(settings), headers=infra.auth("staff")) as client:
            yield Feedback(client, kafka_bootstrap, prefix)


def _member(feedback: Feedback) -> uuid.UUID:
    """A member at a municipality, known to the service."""
    organisation, member = uuid.uuid4(), uuid.uuid4()
    feedback.publish(
        events.OrganisationRegistered(
            organisation_id=organisation,
            name="Gemeente Zemst",
            kind="lokaal_bestuur",
            registered_on=date(2024, 1, 1),
        ),
        events.MemberJoined(member_id=member, organisation_id=organisation, joined_on=date(2024, 2, 1)),
    )
    infra.wait_until(lambda: feedback.export(member)["member"], 30, 0.1, "the member in the copy")
    return member


def _attends(feedback: Feedback, *members: uuid.UUID) -> uuid.UUID:
    """An info session held today that the members attended (its events all in one partition, in
    order: once a request exists, every registration of the session has been decided on)."""
    session_id = uuid.uuid4()
    registrations = [
        events.RegistrationReceived(
            registration_id=uuid.uuid4(),
            session_id=session_id,
            member_id=member,
            organisation_kind="lokaal_bestuur",
            waitlisted=False,
        )
        for member in members
    ]
    feedback.publish(
        events.SessionScheduled(
            session_id=session_id,
            kind="info_session",
            title="Infosessie digitale drempels",
            theme="toegankelijkheid",
            lead="vvsg",
            format="online",
            starts_at=NOW - timedelta(hours=3),
            ends_at=NOW - timedelta(hours=1),
            planned_hours=2,
        ),
        *registrations,
        *(
            events.AttendanceRecorded(
                registration_id=r.registration_id, session_id=session_id, attended=True, hours=2
            )
            for r in registrations
        ),
        events.SessionHeld(
            session_id=session_id, held_on=NOW.date(), participants=len(members), participant_hours=2
        ),
    )
    return session_id


def _answers_session(feedback: Feedback, member: uuid.UUID) -> tuple[uuid.UUID, str]:
    """The member answers the feedback form after a session, with a comment; the link used."""
    session_id = _attends(feedback, member)
    [request] = infra.wait_until(lambda: feedback.requests(session_id), 30, 0.1, "the feedback request")
    link = "/feedback/" + make_token(infra.LINK_SECRET, "feedback", request["id"])
    assert feedback.client.post(link, data=FORM).status_code == 200
    return session_id, link


def _answers_survey(feedback: Feedback, member: uuid.UUID) -> str:
    """The member answers a user survey: a rating, a choice and free text; the survey id."""
    survey = feedback.ok(
        feedback.client.post(
            "/surveys",
            json={
                "title": "Bevraging hulpmiddelen",
                "topic": "tools",
                "questions": [
                    {"text": "Hoe goed helpt de toolbox je?", "kind": "rating"},
                    {
                        "text": "Welke tool gebruik je het meest?",
                        "kind": "choice",
                        "options": ["toolbox", "e-learning"],
                    },
                    {"text": "Wat mist er nog?", "kind": "text", "required": False},
                ],
            },
        ),
        201,
    )
    feedback.ok(
        feedback.client.post(f"/surveys/{survey['id']}/invitations", json={"member_ids": [str(member)]})
    )
    [request] = feedback.requests(survey["id"])
    link = "/survey/" + make_token(infra.LINK_SECRET, "survey", request["id"])
    assert feedback.client.post(link, data={"q1": "4", "q2": "toolbox", "q3": SURVEY_TEXT}).status_code == 200
    return str(survey["id"])


def _same_partition(key: uuid.UUID, partitions: int = 3) -> uuid.UUID:
    def partition(candidate: uuid.UUID) -> int:
        return int(murmur2(str(candidate).encode()) & 0x7FFFFFFF) % partitions

    while True:
        candidate = uuid.uuid4()
        if partition(candidate) == partition(key):
            return candidate


# --- right of access ----------------------------------------------------------------------------


def test_the_export_holds_the_requests_the_answers_and_the_persons_own_words(feedback: Feedback) -> None:
    member = _member(feedback)
    session_id, _ = _answers_session(feedback, member)
    _answers_survey(feedback, member)
    export = feedback.export(member)
    assert export["service"] == "feedback" and export["member"]["erased"] is False
    assert sorted((r["subject_type"], r["answered"]) for r in export["requests"]) == [
        ("session", True),
        ("survey", True),
    ]
    [response] = export["responses"]
    assert (response["subject_id"], response["satisfaction"], response["comment"]) == (
        str(session_id),
        4,
        COMMENT,
    )
    [survey_answer] = export["survey_answers"]
    assert {a["question"]: a["answer"] for a in survey_answer["answers"]} == {
        "Hoe goed helpt de toolbox je?": 4,
        "Welke tool gebruik je het meest?": "toolbox",
        "Wat mist er nog?": SURVEY_TEXT,
    }


def test_a_person_never_heard_of_gets_an_empty_export_and_only_staff_may_ask(feedback: Feedback) -> None:
    stranger = uuid.uuid4()
    export = feedback.export(stranger)
    assert (export["member"], export["requests"], export["responses"], export["survey_answers"]) == (
        None,
        [],
        [],
        [],
    )
    assert feedback.people(stranger, role="viewer").status_code == 403


# --- right to erasure ---------------------------------------------------------------------------


def test_erasure_removes_the_persons_comment_and_keeps_the_ratings(feedback: Feedback) -> None:
    member = _member(feedback)
    session_id, _ = _answers_session(feedback, member)
    summary = feedback.ok(feedback.client.get(f"/sessions/{session_id}/summary"))
    feedback.erase(member)
    [response] = feedback.erased(member)["responses"]
    assert (response["comment"], response["satisfaction"], response["able_to_act"]) == (None, 4, 3)
    assert feedback.ok(feedback.client.get(f"/sessions/{session_id}/comments"))["comments"] == []
    assert feedback.ok(feedback.client.get(f"/sessions/{session_id}/summary")) == summary


def test_erasure_removes_the_free_text_of_the_persons_survey_answer_and_keeps_the_counts(
    feedback: Feedback,
) -> None:
    member = _member(feedback)
    survey_id = _answers_survey(feedback, member)
    counts = feedback.ok(feedback.client.get(f"/surveys/{survey_id}"))
    feedback.erase(member)
    feedback.erased(member)
    answers = feedback.ok(feedback.client.get(f"/surveys/{survey_id}/answers"))
    assert [a["answers"] for a in answers] == [{"q1": 4, "q2": "toolbox"}]
    assert feedback.ok(feedback.client.get(f"/surveys/{survey_id}")) == counts
    assert (counts["responses"], counts["local_government_responses"]) == (1, 1)


def test_an_erased_persons_link_no_longer_opens_the_form(feedback: Feedback) -> None:
    member = _member(feedback)
    session_id = _attends(feedback, member)
    [request] = infra.wait_until(lambda: feedback.requests(session_id), 30, 0.1, "the feedback request")
    feedback.erase(member)
    feedback.erased(member)
    link = "/feedback/" + make_token(infra.LINK_SECRET, "feedback", request["id"])
    page = feedback.client.get(link)
    assert page.status_code == 410 and "Deze link werkt niet meer" in page.text
    assert feedback.client.post(link, data=FORM).status_code == 410
    assert feedback.export(member)["responses"] == []


def test_an_erased_member_is_asked_for_nothing_any_more(feedback: Feedback) -> None:
    member = _member(feedback)
    feedback.erase(member)
    feedback.erased(member)
    other = _member(feedback)
    session_id = _attends(feedback, member, other)
    [request] = infra.wait_until(lambda: feedback.requests(session_id), 30, 0.1, "the other's request")
    assert request["member_id"] == str(other)
    survey = feedback.ok(
        feedback.client.post(
            "/surveys", json={"title": "Bevraging", "topic": "tools", "questions": [{"text": "Q?"}]}
        ),
        201,
    )
    invited = feedback.ok(
        feedback.client.post(f"/surveys/{survey['id']}/invitations", json={"member_ids": [str(member)]})
    )
    assert (invited["invited"], invited["erased"]) == ([], [str(member)])


def test_an_erasure_read_again_changes_nothing(feedback: Feedback) -> None:
    member = _member(feedback)
    _answers_session(feedback, member)
    feedback.erase(member)
    erased = feedback.erased(member)
    feedback.erase(member)  # republished with a new event id
    marker = _same_partition(member)
    feedback.publish(events.MemberErased(member_id=marker, erased_on=date.today()))
    feedback.erased(marker)
    assert feedback.export(member) == erased
