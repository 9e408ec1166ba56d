"""The rights of access and erasure (GDPR) end to end: the five services as ops run them, over HTTP and
the real broker, a real SMTP server, and the `vvsg person` commands staff use.

One stack serves the module; each test has its own person. A person's story: a member of a
municipality (with newsletter consent) who joined yesterday, attended a session held yesterday, answered
the feedback form with a comment on the personal page, and got the newsletter and service mails."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from typer.testing import CliRunner

from ops.cli import app as cli
from services.kpi.app import PROJECTOR
from shared import events, topics
from shared.auth import Role
from shared.links import make_token
from tests import infra
from tests.infra import ServiceProcess, committed_through, read_topic, wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher

pytestmark = pytest.mark.e2e

BRUSSELS = ZoneInfo("Europe/Brussels")
SERVICES = ("members", "events", "feedback", "newsletter", "kpi")
ERASED = events.TYPE_PREFIX + "member.erased.v1"


@dataclass
class Stack:
    processes: dict[str, ServiceProcess]
    envs: dict[str, dict[str, str]]
    workdir: Path
    catcher: MailCatcher
    bootstrap: str
    prefix: str
    clients: dict[tuple[str, str], httpx.Client] = field(default_factory=dict)

    def client(self, service: str, role: Role = "staff") -> httpx.Client:
        process = self.processes[service]
        key = (process.url, role)
        if key not in self.clients:
            self.clients[key] = process.client(role)
        return self.clients[key]

    def restart(self, service: str) -> ServiceProcess:
        """A new process of the service on the same database (the old one is stopped)."""
        self.processes[service].stop()
        process = ServiceProcess(service, self.envs[service], self.workdir).start()
        self.processes[service] = process
        return process

    def cli(self, *args: str, **urls: str) -> Any:
        """`vvsg ...` as staff run it, against this stack (or the URLs given, by service name)."""
        env: dict[str, str | None] = {
            f"{name.upper()}_URL": urls.get(name, process.url) for name, process in self.processes.items()
        }
        env["VVSG_TOKEN"] = None  # the token is made from AUTH_SECRET
        return CliRunner().invoke(cli, list(args), env=env)

    def topic(self, name: str) -> list[Any]:
        return asyncio.run(read_topic(self.bootstrap, self.prefix + name))

    def people(self, service: str, member_id: str) -> dict[str, Any]:
        response = self.client(service).get(f"/people/{member_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def kpis(self, year: int, as_of: str) -> dict[str, Any]:
        response = self.client("kpi", "viewer").get(f"/kpis/{year}", params={"as_of": as_of})
        assert response.status_code == 200, response.text
        return {k["code"]: {"value": k["value"], "items": k["items"]} for k in response.json()["kpis"]}

    def projected(self) -> None:
        """Wait until the KPI service has read every domain topic to its end."""
        for name in topics.DOMAIN_TOPICS:
            topic = self.prefix + name

            def read(topic: str = topic) -> bool:
                return asyncio.run(committed_through(self.bootstrap, self.prefix + PROJECTOR, topic))

            wait_until(read, 60, 0.2, f"the KPI service to read {name}")


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("privacy")
    prefix = f"t{uuid.uuid4().hex[:10]}."
    infra.create_topics(kafka_bootstrap, prefix)
    catcher = MailCatcher().start()
    common = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "OUTBOX_POLL_SECONDS": "0.2",
    }
    envs = {name: {**common, "DATABASE_URL": f"sqlite:///{workdir}/{name}.db"} for name in SERVICES}
    envs["newsletter"].update(
        {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(catcher.port), "NEWSLETTER_POLL_SECONDS": "0.3"}
    )
    processes = {name: ServiceProcess(name, envs[name], workdir) for name in SERVICES}
    stack = Stack(processes, envs, workdir, catcher, kafka_bootstrap, prefix)
    try:
        with ThreadPoolExecutor(len(SERVICES)) as pool:  # they start side by side
            list(pool.map(lambda p: p.start(), processes.values()))
        yield stack
    finally:
        for client in stack.clients.values():
            client.close()
        for process in stack.processes.values():
            process.stop()
        catcher.stop()


# --- a person's story -----------------------------------------------------------------------------


@dataclass
class Person:
    id: str
    first_name: str
    last_name: str
    email: str
    comment: str
    session_id: str
    upcoming_id: str
    yesterday: str
    year: int

    def words(self) -> list[str]:
        """What must not be left anywhere after erasure."""
        return [self.first_name, self.last_name, self.email, self.comment]


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _story(stack: Stack, tag: str) -> Person:
    yesterday = datetime.now(BRUSSELS).date() - timedelta(days=1)
    members, staff_events = stack.client("members"), stack.client("events")
    organisation = _ok(
        members.post("/organisations", json={"name": f"Gemeente {tag}", "kind": "lokaal_bestuur"}), 201
    )
    first_name, last_name = f"Ermengarde{tag}", f"Vanderbeuckelaere{tag}"
    email = f"ermengarde.{tag.lower()}.{uuid.uuid4().hex[:6]}@gemeente.example"
    member = _ok(
        members.post(
            "/members",
            json={
                "first_name": first_name,
                "last_name": last_name,
                "email": email,
                "phone": "+32 470 11 22 33",
                "organisation_id": organisation["id"],
                "newsletter_consent": True,
                "joined_on": yesterday.isoformat(),
            },
        ),
        201,
    )
    _ok(members.post(f"/members/{member['id']}/knowledge-sharing/join", json={"joined_on": str(yesterday)}))
    wait_until(
        lambda: stack.people("events", member["id"])["member"],
        30,
        0.1,
        "the member known to the events service",
    )
    starts = datetime.combine(yesterday, time(10), BRUSSELS)
    session = _ok(
        staff_events.post(
            "/sessions",
            json={
                "kind": "info_session",
                "title": f"Infosessie digitale drempels {tag}",
                "theme": "digitale drempels",
                "lead": "vvsg",
                "format": "online",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=2)).isoformat(),
            },
        ),
        201,
    )
    registration = _ok(
        staff_events.post(f"/sessions/{session['id']}/registrations", json={"member_id": member["id"]}), 201
    )
    _ok(
        staff_events.put(
            f"/sessions/{session['id']}/registrations/{registration['id']}/attendance",
            json={"attended": True, "hours": 2},
        )
    )
    _ok(staff_events.post(f"/sessions/{session['id']}/held"))
    later = datetime.combine(yesterday + timedelta(days=15), time(14), BRUSSELS)
    upcoming = _ok(
        staff_events.post(
            "/sessions",
            json={
                "kind": "training_thematic",
                "title": f"Opleiding toegankelijke websites {tag}",
                "theme": "toegankelijkheid",
                "lead": "vvsg",
                "format": "physical",
                "starts_at": later.isoformat(),
                "ends_at": (later + timedelta(hours=3)).isoformat(),
            },
        ),
        201,
    )
    _ok(staff_events.post(f"/sessions/{upcoming['id']}/registrations", json={"member_id": member["id"]}), 201)

    feedback = stack.client("feedback")
    [request] = wait_until(
        lambda: _ok(feedback.get("/requests", params={"subject_id": session["id"]}))["items"],
        30,
        0.1,
        "the feedback request",
    )
    comment = f"De uitleg over {tag} was helder; bel me gerust op mijn gsm."
    link = "/feedback/" + make_token(infra.LINK_SECRET, "feedback", request["id"])
    page = httpx.post(
        stack.processes["feedback"].url + link,
        data={
            "satisfaction": "5",
            "usefulness": "4",
            "motivated": "4",
            "able_to_act": "2",
            "comment": comment,
        },
        timeout=30,
    )
    assert page.status_code == 200 and "Bedankt voor je feedback" in page.text
    return Person(
        member["id"],
        first_name,
        last_name,
        email,
        comment,
        session["id"],
        upcoming["id"],
        str(yesterday),
        yesterday.year,
    )


def _subscribed(stack: Stack, person: Person) -> None:
    wait_until(
        lambda: [
            s for s in stack.people("newsletter", person.id)["subscriptions"] if s["status"] == "active"
        ],
        30,
        0.1,
        "the newsletter subscription",
    )


def _export(stack: Stack, person: Person, tmp_path: Path) -> tuple[int, dict[str, Any]]:
    out = tmp_path / f"{person.id}.json"
    result = stack.cli("person", "export", person.id, "--out", str(out))
    return result.exit_code, json.loads(out.read_text(encoding="utf-8"))


def _erase(stack: Stack, person: Person) -> None:
    result = stack.cli("person", "erase", person.id, "--yes")
    assert result.exit_code == 0, result.output


def _erased_everywhere(stack: Stack, person: Person) -> None:
    """Every service has applied the erasure."""
    checks = {
        "events": lambda: (stack.people("events", person.id)["member"] or {}).get("status") == "erased",
        "feedback": lambda: (stack.people("feedback", person.id)["member"] or {}).get("erased"),
        "newsletter": lambda: stack.people("newsletter", person.id)["erased_at"],
    }
    for service, check in checks.items():
        wait_until(check, 60, 0.2, f"the {service} service to apply the erasure")


# --- right of access -------------------------------------------------------------------------------


def test_the_export_is_one_document_with_everything_every_service_holds_on_the_person(
    stack: Stack, tmp_path: Path
) -> None:
    person = _story(stack, "Toegang")
    _subscribed(stack, person)
    newsletter = stack.client("newsletter")
    issue = _ok(
        newsletter.post("/issues", json={"title": "Nieuwsbrief digitale inclusie", "body": "Nieuws."}), 201
    )
    _ok(newsletter.post(f"/issues/{issue['id']}/send"), 202)
    stack.catcher.wait_for(person.email, 3)  # registration confirmation, feedback invitation, newsletter

    def mails_sent() -> bool:
        mails = stack.people("newsletter", person.id)["mails"]
        return len(mails) == 3 and {m["status"] for m in mails} == {"sent"}

    wait_until(mails_sent, 30, 0.1, "the three mails marked sent")
    exit_code, document = _export(stack, person, tmp_path)

    assert exit_code == 0
    assert document["member_id"] == person.id and document["exported_at"]
    services = document["services"]
    assert sorted(services) == ["events", "feedback", "members", "newsletter"]
    assert not any(answer.get("unavailable") for answer in services.values())
    member = services["members"]["member"]
    assert (member["first_name"], member["last_name"], member["email"]) == (
        person.first_name,
        person.last_name,
        person.email,
    )
    registrations = {r["session"]["id"]: r for r in services["events"]["registrations"]}
    attended, upcoming = registrations[person.session_id], registrations[person.upcoming_id]
    assert (attended["attended"], attended["hours"], [d["day"] for d in attended["attendance"]]) == (
        True,
        2.0,
        [person.yesterday],
    )
    assert (upcoming["status"], upcoming["attendance"]) == ("registered", [])
    [response] = services["feedback"]["responses"]
    assert (response["satisfaction"], response["comment"]) == (5, person.comment)
    [subscription] = services["newsletter"]["subscriptions"]
    assert (subscription["email"], subscription["status"]) == (person.email, "active")
    assert sorted(m["kind"] for m in services["newsletter"]["mails"]) == [
        "feedback_invitation",
        "newsletter",
        "registration_confirmation",
    ]


# --- right to erasure ------------------------------------------------------------------------------


@dataclass
class Erasure:
    person: Person
    subscriber_id: str
    kpis_before: dict[str, Any]
    exported: dict[str, Any]  # every service's answer after the erasure


@pytest.fixture(scope="module")
def erasure(stack: Stack) -> Erasure:
    """A person's story, the KPIs of yesterday once everything is projected, then `vvsg person erase`."""
    person = _story(stack, "Wissen")
    _subscribed(stack, person)
    [subscription] = stack.people("newsletter", person.id)["subscriptions"]
    feedback_events = stack.prefix + topics.FEEDBACK_EVENTS
    wait_until(
        lambda: any(
            json.loads(r.value)["type"] == events.TYPE_PREFIX + "feedback.received.v1"
            for r in asyncio.run(read_topic(stack.bootstrap, feedback_events))
        ),
        30,
        0.2,
        "feedback.received on its topic",
    )
    stack.projected()
    before = stack.kpis(person.year, person.yesterday)
    _erase(stack, person)
    _erased_everywhere(stack, person)
    exported = {
        service: stack.people(service, person.id)
        for service in ("members", "events", "feedback", "newsletter")
    }
    return Erasure(person, subscription["id"], before, exported)


def test_after_erasure_no_service_holds_the_persons_name_address_or_words(erasure: Erasure) -> None:
    text = json.dumps(erasure.exported, ensure_ascii=False)
    assert [word for word in erasure.person.words() if word in text] == []
    assert "470 11 22 33" not in text


def test_what_remains_are_the_ids_and_figures_the_kpis_need(erasure: Erasure) -> None:
    remains = erasure.exported
    assert remains["members"]["member"]["erased_on"]
    assert [(r["status"], r["attended"], r["hours"]) for r in remains["events"]["registrations"]] == [
        ("registered", True, 2.0),  # the session held yesterday: its participant hours
        ("cancelled", False, 0.0),  # the upcoming one: the seat was freed
    ]
    assert [(r["satisfaction"], r["comment"]) for r in remains["feedback"]["responses"]] == [(5, None)]
    assert (remains["newsletter"]["contact"], remains["newsletter"]["subscriptions"]) == (None, [])


def test_erasure_writes_the_tombstone_and_publishes_member_erased_once(
    stack: Stack, erasure: Erasure
) -> None:
    key = erasure.person.id.encode()
    contacts = sorted(
        (r for r in stack.topic(topics.MEMBERS_CONTACTS) if r.key == key), key=lambda r: r.offset
    )
    assert contacts[-1].value is None
    erased = [
        r
        for r in stack.topic(topics.MEMBERS_EVENTS)
        if r.key == key and json.loads(r.value)["type"] == ERASED
    ]
    assert len(erased) == 1


def _published(stack: Stack, topic: str, event: str, key: str) -> bool:
    return any(
        r.key == key.encode() and json.loads(r.value)["type"] == f"{events.TYPE_PREFIX}{event}.v1"
        for r in stack.topic(topic)
    )


def test_the_kpis_of_the_day_before_the_erasure_stay_the_same(stack: Stack, erasure: Erasure) -> None:
    person = erasure.person
    # what the services published because of the erasure: the freed seat, the ended subscription
    wait_until(
        lambda: _published(stack, topics.ACTIVITIES_EVENTS, "registration.cancelled", person.upcoming_id),
        30,
        0.2,
        "the freed seat on its topic",
    )
    subscriber = erasure.subscriber_id
    wait_until(
        lambda: _published(stack, topics.COMMUNICATIONS_EVENTS, "newsletter.unsubscribed", subscriber),
        30,
        0.2,
        "the ended subscription on its topic",
    )
    stack.projected()
    after = stack.kpis(person.year, person.yesterday)
    assert after == erasure.kpis_before
    assert erasure.kpis_before["OD1.1-leden"]["value"] >= 1  # the person still counts on that day
    assert erasure.kpis_before["OD1.2-deelnemersuren"]["value"] >= 2


def test_erasing_again_changes_nothing(stack: Stack, erasure: Erasure) -> None:
    _erase(stack, erasure.person)
    key = erasure.person.id.encode()
    again = {service: stack.people(service, erasure.person.id) for service in erasure.exported}
    assert again == erasure.exported
    erased = [
        r
        for r in stack.topic(topics.MEMBERS_EVENTS)
        if r.key == key and json.loads(r.value)["type"] == ERASED
    ]
    assert len(erased) == 1


# --- a service down at the time ---------------------------------------------------------------------


def test_a_service_that_was_down_catches_up_and_removes_the_comment(stack: Stack) -> None:
    person = _story(stack, "Later")
    wait_until(
        lambda: [r["comment"] for r in stack.people("feedback", person.id)["responses"]] == [person.comment],
        30,
        0.1,
        "the comment stored",
    )
    stack.processes["feedback"].stop()
    _erase(stack, person)
    wait_until(
        lambda: (stack.people("events", person.id)["member"] or {}).get("status") == "erased",
        60,
        0.2,
        "the events service to apply the erasure meanwhile",
    )
    stack.restart("feedback")
    wait_until(
        lambda: [r["comment"] for r in stack.people("feedback", person.id)["responses"]] == [None],
        60,
        0.2,
        "the restarted feedback service to remove the comment",
    )
    assert person.comment not in json.dumps(stack.people("feedback", person.id), ensure_ascii=False)


def test_an_export_names_a_service_that_does_not_answer_and_fails(stack: Stack, tmp_path: Path) -> None:
    members = stack.client("members")
    organisation = _ok(
        members.post("/organisations", json={"name": "Gemeente Elders", "kind": "andere"}), 201
    )
    member = {
        "first_name": "Onvolledig",
        "last_name": "Uittreksel",
        "email": f"onvolledig.{uuid.uuid4().hex[:6]}@elders.example",
        "organisation_id": organisation["id"],
    }
    member_id = _ok(members.post("/members", json=member), 201)["id"]
    out = tmp_path / "onvolledig.json"
    closed = f"http://127.0.0.1:{infra.free_port()}"  # nothing listens there
    result = stack.cli("person", "export", member_id, "--out", str(out), newsletter=closed)
    document = json.loads(out.read_text(encoding="utf-8"))
    assert result.exit_code == 1
    assert document["services"]["newsletter"]["unavailable"] is True
    assert [name for name, answer in document["services"].items() if answer.get("unavailable")] == [
        "newsletter"
    ]
    assert document["services"]["members"]["member"]["id"] == member_id
