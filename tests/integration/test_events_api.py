"""The events service's API in process, on SQLite and PostgreSQL, with the real broker feeding its copy
of the members service's facts. What each command publishes is read from the outbox it wrote."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from services.events.app import build
from services.events.tables import ContactDigest, KnownMember, KnownOrganisation
from shared import events, topics
from shared.outbox import OutboxMessage
from shared.settings import Settings
from tests import infra

pytestmark = pytest.mark.integration

INFO = {
    "kind": "info_session",
    "title": "Infosessie digitale drempels",
    "theme": "digitale drempels",
    "lead": "vvsg",
    "format": "online",
    "starts_at": "2025-03-04T14:00:00+01:00",
    "ends_at": "2025-03-04T17:00:00+01:00",
}


@dataclass
class Service:
    client: TestClient
    engine: Engine
    prefix: str
    bootstrap: str

    def schedule(self, **changes: Any) -> dict[str, Any]:
        response = self.client.post("/sessions", json={**INFO, **changes})
        assert response.status_code == 201, response.text
        return dict(response.json())

    def register(self, session_id: str, **body: Any) -> dict[str, Any]:
        body = body or {"organisation_kind": "andere"}
        response = self.client.post(f"/sessions/{session_id}/registrations", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def published(self, key: str) -> list[tuple[str, dict[str, Any]]]:
        """Every event written for this key, in order: (event name, data)."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(OutboxMessage).where(OutboxMessage.key == key).order_by(OutboxMessage.id)  # type: ignore[arg-type]
            ).scalars()
            values = [json.loads(row.value) for row in rows if row.value]
        return [(v["type"].removeprefix(events.TYPE_PREFIX).rsplit(".v", 1)[0], v["data"]) for v in values]

    def produce_members(self, *datas: events.EventData) -> None:
        topic = self.prefix + topics.MEMBERS_EVENTS
        records: list[tuple[str, bytes | None, bytes | None]] = [
            (topic, d.key().encode(), events.encode(events.new_envelope(d, source="/services/members")))
            for d in datas
        ]
        asyncio.run(infra.produce(self.bootstrap, records))

    def produce_contact(self, member_id: uuid.UUID, email: str | None) -> None:
        value = None if email is None else json.dumps({"member_id": str(member_id), "email": email}).encode()
        topic = self.prefix + topics.MEMBERS_CONTACTS
        asyncio.run(infra.produce(self.bootstrap, [(topic, str(member_id).encode(), value)]))

    def known(self, model: type[Any], key: uuid.UUID) -> Any:
        with Session(self.engine) as session:
            return session.get(model, key)


@contextmanager
def _database(kind: str, request: pytest.FixtureRequest, tmp: str) -> Iterator[str]:
    if kind == "sqlite":
        with nullcontext(f"sqlite:///{tmp}/events.db") as url:
            yield url
        return
    with infra.postgres_database(request.getfixturevalue("postgres_server")) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Service]:
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    with _database(request.param, request, str(tmp_path_factory.mktemp("events"))) as url:
        settings = Settings(
            service_name="events",
            database_url=url,
            kafka_bootstrap_servers=kafka_bootstrap,
            kafka_topic_prefix=prefix,
            auth_secret=infra.AUTH_SECRET,
        )
        app = build(settings)
        with TestClient(app, headers=infra.auth("staff")) as client:
            yield Service(client, app.state.runtime.engine, prefix, kafka_bootstrap)


# --- sessions -----------------------------------------------------------------------------------


def test_scheduling_publishes_the_session_with_its_planned_hours(service: Service) -> None:
    session = service.schedule(capacity=30)
    assert (session["planned_hours"], session["status"], session["registered"]) == (3.0, "scheduled", 0)
    [(name, data)] = service.published(session["id"])
    assert name == "session.scheduled"
    assert (data["kind"], data["planned_hours"], data["capacity"]) == ("info_session", 3.0, 30)
    assert data["starts_at"].startswith("2025-03-04T13:00:00")


def test_an_end_before_the_start_is_refused_and_nothing_is_stored(service: Service) -> None:
    with Session(service.engine) as session:
        before = session.execute(text("SELECT count(*) FROM ev_sessions")).scalar_one()
    response = service.client.post("/sessions", json={**INFO, "ends_at": "2025-03-04T13:00:00+01:00"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "ends_at"]
    with Session(service.engine) as session:
        assert session.execute(text("SELECT count(*) FROM ev_sessions")).scalar_one() == before


def test_a_workshop_on_request_names_the_organisation_that_asked(service: Service) -> None:
    response = service.client.post("/sessions", json={**INFO, "kind": "workshop_on_request"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "requested_by_organisation_id"]


def test_a_viewer_may_read_but_not_schedule_and_mediawijs_may_schedule(service: Service) -> None:
    assert service.client.post("/sessions", json=INFO, headers=infra.auth("viewer")).status_code == 403
    created = service.client.post(
        "/sessions", json={**INFO, "lead": "mediawijs"}, headers=infra.auth("partner")
    )
    assert created.status_code == 201
    assert (
        service.client.get(f"/sessions/{created.json()['id']}", headers=infra.auth("viewer")).status_code
        == 200
    )


def test_rescheduling_publishes_the_new_times(service: Service) -> None:
    session = service.schedule()
    response = service.client.post(
        f"/sessions/{session['id']}/reschedule",
        json={
            "starts_at": "2025-03-11T09:00:00+01:00",
            "ends_at": "2025-03-11T11:30:00+01:00",
            "planned_hours": 2.5,
        },
    )
    assert response.status_code == 200, response.text
    assert [n for n, _ in service.published(session["id"])] == ["session.scheduled", "session.rescheduled"]
    assert service.published(session["id"])[-1][1]["planned_hours"] == 2.5


def test_a_held_session_cannot_be_rescheduled_nor_cancelled(service: Service) -> None:
    session = service.schedule()
    assert service.client.post(f"/sessions/{session['id']}/held", json={}).status_code == 200
    moved = service.client.post(
        f"/sessions/{session['id']}/reschedule",
        json={"starts_at": "2025-03-11T09:00:00+01:00", "ends_at": "2025-03-11T11:00:00+01:00"},
    )
    assert moved.status_code == 409
    assert service.client.post(f"/sessions/{session['id']}/cancel").status_code == 409


def test_a_cancelled_session_cannot_be_held(service: Service) -> None:
    session = service.schedule()
    cancelled = service.client.post(f"/sessions/{session['id']}/cancel", json={"cancelled_on": "2025-03-01"})
    assert cancelled.status_code == 200
    assert service.client.post(f"/sessions/{session['id']}/held").status_code == 409
    assert [n for n, _ in service.published(session["id"])] == ["session.scheduled", "session.cancelled"]


def test_an_unknown_session_is_a_404(service: Service) -> None:
    assert service.client.get(f"/sessions/{uuid.uuid4()}").status_code == 404
    assert (
        service.client.post(
            f"/sessions/{uuid.uuid4()}/registrations", json={"organisation_kind": "andere"}
        ).status_code
        == 404
    )


def test_a_recording_link_is_published(service: Service) -> None:
    session = service.schedule()
    response = service.client.post(
        f"/sessions/{session['id']}/recording", json={"url": "https://vvsg.be/opname"}
    )
    assert response.json()["recording_url"] == "https://vvsg.be/opname"
    assert service.published(session["id"])[-1] == (
        "recording.published",
        {"session_id": session["id"], "url": "https://vvsg.be/opname"},
    )


# --- registrations ------------------------------------------------------------------------------


def test_a_full_session_waitlists_newcomers_and_a_cancellation_promotes_the_first_at_once(
    service: Service,
) -> None:
    session = service.schedule(capacity=2)
    first, second, third, fourth = (service.register(session["id"]) for _ in range(4))
    assert [r["waitlisted"] for r in (first, second, third, fourth)] == [False, False, True, True]
    response = service.client.post(f"/sessions/{session['id']}/registrations/{first['id']}/cancel")
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["promoted"]] == [third["id"]]
    assert service.published(session["id"])[-2:] == [
        ("registration.cancelled", {"registration_id": first["id"], "session_id": session["id"]}),
        (
            "registration.received",
            {
                "registration_id": third["id"],
                "session_id": session["id"],
                "member_id": None,
                "organisation_id": None,
                "organisation_kind": "andere",
                "waitlisted": False,
            },
        ),
    ]
    counts = service.client.get(f"/sessions/{session['id']}").json()
    assert (counts["registered"], counts["waitlisted"]) == (2, 1)


def test_concurrent_registrations_never_give_away_more_seats_than_the_capacity(service: Service) -> None:
    session = service.schedule(capacity=3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(
            pool.map(
                lambda _: service.client.post(
                    f"/sessions/{session['id']}/registrations", json={"organisation_kind": "andere"}
                ),
                range(12),
            )
        )
    assert [r.status_code for r in responses] == [201] * 12
    assert [r.json()["waitlisted"] for r in responses].count(False) == 3
    counts = service.client.get(f"/sessions/{session['id']}").json()
    assert (counts["registered"], counts["waitlisted"]) == (3, 9)


def test_cancelling_a_waitlisted_registration_promotes_nobody(service: Service) -> None:
    session = service.schedule(capacity=1)
    service.register(session["id"])
    waiting = service.register(session["id"])
    response = service.client.post(f"/sessions/{session['id']}/registrations/{waiting['id']}/cancel")
    assert response.json()["promoted"] == []


def test_the_same_member_twice_is_a_conflict(service: Service) -> None:
    session = service.schedule()
    member = str(uuid.uuid4())
    service.register(session["id"], member_id=member)
    again = service.client.post(f"/sessions/{session['id']}/registrations", json={"member_id": member})
    assert again.status_code == 409
    assert len(service.client.get(f"/sessions/{session['id']}/registrations").json()) == 1


def test_a_registration_names_a_member_or_an_organisation_kind(service: Service) -> None:
    session = service.schedule()
    response = service.client.post(f"/sessions/{session['id']}/registrations", json={})
    assert response.status_code == 422


def test_a_known_member_registers_with_their_organisation_and_its_kind(service: Service) -> None:
    organisation, member = uuid.uuid4(), uuid.uuid4()
    service.produce_members(
        events.OrganisationRegistered(
            organisation_id=organisation,
            name="Gemeente Zemst",
            kind="lokaal_bestuur",
            registered_on=date(2024, 1, 1),
        ),
        events.MemberJoined(member_id=member, organisation_id=organisation, joined_on=date(2024, 2, 1)),
    )
    infra.wait_until(lambda: service.known(KnownMember, member), what="the member in the local copy")
    infra.wait_until(lambda: service.known(KnownOrganisation, organisation), what="the organisation")
    session = service.schedule()
    registration = service.register(session["id"], member_id=str(member))
    assert (
        registration["organisation_id"],
        registration["organisation_kind"],
        registration["organisation_known"],
    ) == (
        str(organisation),
        "lokaal_bestuur",
        True,
    )


def test_a_member_not_heard_of_yet_is_registered_and_completed_when_the_member_arrives(
    service: Service,
) -> None:
    organisation, member = uuid.uuid4(), uuid.uuid4()
    session = service.schedule()
    registration = service.register(session["id"], member_id=str(member))
    assert (registration["organisation_kind"], registration["organisation_known"]) == ("andere", False)
    service.produce_members(
        events.MemberJoined(member_id=member, organisation_id=organisation, joined_on=date(2024, 2, 1)),
        events.OrganisationRegistered(
            organisation_id=organisation,
            name="ISV Noord",
            kind="intergemeentelijk_samenwerkingsverband",
            registered_on=date(2024, 1, 1),
        ),
    )

    def completed() -> dict[str, Any] | None:
        found = service.client.get(f"/sessions/{session['id']}/registrations/{registration['id']}").json()
        return dict(found) if found["organisation_known"] else None

    found = infra.wait_until(completed, what="the registration to be completed")
    assert found["organisation_kind"] == "intergemeentelijk_samenwerkingsverband"
    name, data = service.published(session["id"])[-1]
    assert (name, data["registration_id"], data["organisation_id"]) == (
        "registration.received",
        registration["id"],
        str(organisation),
    )


def test_an_erased_member_cannot_register(service: Service) -> None:
    member = uuid.uuid4()
    service.produce_members(events.MemberErased(member_id=member, erased_on=date(2025, 1, 2)))
    infra.wait_until(lambda: service.known(KnownMember, member), what="the erasure in the local copy")
    session = service.schedule()
    response = service.client.post(
        f"/sessions/{session['id']}/registrations", json={"member_id": str(member)}
    )
    assert (response.status_code, response.json()["detail"][0]["loc"]) == (422, ["body", "member_id"])


# --- attendance ---------------------------------------------------------------------------------


def _attend(service: Service, session_id: str, registration_id: str, **body: Any) -> Any:
    return service.client.put(f"/sessions/{session_id}/registrations/{registration_id}/attendance", json=body)


def test_partial_attendance_counts_partly_and_a_correction_replaces_it(service: Service) -> None:
    session = service.schedule()
    registration = service.register(session["id"])
    assert (
        _attend(service, session["id"], registration["id"], attended=True, hours=1.5).json()["hours"] == 1.5
    )
    corrected = _attend(service, session["id"], registration["id"], attended=True, hours=2.25).json()
    assert (corrected["hours"], len(corrected["days"])) == (2.25, 1)
    recorded = [d for n, d in service.published(session["id"]) if n == "attendance.recorded"]
    assert [(d["attended"], d["hours"]) for d in recorded] == [(True, 1.5), (True, 2.25)]


def test_hours_above_the_planned_hours_are_refused_and_change_nothing(service: Service) -> None:
    session = service.schedule()
    registration = service.register(session["id"])
    _attend(service, session["id"], registration["id"], attended=True, hours=2)
    response = _attend(service, session["id"], registration["id"], attended=True, hours=3.5)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "hours"]
    again = service.client.get(f"/sessions/{session['id']}/registrations/{registration['id']}").json()
    assert again["hours"] == 2.0
    assert [n for n, _ in service.published(session["id"])].count("attendance.recorded") == 1


def test_attendance_on_a_cancelled_session_is_a_conflict(service: Service) -> None:
    session = service.schedule()
    registration = service.register(session["id"])
    service.client.post(f"/sessions/{session['id']}/cancel")
    assert _attend(service, session["id"], registration["id"], attended=True).status_code == 409


def test_a_multi_day_training_records_attendance_per_day(service: Service) -> None:
    training = service.schedule(
        kind="training_multiday",
        lead="mediawijs",
        starts_at="2025-05-12T09:00:00+02:00",
        ends_at="2025-05-14T16:00:00+02:00",
        planned_hours=18,
    )
    registration = service.register(training["id"])
    _attend(service, training["id"], registration["id"], attended=True, hours=6, day="2025-05-12")
    _attend(service, training["id"], registration["id"], attended=True, hours=4.5, day="2025-05-13")
    last = _attend(service, training["id"], registration["id"], attended=False, day="2025-05-14").json()
    assert (last["attended"], last["hours"], [d["day"] for d in last["days"]]) == (
        True,
        10.5,
        ["2025-05-12", "2025-05-13", "2025-05-14"],
    )
    assert service.published(training["id"])[-1][1]["hours"] == 10.5


def test_holding_a_session_publishes_participants_and_hours_from_attendance(service: Service) -> None:
    session = service.schedule()
    a, b, c = (service.register(session["id"]) for _ in range(3))
    _attend(service, session["id"], a["id"], attended=True)
    _attend(service, session["id"], b["id"], attended=True, hours=1.25)
    _attend(service, session["id"], c["id"], attended=False)
    held = service.client.post(f"/sessions/{session['id']}/held")
    assert held.status_code == 200
    assert (held.json()["held_on"], held.json()["participants"], held.json()["participant_hours"]) == (
        "2025-03-04",
        2,
        4.25,
    )
    assert service.published(session["id"])[-1] == (
        "session.held",
        {"session_id": session["id"], "held_on": "2025-03-04", "participants": 2, "participant_hours": 4.25},
    )


def test_a_registration_with_attended_hours_cannot_be_cancelled(service: Service) -> None:
    session = service.schedule()
    registration = service.register(session["id"])
    _attend(service, session["id"], registration["id"], attended=True)
    response = service.client.post(f"/sessions/{session['id']}/registrations/{registration['id']}/cancel")
    assert response.status_code == 409


# --- attendance lists ---------------------------------------------------------------------------


def test_an_attendance_list_by_member_id_and_email_is_recorded_without_keeping_addresses(
    service: Service,
) -> None:
    by_id, by_mail = uuid.uuid4(), uuid.uuid4()
    service.produce_contact(by_mail, "An.Peeters@Zemst.be")
    infra.wait_until(lambda: service.known(ContactDigest, by_mail), what="the contact digest")
    session = service.schedule()
    first = service.register(session["id"], member_id=str(by_id))
    second = service.register(session["id"], member_id=str(by_mail))
    csv = f"lid;aanwezig;uren\n{by_id};ja;2,5\nan.peeters@zemst.be;ja;\n"
    response = service.client.post(
        f"/sessions/{session['id']}/attendance/import", content=csv, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["applied"], report["registrations"]) == (True, 2)
    assert [(r["line"], r["status"], r["registration_id"]) for r in report["rows"]] == [
        (2, "ok", first["id"]),
        (3, "ok", second["id"]),
    ]
    hours = {
        d["registration_id"]: d["hours"]
        for n, d in service.published(session["id"])
        if n == "attendance.recorded"
    }
    assert hours == {first["id"]: 2.5, second["id"]: 3.0}
    with Session(service.engine) as db:
        assert db.get(ContactDigest, by_mail).email_sha256 != "an.peeters@zemst.be"  # type: ignore[union-attr]
        dumped = " ".join(str(v) for row in db.execute(text("SELECT * FROM ev_contact_digests")) for v in row)
        outbox = b" ".join(v or b"" for (v,) in db.execute(text("SELECT value FROM outbox")))
    assert "@" not in dumped and b"zemst.be" not in outbox


def test_an_attendance_list_with_a_line_not_understood_records_nothing(service: Service) -> None:
    session = service.schedule()
    known = service.register(session["id"], member_id=str(uuid.uuid4()))
    lines = [
        "member_id,attended,hours",
        f"{known['member_id']},ja,2",
        f"{uuid.uuid4()},ja,2",  # not registered
        "nobody@nergens.be,ja,1",  # no such member
        f"{known['member_id']},ja,9",  # twice, and above the planned hours
    ]
    csv = "\n".join(lines)
    response = service.client.post(
        f"/sessions/{session['id']}/attendance/import", content=csv, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 422
    report = response.json()
    assert report["applied"] is False
    assert [(r["line"], r["status"]) for r in report["rows"]] == [
        (2, "ok"),
        (3, "error"),
        (4, "error"),
        (5, "error"),
    ]
    assert "not registered" in report["rows"][1]["message"]
    assert service.client.get(f"/sessions/{session['id']}/registrations/{known['id']}").json()["hours"] == 0
    assert "attendance.recorded" not in [n for n, _ in service.published(session["id"])]


def test_only_staff_may_upload_an_attendance_list(service: Service) -> None:
    session = service.schedule()
    response = service.client.post(
        f"/sessions/{session['id']}/attendance/import",
        content="lid\n",
        headers={**infra.auth("partner"), "Content-Type": "text/csv"},
    )
    assert response.status_code == 403


# --- advice and tailored support ----------------------------------------------------------------


def test_advice_is_logged_and_published(service: Service) -> None:
    organisation = str(uuid.uuid4())
    response = service.client.post(
        "/advice",
        json={
            "organisation_id": organisation,
            "given_on": "2025-02-02",
            "topic": "digitale balie",
            "channel": "meeting",
            "with_mediawijs": True,
        },
    )
    assert response.status_code == 201
    [(name, data)] = service.published(response.json()["id"])
    assert (name, data["given_on"], data["channel"], data["with_mediawijs"]) == (
        "advice.given",
        "2025-02-02",
        "meeting",
        True,
    )


def test_a_trajectory_starts_and_completes_once_never_before_it_started(service: Service) -> None:
    started = service.client.post(
        "/trajectories",
        json={
            "organisation_id": str(uuid.uuid4()),
            "started_on": "2025-04-01",
            "stage": "growing",
            "methodology": "De Wisselaar",
            "description": "Van actiegericht naar beleidsmatig werken",
        },
    ).json()
    early = service.client.post(
        f"/trajectories/{started['id']}/complete", json={"completed_on": "2025-03-01"}
    )
    assert early.status_code == 422
    done = service.client.post(f"/trajectories/{started['id']}/complete", json={"completed_on": "2025-10-01"})
    assert done.status_code == 200
    assert service.client.post(f"/trajectories/{started['id']}/complete", json={}).status_code == 409
    assert [n for n, _ in service.published(started["id"])] == [
        "support_trajectory.started",
        "support_trajectory.completed",
    ]


# --- partner rights (issue 11, item 6) ----------------------------------------------------------


def test_a_partner_may_not_schedule_nor_change_a_vvsg_led_session(service: Service) -> None:
    partner = infra.auth("partner")
    refused = service.client.post("/sessions", json=INFO, headers=partner)  # lead vvsg
    assert refused.status_code == 403
    assert "mediawijs or joint" in refused.json()["detail"] and "Mediawijs" in refused.json()["detail"]

    session = service.schedule()  # lead vvsg, by staff
    registration = service.register(session["id"])
    sid, rid = session["id"], registration["id"]
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/sessions/{sid}/reschedule", {"starts_at": INFO["starts_at"], "ends_at": INFO["ends_at"]}),
        ("POST", f"/sessions/{sid}/cancel", None),
        ("POST", f"/sessions/{sid}/held", None),
        ("POST", f"/sessions/{sid}/recording", {"url": "https://vvsg.be/opname"}),
        ("POST", f"/sessions/{sid}/registrations", {"organisation_kind": "andere"}),
        ("POST", f"/sessions/{sid}/registrations/{rid}/cancel", None),
        ("PUT", f"/sessions/{sid}/registrations/{rid}/attendance", {"attended": True}),
    ]
    for method, path, body in attempts:
        response = service.client.request(method, path, json=body, headers=partner)
        assert response.status_code == 403, (path, response.text)
    assert [n for n, _ in service.published(sid)] == ["session.scheduled", "registration.received"]
    unchanged = service.client.get(f"/sessions/{sid}").json()
    assert (unchanged["status"], unchanged["registered"], unchanged["recording_url"]) == (
        "scheduled",
        1,
        None,
    )


def test_a_partner_records_a_jointly_led_session_from_start_to_end(service: Service) -> None:
    partner = infra.auth("partner")
    created = service.client.post(
        "/sessions", json={**INFO, "kind": "inspiration_day_online", "lead": "joint"}, headers=partner
    )
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    registration = service.client.post(
        f"/sessions/{sid}/registrations", json={"organisation_kind": "lokaal_bestuur"}, headers=partner
    )
    assert registration.status_code == 201
    rid = registration.json()["id"]
    attended = service.client.put(
        f"/sessions/{sid}/registrations/{rid}/attendance",
        json={"attended": True, "hours": 2},
        headers=partner,
    )
    assert attended.status_code == 200, attended.text
    assert service.client.post(f"/sessions/{sid}/held", headers=partner).status_code == 200
    recording = {"url": "https://mediawijs.be/opname"}
    assert (
        service.client.post(f"/sessions/{sid}/recording", json=recording, headers=partner).status_code == 200
    )


# --- who did what, only for staff (issue 11, item 13) -------------------------------------------


def test_a_viewer_does_not_see_which_staff_member_did_what(service: Service) -> None:
    session = service.schedule()
    organisation = str(uuid.uuid4())
    advice = {"organisation_id": organisation, "topic": "digitale balie", "channel": "mail"}
    assert service.client.post("/advice", json=advice).status_code == 201
    trajectory = {
        "organisation_id": organisation,
        "stage": "starting",
        "methodology": "coaching",
        "description": "Een digitale balie",
    }
    started = service.client.post("/trajectories", json=trajectory).json()
    staff_sees = service.client.get(f"/sessions/{session['id']}").json()["updated_by"]
    assert staff_sees and "@" in staff_sees
    for role in ("viewer", "partner"):
        headers = infra.auth(role)
        assert service.client.get(f"/sessions/{session['id']}", headers=headers).json()["updated_by"] is None
        assert all(
            s["updated_by"] is None for s in service.client.get("/sessions", headers=headers).json()["items"]
        )
        listed = service.client.get(
            "/advice", params={"organisation_id": organisation}, headers=headers
        ).json()
        assert [a["created_by"] for a in listed["items"]] == [None]
        assert (
            service.client.get(f"/trajectories/{started['id']}", headers=headers).json()["updated_by"] is None
        )
    assert service.client.get(f"/trajectories/{started['id']}").json()["updated_by"] == staff_sees


# --- free text and dates (issue 11, item 1) -----------------------------------------------------


def test_a_control_character_in_a_trajectory_description_is_refused_and_nothing_stored(
    service: Service,
) -> None:
    organisation = str(uuid.uuid4())
    body = {
        "organisation_id": organisation,
        "stage": "starting",
        "methodology": "coaching",
        "description": "a\u0008b",
    }
    response = service.client.post("/trajectories", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "description"
    listed = service.client.get("/trajectories", params={"organisation_id": organisation}).json()
    assert listed["total"] == 0
    with_lines = service.client.post("/trajectories", json={**body, "description": "stap 1\n\tstap 2"})
    assert with_lines.status_code == 201  # a description may have lines and tabs


@pytest.mark.parametrize(
    ("path", "field", "body"),
    [
        ("/sessions", "title", {**INFO, "title": "Infosessie\nBcc: iedereen@example.org"}),
        ("/sessions", "theme", {**INFO, "theme": "the\u0085ma"}),
        ("/sessions", "starts_at", {**INFO, "starts_at": "1168-03-04T14:00:00+01:00"}),
        (
            "/advice",
            "topic",
            {"organisation_id": str(uuid.UUID(int=7)), "topic": "=1+2\u001b", "channel": "mail"},
        ),
        (
            "/trajectories",
            "started_on",
            {
                "organisation_id": str(uuid.UUID(int=7)),
                "started_on": "1168-05-01",
                "stage": "starting",
                "methodology": "coaching",
                "description": "oud",
            },
        ),
        (
            "/trajectories",
            "methodology",
            {
                "organisation_id": str(uuid.UUID(int=7)),
                "stage": "starting",
                "methodology": "a\nb",
                "description": "d",
            },
        ),
    ],
)
def test_free_text_with_control_characters_and_implausible_dates_are_refused(
    service: Service, path: str, field: str, body: dict[str, Any]
) -> None:
    response = service.client.post(path, json=body)
    assert response.status_code == 422, response.text
    assert field in [e["loc"][-1] for e in response.json()["detail"]]


@pytest.mark.parametrize(
    "url", ["https://vvsg.be/op\u0000name", "https://vvsg.be/\u0085x", "javascript:alert(1)"]
)
def test_a_recording_link_with_a_control_character_or_another_scheme_is_refused(
    service: Service, url: str
) -> None:
    session = service.schedule()
    response = service.client.post(f"/sessions/{session['id']}/recording", json={"url": url})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "url"
    assert service.client.get(f"/sessions/{session['id']}").json()["recording_url"] is None
