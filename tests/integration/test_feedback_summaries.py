"""The feedback service's summaries of many sessions at once (GET /sessions/summaries?ids=…), which the
back office's feedback list asks for a page of sessions, on SQLite and PostgreSQL: each the same as
the session's own GET /sessions/{id}/summary."""

from __future__ import annotations

import uuid

import pytest

from services.feedback.api import MAX_SUMMARIES
from tests.infra import auth
from tests.integration.test_feedback_service import GOOD, Feedback, _link, _session_with_attendees, feedback

pytestmark = pytest.mark.integration
__all__ = ["feedback"]  # the fixture, used by name


def test_the_summaries_of_many_sessions_are_each_sessions_own_summary(feedback: Feedback) -> None:
    first, [answering, _] = _session_with_attendees(feedback, attendees=2)
    second, _ = _session_with_attendees(feedback, attendees=1)
    assert feedback.client.post(_link(answering), data=GOOD).status_code == 200
    paper = {"satisfaction": 2, "usefulness": 3, "comment": "Op papier"}
    created = feedback.client.post(f"/sessions/{second}/responses", json=paper, headers=auth("staff"))
    assert created.status_code == 201, created.text
    unknown = uuid.uuid4()
    asked = [str(second), str(unknown), str(first), str(second)]
    answer = feedback.client.get("/sessions/summaries", params={"ids": asked}, headers=auth("viewer"))
    assert answer.status_code == 200, answer.text
    summaries = answer.json()
    # in the order asked, once each; the session the service does not know is left out
    assert [s["session_id"] for s in summaries] == [str(second), str(first)]
    for summary in summaries:
        own = feedback.client.get(f"/sessions/{summary['session_id']}/summary", headers=auth("viewer"))
        assert summary == own.json()
    by_id = {s["session_id"]: s for s in summaries}
    assert (by_id[str(first)]["requests"], by_id[str(first)]["responses"]) == (2, 1)
    assert by_id[str(first)]["answered_requests"] == 1
    assert (by_id[str(second)]["responses"], by_id[str(second)]["answered_requests"]) == (1, 0)
    assert by_id[str(second)]["mean"]["satisfaction"] == 2
    assert by_id[str(second)]["mean"]["motivated"] is None


def test_the_summaries_are_bounded_checked_and_need_a_reader(feedback: Feedback) -> None:
    staff = auth("staff")
    too_many = [str(uuid.uuid4()) for _ in range(MAX_SUMMARIES + 1)]
    assert (
        feedback.client.get("/sessions/summaries", params={"ids": too_many}, headers=staff).status_code == 422
    )
    assert feedback.client.get("/sessions/summaries", headers=staff).status_code == 422  # no ids: no answer
    bad = feedback.client.get("/sessions/summaries", params={"ids": ["sessie"]}, headers=staff)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][:2] == ["query", "ids"]
    fine = feedback.client.get("/sessions/summaries", params={"ids": too_many[:MAX_SUMMARIES]}, headers=staff)
    assert fine.status_code == 200 and fine.json() == []
    no_token = feedback.client.get("/sessions/summaries", params={"ids": too_many[:1]})
    assert no_token.status_code == 401
