"""The feedback service's creating commands with `Idempotency-Key` (a retried request gets the first
answer and creates nothing new; the same key for another request is a 422), free text without
control characters, and who opened a survey shown to staff only. Real service, real database
(SQLite and PostgreSQL through the `database_url` fixture), real broker."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from services.feedback import domain
from services.feedback.app import build
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import FbRequest, FbSession
from shared.db import make_engine
from shared.links import make_token
from tests.infra import AUTH_SECRET, LINK_SECRET, auth

pytestmark = pytest.mark.integration

STAFF = auth("staff", "an.medewerker@vvsg.be")
SURVEY = {
    "title": "Bevraging hulpmiddelen 2026",
    "topic": "tools",
    "questions": [{"text": "Hoe goed helpt de toolbox je?", "kind": "rating"}],
}
PAPER = {"satisfaction": 5, "usefulness": 4, "motivated": 4, "able_to_act": 3, "comment": "Op papier"}


@pytest.fixture
def feedback(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[TestClient]:
    settings = FeedbackSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,  # type: ignore[arg-type]
        link_secret=LINK_SECRET,  # type: ignore[arg-type]
        outbox_poll_seconds=0.1,
    )
    with TestClient(build(settings), headers=STAFF) as client:
        yield client


def _count(database_url: str, table: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def _known_session(database_url: str) -> uuid.UUID:
    """A session the service learnt about (as its consumer stores a session.scheduled)."""
    session_id = uuid.uuid4()
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            session.add(FbSession(session_id=session_id, kind="info_session", title="Infosessie"))
            session.commit()
    finally:
        engine.dispose()
    return session_id


def test_a_retried_survey_is_opened_once(feedback: TestClient, database_url: str) -> None:
    first = feedback.post("/surveys", json=SURVEY, headers={"Idempotency-Key": "survey-2026"})
    again = feedback.post("/surveys", json=SURVEY, headers={"Idempotency-Key": "survey-2026"})
    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _count(database_url, "fb_surveys") == 1
    assert _count(database_url, "outbox") == 1  # one survey.opened


def test_a_retried_invitation_and_paper_form_change_nothing_the_second_time(
    feedback: TestClient, database_url: str
) -> None:
    survey_id = feedback.post("/surveys", json=SURVEY).json()["id"]
    member = str(uuid.uuid4())
    headers = {"Idempotency-Key": "invite-1"}
    first = feedback.post(f"/surveys/{survey_id}/invitations", json={"member_ids": [member]}, headers=headers)
    again = feedback.post(f"/surveys/{survey_id}/invitations", json={"member_ids": [member]}, headers=headers)
    assert first.json() == again.json() == {"invited": [member], "already_invited": [], "erased": []}
    session_id = _known_session(database_url)
    paper = [
        feedback.post(f"/sessions/{session_id}/responses", json=PAPER, headers={"Idempotency-Key": "paper-7"})
        for _ in range(2)
    ]
    assert [r.status_code for r in paper] == [201, 201]
    assert paper[0].json() == paper[1].json()
    assert _count(database_url, "fb_requests") == 1
    assert _count(database_url, "fb_responses") == 1


def test_the_same_key_for_another_survey_is_refused(feedback: TestClient, database_url: str) -> None:
    headers = {"Idempotency-Key": "survey-key-2"}
    assert feedback.post("/surveys", json=SURVEY, headers=headers).status_code == 201
    other = feedback.post("/surveys", json={**SURVEY, "title": "Andere bevraging"}, headers=headers)
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"][-1] == "Idempotency-Key"
    assert _count(database_url, "fb_surveys") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**SURVEY, "title": "Bevraging\u0008 2026"}, "title"),
        ({**SURVEY, "title": "Bevraging\n2026"}, "title"),
        ({**SURVEY, "introduction": "Welkom\u009b"}, "introduction"),
        ({**SURVEY, "questions": [{"text": "Vraag\u0000?", "kind": "rating"}]}, "text"),
    ],
)
def test_control_characters_in_a_survey_are_refused_on_their_field(
    feedback: TestClient, database_url: str, body: dict[str, object], field: str
) -> None:
    refused = feedback.post("/surveys", json=body)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == field
    assert _count(database_url, "fb_surveys") == 0


def test_a_paper_comment_keeps_its_lines_but_not_a_control_character(
    feedback: TestClient, database_url: str
) -> None:
    session_id = _known_session(database_url)
    refused = feedback.post(f"/sessions/{session_id}/responses", json={**PAPER, "comment": "a\u0008b"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"][-1] == "comment"
    long_ago = feedback.post(f"/sessions/{session_id}/responses", json={**PAPER, "received_on": "1168-03-01"})
    assert long_ago.status_code == 422 and long_ago.json()["detail"][0]["loc"][-1] == "received_on"
    lines = feedback.post(
        f"/sessions/{session_id}/responses", json={**PAPER, "comment": "Goed.\nMeer\tvoorbeelden"}
    )
    assert lines.status_code == 201, lines.text
    assert _count(database_url, "fb_responses") == 1


def test_viewers_do_not_see_who_opened_a_survey_staff_do(feedback: TestClient) -> None:
    survey_id = feedback.post("/surveys", json=SURVEY).json()["id"]
    for role, expected in (("staff", "an.medewerker@vvsg.be"), ("admin", "an.medewerker@vvsg.be")):
        assert feedback.get(f"/surveys/{survey_id}", headers=auth(role)).json()["created_by"] == expected
    for role in ("viewer", "partner"):
        assert feedback.get(f"/surveys/{survey_id}", headers=auth(role)).json()["created_by"] is None
        [listed] = feedback.get("/surveys", headers=auth(role)).json()
        assert listed["created_by"] is None
        assert "an.medewerker" not in feedback.get("/surveys", headers=auth(role)).text


def test_a_comment_with_a_control_character_on_the_public_form_is_refused_in_dutch(
    feedback: TestClient, database_url: str
) -> None:
    session_id = _known_session(database_url)
    request_id = domain.request_id("session", session_id, "registration-1")
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            session.add(
                FbRequest(
                    id=request_id,
                    subject_type="session",
                    subject_id=session_id,
                    participant_key="registration-1",
                    member_id=uuid.uuid4(),
                    requested_at=datetime.now(UTC),
                    requested_on=domain.today(),
                )
            )
            session.commit()
    finally:
        engine.dispose()
    link = "/feedback/" + make_token(LINK_SECRET, "feedback", str(request_id))
    ratings = {"satisfaction": "4", "usefulness": "4", "motivated": "5", "able_to_act": "3"}
    refused = feedback.post(link, data={**ratings, "comment": "Goed\u0008 gedaan"})
    assert refused.status_code == 422
    assert "stuurteken" in refused.text and 'id="comment-error"' in refused.text
    assert _count(database_url, "fb_responses") == 0
    assert feedback.post(link, data={**ratings, "comment": "Goed gedaan.\nMeer graag!"}).status_code == 200
    assert _count(database_url, "fb_responses") == 1
