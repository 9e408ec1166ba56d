"""The feedback service in-process against the real broker, on SQLite and PostgreSQL: who is asked
after a session, the personal page's refusals, paper forms, comments and user surveys."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlmodel import Session, col

from services.feedback.app import build
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import FbRequest, FbResponse
from shared import events, staff, topics
from shared.db import make_engine
from tests.infra import AUTH_SECRET, LINK_SECRET, auth, envelope_values, produce, read_topic, wait_until

pytestmark = pytest.mark.integration

TODAY = datetime.now(UTC)


@dataclass
class Feedback:
    client: TestClient
    bootstrap: str
    prefix: str
    database_url: str

    def publish(self, *datas: events.EventData, time: datetime | None = None) -> list[bytes]:
        """Put catalogue events on this test's topics, as the producing services would."""
        values = [events.encode(events.new_envelope(d, source="/test", time=time)) for d in datas]
        self.publish_raw([(d, v) for d, v in zip(datas, values, strict=True)])
        return values

    def publish_raw(self, records: list[tuple[events.EventData, bytes]]) -> None:
        asyncio.run(
            produce(self.bootstrap, [(self.prefix + d.TOPIC, d.key().encode(), v) for d, v in records])
        )

    def feedback_events(self, name: str | None = None) -> list[dict[str, Any]]:
        values = envelope_values(
            asyncio.run(read_topic(self.bootstrap, self.prefix + topics.FEEDBACK_EVENTS))
        )
        return [v for v in values if name is None or v["type"] == events.TYPE_PREFIX + name + ".v1"]

    def requests(self, **params: str) -> list[dict[str, Any]]:
        response = self.client.get("/requests", params=params, headers=auth("staff"))
        assert response.status_code == 200, response.text
        return response.json()["items"]  # type: ignore[no-any-return]

    def count(self, model: type[FbRequest] | type[FbResponse]) -> int:
        engine = make_engine(self.database_url)
        try:
            with Session(engine) as session:
                return int(session.execute(select(func.count()).select_from(model)).scalar_one())
        finally:
            engine.dispose()


@pytest.fixture
def feedback(database_url: str, kafka_bootstrap: str, topic_prefix: str) -> Iterator[Feedback]:
    settings = FeedbackSettings(
        service_name="feedback",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_topic_prefix=topic_prefix,
        auth_secret=AUTH_SECRET,
        link_secret=LINK_SECRET,
        feedback_public_url="https://feedback.example.be",
        feedback_link_valid_days=30,
        outbox_poll_seconds=0.1,
    )
    with TestClient(build(settings)) as client:
        wait_until(lambda: client.get("/health/ready").status_code == 200, 30, 0.1, "feedback ready")
        yield Feedback(client, kafka_bootstrap, topic_prefix, database_url)


def _scheduled(session_id: uuid.UUID, kind: str = "info_session") -> events.SessionScheduled:
    return events.SessionScheduled(
        session_id=session_id,
        kind=kind,
        title="Infosessie digitale drempels",
        theme="toegankelijkheid",
        lead="vvsg",
        format="online",
        starts_at=TODAY - timedelta(hours=3),
        ends_at=TODAY - timedelta(hours=1),
        planned_hours=2,
    )


def _registration(session_id: uuid.UUID, member_id: uuid.UUID | None) -> events.RegistrationReceived:
    return events.RegistrationReceived(
        registration_id=uuid.uuid4(),
        session_id=session_id,
        member_id=member_id,
        organisation_kind="lokaal_bestuur",
        waitlisted=False,
    )


def _attendance(registration: events.RegistrationReceived, attended: bool) -> events.AttendanceRecorded:
    return events.AttendanceRecorded(
        registration_id=registration.registration_id,
        session_id=registration.session_id,
        attended=attended,
        hours=2 if attended else 0,
    )


def _held(session_id: uuid.UUID, participants: int = 2) -> events.SessionHeld:
    return events.SessionHeld(
        session_id=session_id,
        held_on=TODAY.date(),
        participants=participants,
        participant_hours=2.0 * participants,
    )


def _token(link: str) -> str:
    return link.rsplit("/", 1)[-1]


def _session_with_attendees(feedback: Feedback, attendees: int = 1) -> tuple[uuid.UUID, list[dict[str, Any]]]:
    session_id = uuid.uuid4()
    registrations = [_registration(session_id, uuid.uuid4()) for _ in range(attendees)]
    feedback.publish(
        _scheduled(session_id),
        *registrations,
        *(_attendance(r, True) for r in registrations),
        _held(session_id),
    )
    requests = wait_until(
        lambda: (
            len(feedback.requests(subject_id=str(session_id))) == attendees
            and feedback.requests(subject_id=str(session_id))
        ),
        30,
        0.1,
        "the requests",
    )
    return session_id, requests


def _link(request: dict[str, Any]) -> str:
    from shared.links import make_token

    return "/feedback/" + make_token(LINK_SECRET, "feedback", request["id"])


GOOD = {
    "satisfaction": "4",
    "usefulness": "5",
    "motivated": "4",
    "able_to_act": "3",
    "comment": "Heel leerrijk",
}


# --- automatic requests -------------------------------------------------------------------------


def test_a_held_session_asks_each_attending_member_once_and_nobody_else(feedback: Feedback) -> None:
    session_id = uuid.uuid4()
    attended = [_registration(session_id, uuid.uuid4()) for _ in range(2)]
    no_show = _registration(session_id, uuid.uuid4())
    cancelled = _registration(session_id, uuid.uuid4())
    outsider = _registration(session_id, None)  # an outside participant: nobody to mail
    steering = uuid.uuid4()
    steering_member = _registration(steering, uuid.uuid4())
    feedback.publish(
        _scheduled(session_id),
        *attended,
        no_show,
        cancelled,
        outsider,
        events.RegistrationCancelled(registration_id=cancelled.registration_id, session_id=session_id),
        *(_attendance(r, True) for r in attended),
        _attendance(no_show, False),
        _attendance(outsider, True),
        _scheduled(steering, "steering_group"),
        steering_member,
        _attendance(steering_member, True),
        _held(steering, 1),
    )
    held = _held(session_id)
    [held_value] = feedback.publish(held)
    # the same session.held delivered again, and republished with a new event id
    feedback.publish_raw([(held, held_value)])
    feedback.publish(held)

    requested = wait_until(
        lambda: (
            len(feedback.feedback_events("feedback.requested")) >= 2
            and feedback.feedback_events("feedback.requested")
        ),
        30,
        0.2,
        "feedback.requested",
    )
    sentinel = uuid.uuid4()  # a later session proves every earlier record has been handled
    sentinel_registration = _registration(sentinel, uuid.uuid4())
    feedback.publish(
        _scheduled(sentinel),
        sentinel_registration,
        _attendance(sentinel_registration, True),
        _held(sentinel, 1),
    )
    wait_until(lambda: feedback.requests(subject_id=str(sentinel)), 30, 0.1, "the sentinel's request")

    requested = [e for e in feedback.feedback_events("feedback.requested") if e["subject"] == str(session_id)]
    assert sorted(e["data"]["member_id"] for e in requested) == sorted(str(r.member_id) for r in attended)
    held_event_id = events.decode(held_value).id
    assert {e["causationid"] for e in requested} == {held_event_id}
    assert all(
        set(e["data"]) == {"request_id", "subject_type", "subject_id", "member_id", "requested_on"}
        for e in requested
    )
    assert feedback.requests(subject_id=str(steering)) == []
    assert len(feedback.requests(subject_id=str(session_id))) == 2


def test_attendance_recorded_after_the_session_was_held_gets_its_request(feedback: Feedback) -> None:
    session_id, _ = _session_with_attendees(feedback, 1)
    late = _registration(session_id, uuid.uuid4())
    feedback.publish(late, _attendance(late, True))
    requests = wait_until(
        lambda: (
            len(feedback.requests(subject_id=str(session_id))) == 2
            and feedback.requests(subject_id=str(session_id))
        ),
        30,
        0.1,
        "the late request",
    )
    assert str(late.member_id) in {r["member_id"] for r in requests}


def test_the_latest_attendance_by_event_time_decides_whoever_arrives_first(feedback: Feedback) -> None:
    session_id = uuid.uuid4()
    registration = _registration(session_id, uuid.uuid4())
    # "absent" was recorded later than "present" but arrives first: the person is a no-show
    feedback.publish(_attendance(registration, False), time=TODAY)
    feedback.publish(_attendance(registration, True), time=TODAY - timedelta(minutes=5))
    attendee = _registration(session_id, uuid.uuid4())
    feedback.publish(
        _held(session_id), registration, attendee, _attendance(attendee, True), _scheduled(session_id)
    )
    requests = wait_until(lambda: feedback.requests(subject_id=str(session_id)), 30, 0.1, "the requests")
    assert [r["member_id"] for r in requests] == [str(attendee.member_id)]


def test_a_completed_trajectory_asks_its_organisation_and_staff_get_the_link(feedback: Feedback) -> None:
    trajectory, organisation = uuid.uuid4(), uuid.uuid4()
    feedback.publish(
        events.SupportTrajectoryStarted(
            trajectory_id=trajectory,
            organisation_id=organisation,
            started_on=date(2026, 1, 5),
            stage="starting",
            methodology="coaching",
            description="Actieplan digitale inclusie",
        ),
        events.SupportTrajectoryCompleted(
            trajectory_id=trajectory, completed_on=TODAY.date(), summary="Klaar"
        ),
    )
    [request] = wait_until(lambda: feedback.requests(subject_id=str(trajectory)), 30, 0.1, "the request")
    assert (request["subject_type"], request["member_id"], request["organisation_id"]) == (
        "support_trajectory",
        None,
        str(organisation),
    )
    assert request["link"].startswith("https://feedback.example.be/feedback/")
    page = feedback.client.get("/feedback/" + _token(request["link"]))
    assert page.status_code == 200 and "ondersteuning op maat" in page.text


# --- the page -----------------------------------------------------------------------------------


def test_the_page_is_dutch_and_ties_every_question_to_a_legend(feedback: Feedback) -> None:
    _, [request] = _session_with_attendees(feedback)
    page = feedback.client.get(_link(request))
    assert page.status_code == 200
    assert '<html lang="nl-BE">' in page.text and 'name="viewport"' in page.text
    assert page.text.count("<fieldset") == 4 and page.text.count("<legend>") == 4
    assert "Infosessie digitale drempels" in page.text
    assert page.headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize("bad", ["0", "6"])
def test_a_rating_out_of_range_is_refused_on_its_field_and_changes_nothing(
    feedback: Feedback, bad: str
) -> None:
    _, [request] = _session_with_attendees(feedback)
    response = feedback.client.post(_link(request), data={**GOOD, "usefulness": bad})
    assert response.status_code == 422
    fieldset = re.search(r"<fieldset[^>]*>\s*<legend>Hoe nuttig[^<]*</legend>", response.text)
    assert fieldset is not None
    assert 'aria-invalid="true"' in fieldset.group(0)
    assert 'aria-describedby="usefulness-hint usefulness-error"' in fieldset.group(0)
    assert 'id="usefulness-error">Een score moet tussen 1 en 5 liggen' in response.text
    assert feedback.count(FbResponse) == 0
    assert 'value="4" checked' in response.text  # what was valid stays filled in
    assert feedback.client.get(_link(request)).status_code == 200  # the link still works


def test_a_missing_rating_is_named_in_the_error_summary(feedback: Feedback) -> None:
    _, [request] = _session_with_attendees(feedback)
    form = {k: v for k, v in GOOD.items() if k != "motivated"}
    response = feedback.client.post(_link(request), data=form)
    assert response.status_code == 422
    assert '<a href="#motivated-1">Motivatie: Je duidde nog geen score aan.' in response.text
    assert response.text.count('aria-invalid="true"') == 1


def test_an_answer_is_stored_once_and_published_without_its_text(feedback: Feedback) -> None:
    session_id, [request] = _session_with_attendees(feedback)
    response = feedback.client.post(_link(request), data=GOOD)
    assert response.status_code == 200 and "Bedankt voor je feedback" in response.text
    [received] = wait_until(
        lambda: feedback.feedback_events("feedback.received"), 30, 0.2, "feedback.received"
    )
    assert received["data"] == {
        "response_id": received["data"]["response_id"],
        "request_id": request["id"],
        "subject_type": "session",
        "subject_id": str(session_id),
        "satisfaction": 4,
        "usefulness": 5,
        "motivated": 4,
        "able_to_act": 3,
        "has_comment": True,
        "received_on": received["data"]["received_on"],
    }
    assert "leerrijk" not in str(feedback.feedback_events())


def test_a_reused_link_is_refused_kindly_and_changes_nothing(feedback: Feedback) -> None:
    _, [request] = _session_with_attendees(feedback)
    assert feedback.client.post(_link(request), data=GOOD).status_code == 200
    again = feedback.client.post(_link(request), data={**GOOD, "satisfaction": "1"})
    assert again.status_code == 409
    assert "Je hebt al geantwoord" in again.text and "één keer" in again.text
    assert feedback.count(FbResponse) == 1
    assert "Je hebt al geantwoord" in feedback.client.get(_link(request)).text


def test_an_expired_link_says_so_and_changes_nothing(feedback: Feedback) -> None:
    _, [request] = _session_with_attendees(feedback)
    engine = make_engine(feedback.database_url)
    with Session(engine) as session:
        session.execute(
            update(FbRequest)
            .where(col(FbRequest.id) == uuid.UUID(request["id"]))
            .values(requested_at=datetime.now(UTC) - timedelta(days=31))
        )
        session.commit()
    engine.dispose()
    page = feedback.client.get(_link(request))
    posted = feedback.client.post(_link(request), data=GOOD)
    assert (page.status_code, posted.status_code) == (410, 410)
    assert "Deze link is verlopen" in posted.text
    assert feedback.count(FbResponse) == 0


def test_a_forged_or_mangled_link_is_not_found(feedback: Feedback) -> None:
    _, [request] = _session_with_attendees(feedback)
    forged = "/feedback/" + request["id"] + ".AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    assert feedback.client.get(forged).status_code == 404
    assert "Deze link werkt niet" in feedback.client.post(forged, data=GOOD).text
    assert feedback.count(FbResponse) == 0


# --- staff --------------------------------------------------------------------------------------


def test_staff_enter_a_paper_form_and_only_staff_read_the_comments(feedback: Feedback) -> None:
    session_id, _ = _session_with_attendees(feedback)
    body = {"satisfaction": 5, "usefulness": 4, "motivated": 5, "able_to_act": 4, "comment": "Op papier: top"}
    assert (
        feedback.client.post(
            f"/sessions/{session_id}/responses", json=body, headers=auth("viewer")
        ).status_code
        == 403
    )
    created = feedback.client.post(f"/sessions/{session_id}/responses", json=body, headers=auth("staff"))
    assert created.status_code == 201, created.text
    assert (
        feedback.client.post(
            f"/sessions/{session_id}/responses", json={**body, "usefulness": 6}, headers=auth("staff")
        ).status_code
        == 422
    )
    assert feedback.client.get(f"/sessions/{session_id}/comments", headers=auth("viewer")).status_code == 403
    comments = feedback.client.get(f"/sessions/{session_id}/comments", headers=auth("staff")).json()[
        "comments"
    ]
    assert [(c["comment"], c["paper_form"]) for c in comments] == [("Op papier: top", True)]
    [received] = wait_until(
        lambda: feedback.feedback_events("feedback.received"), 30, 0.2, "feedback.received"
    )
    assert (received["data"]["request_id"], received["data"]["has_comment"]) == (None, True)
    assert received["actor"] == staff.pseudonym("tester@vvsg.be")  # who typed it in, never the address


# --- user surveys -------------------------------------------------------------------------------


def test_a_survey_invites_local_government_members_and_closes_with_the_counts(feedback: Feedback) -> None:
    municipality, ngo = uuid.uuid4(), uuid.uuid4()
    in_municipality, in_ngo, left = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    feedback.publish(
        events.OrganisationRegistered(
            organisation_id=municipality,
            name="Gemeente Zemst",
            kind="lokaal_bestuur",
            registered_on=date(2024, 1, 1),
        ),
        events.OrganisationRegistered(
            organisation_id=ngo,
            name="VZW Digidak",
            kind="middenveldorganisatie",
            registered_on=date(2024, 1, 1),
        ),
        events.MemberJoined(
            member_id=in_municipality, organisation_id=municipality, joined_on=date(2024, 2, 1)
        ),
        events.MemberJoined(member_id=in_ngo, organisation_id=ngo, joined_on=date(2024, 2, 1)),
        events.MemberJoined(member_id=left, organisation_id=municipality, joined_on=date(2024, 2, 1)),
        events.MemberLeft(member_id=left, organisation_id=municipality, left_on=date(2025, 2, 1)),
    )
    staff = auth("staff")
    created = feedback.client.post(
        "/surveys",
        headers=staff,
        json={
            "title": "Bevraging hulpmiddelen 2026",
            "topic": "tools",
            "questions": [
                {"text": "Hoe goed helpt de toolbox digitale inclusie je?", "kind": "rating"},
                {
                    "text": "Welke tool gebruik je het meest?",
                    "kind": "choice",
                    "options": ["toolbox", "e-learning"],
                },
                {"text": "Wat mist er nog?", "kind": "text", "required": False},
            ],
        },
    )
    assert created.status_code == 201, created.text
    survey_id = created.json()["id"]
    wait_until(
        lambda: (
            feedback.client.get("/requests", headers=staff).status_code == 200
            and _local_members_known(feedback)
        ),
        30,
        0.2,
        "the member copy",
    )
    invited = feedback.client.post(
        f"/surveys/{survey_id}/invitations",
        headers=staff,
        json={"member_ids": [str(in_ngo)], "local_government_members": True},
    ).json()
    assert sorted(invited["invited"]) == sorted([str(in_ngo), str(in_municipality)])
    requests = {r["member_id"]: r for r in feedback.requests(subject_id=survey_id)}
    answer = {"q1": "4", "q2": "toolbox", "q3": "Meer voorbeelden"}
    for member in (in_municipality, in_ngo):
        link = "/survey/" + _survey_token(requests[str(member)]["id"])
        assert feedback.client.post(link, data=answer).status_code == 200
    assert feedback.client.post(link, data=answer).status_code == 409
    closed = feedback.client.post(f"/surveys/{survey_id}/close", headers=staff, json={})
    assert closed.status_code == 200, closed.text
    [opened_event] = wait_until(lambda: feedback.feedback_events("survey.opened"), 30, 0.2, "survey.opened")
    [closed_event] = wait_until(lambda: feedback.feedback_events("survey.closed"), 30, 0.2, "survey.closed")
    assert opened_event["data"]["title"] == "Bevraging hulpmiddelen 2026"
    assert (closed_event["data"]["responses"], closed_event["data"]["local_government_responses"]) == (2, 1)
    assert feedback.client.get(link).status_code == 200  # answered: the kind "already answered" page


def test_a_survey_answer_with_a_missing_required_question_is_refused_on_that_question(
    feedback: Feedback,
) -> None:
    staff = auth("staff")
    survey_id = feedback.client.post(
        "/surveys",
        headers=staff,
        json={
            "title": "Bevraging",
            "topic": "tools",
            "questions": [{"text": "Wat vind je van de toolbox?", "kind": "text"}],
        },
    ).json()["id"]
    member = uuid.uuid4()
    feedback.client.post(
        f"/surveys/{survey_id}/invitations", headers=staff, json={"member_ids": [str(member)]}
    )
    [request] = feedback.requests(subject_id=survey_id)
    response = feedback.client.post("/survey/" + _survey_token(request["id"]), data={"q1": "  "})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text and 'id="q1-error">Vul deze vraag in.' in response.text
    # the feedback link the mailer sends for any feedback.requested leads to the survey page
    redirect = feedback.client.get(_link(request), follow_redirects=False)
    assert redirect.status_code == 303 and "/survey/" in redirect.headers["location"]


def _survey_token(request_id: str) -> str:
    from shared.links import make_token

    return make_token(LINK_SECRET, "survey", request_id)


def _local_members_known(feedback: Feedback) -> bool:
    from services.feedback.queries import local_government_members

    engine = make_engine(feedback.database_url)
    try:
        with Session(engine) as session:
            return len(local_government_members(session)) == 1
    finally:
        engine.dispose()
