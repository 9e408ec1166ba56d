"""The Activiteiten screens in Debian's Chromium against the real events and members services on Kafka
and a real Keycloak: plan a session (with a field error first), register four people at capacity three
(one waits, one cancels, the waiting one moves up), reschedule, tick attendance in the grid (one day,
and two days of a training), add the recording, mark it held, find it in the list and the month
calendar, log advice and a trajectory; every screen passes axe-core; a viewer, a form without its CSRF
token and an anonymous post are refused and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.backoffice.web import MONTHS
from shared.clock import business_today
from tests import infra
from tests.backoffice.test_browser import accessible, keep, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

PEOPLE = (("Lotte", "Peeters"), ("Jan", "Janssens"), ("Ann", "Maes"), ("Tom", "Claes"))


@pytest.fixture
def network(
    services: Callable[..., infra.ServiceProcess], tmp_path: Path
) -> tuple[infra.ServiceProcess, infra.ServiceProcess]:
    """The members and events services on this test's topics: events learns the members from Kafka."""
    members = services("members", f"sqlite:///{tmp_path}/members.db")
    events = services("events", f"sqlite:///{tmp_path}/events.db")
    return members, events


def test_staff_plan_a_session_fill_it_past_capacity_and_run_it(
    network: tuple[infra.ServiceProcess, infra.ServiceProcess],
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
) -> None:
    members, events = network
    organisation = members.client().post(
        "/organisations", json={"name": "Gemeente Zoersel", "kind": "lokaal_bestuur"}
    )
    for first, last in PEOPLE:
        made = members.client().post(
            "/members",
            json={
                "first_name": first,
                "last_name": last,
                "email": f"{first.lower()}.{last.lower()}@zoersel.be",
                "organisation_id": organisation.json()["id"],
            },
        )
        assert made.status_code == 201, made.text
    office = backoffice(MEMBERS_URL=members.url, EVENTS_URL=events.url)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    sign_in(page, office.url, "sam.staff", "/activiteiten/nieuw")
    accessible(page, "sessie plannen")

    yesterday = business_today() - timedelta(days=1)
    page.get_by_label("Soort (verplicht)").select_option(label="Infosessie")
    page.get_by_label("Titel (verplicht)").fill("Digitale drempels in het OCMW")
    page.get_by_label("Thema (verplicht)").fill("Toegankelijkheid")
    page.get_by_label("Plaats", exact=True).fill("Gemeentehuis Zoersel")
    page.get_by_label("Begint op (verplicht)").fill(f"{yesterday}T14:00")
    page.get_by_label("Eindigt op (verplicht)").fill(f"{yesterday}T10:00")
    page.get_by_label("Aantal plaatsen").fill("3")
    page.get_by_role("button", name="Plannen").click()
    assert page.locator("#fout-ends_at").inner_text() == "Geef een datum en tijd die na het begin ligt."
    assert page.locator("#veld-ends_at").get_attribute("aria-invalid") == "true"
    assert page.locator("#veld-title").input_value() == "Digitale drempels in het OCMW"  # typed text stays
    accessible(page, "sessie plannen met fout")
    keep(page, artefacts, "sessie-plannen-fout")
    assert events.client().get("/sessions").json()["total"] == 0  # nothing was planned
    page.get_by_label("Begint op (verplicht)").fill(f"{yesterday}T09:30")
    page.get_by_label("Eindigt op (verplicht)").fill(f"{yesterday}T12:00")
    page.get_by_role("button", name="Plannen").click()
    assert page.locator("h1").inner_text() == "Digitale drempels in het OCMW"
    facts = page.locator("dl.facts").inner_text()
    assert "Infosessie" in facts and "2,5" in facts and "gepland" in facts
    session_id = page.url.split("/activiteiten/")[1].split("?")[0]
    detail = f"{office.url}/activiteiten/{session_id}"

    # four people for three seats: the fourth waits
    for first, last in PEOPLE:
        page.goto(f"{detail}?zoek={last}")
        page.get_by_role("button", name=f"{first} {last} inschrijven").click()
    assert "wachtlijst" in page.get_by_role("status").inner_text()
    assert page.locator("ol.waiting li").count() == 1
    assert "Tom Claes" in page.locator("ol.waiting").inner_text()
    accessible(page, "sessie met wachtlijst")
    keep(page, artefacts, "sessie-wachtlijst")

    # an outside participant joins the queue behind Tom
    page.get_by_label("Soort organisatie (verplicht)").select_option(label="Middenveldorganisatie")
    page.get_by_role("button", name="Deelnemer inschrijven").click()
    assert page.locator("ol.waiting li").count() == 2
    page.get_by_label("Of het id van het lid").fill("0b7e6f3a-4c1d-4e5f-9a8b-123456789abc")
    page.get_by_role("button", name="Lid inschrijven").click()
    assert page.locator("#fout-member_id").inner_text() == "Er is geen lid met dit id."
    assert events.client().get(f"/sessions/{session_id}").json()["waitlisted"] == 2  # nobody added

    # Lotte cancels: Tom moves up, the outside participant still waits
    page.get_by_role("button", name="Inschrijving van Lotte Peeters annuleren").click()
    notice = page.get_by_role("status").inner_text()
    assert "Van de wachtlijst kreeg een plaats: Tom Claes." in notice
    seated = page.locator("table").first.inner_text()
    assert "Tom Claes" in seated and "Lotte Peeters" not in seated
    assert page.locator("ol.waiting li").count() == 1
    assert "deelnemer van buiten het netwerk" in page.locator("ol.waiting").inner_text()
    accessible(page, "sessie na annulering")
    listed = events.client().get(f"/sessions/{session_id}").json()
    assert (listed["registered"], listed["waitlisted"]) == (3, 1)

    # reschedule: a planned-hours error first, then an hour later
    page.get_by_label("Geplande uren").fill("9")
    page.get_by_role("button", name="Verplaatsen").click()
    assert page.locator("#fout-planned_hours").inner_text().startswith("Geef de geplande uren")
    accessible(page, "verplaatsen met fout")
    page.get_by_label("Begint op (verplicht)").fill(f"{yesterday}T10:30")
    page.get_by_label("Eindigt op (verplicht)").fill(f"{yesterday}T13:00")
    page.get_by_label("Geplande uren").fill("2,5")
    page.get_by_role("button", name="Verplaatsen").click()
    assert "10:30" in page.locator("dl.facts").inner_text()

    # the recording: a bad address is refused next to the field, a good one is shown
    page.get_by_label("Adres van de opname").fill("javascript:alert(1)")
    page.get_by_role("button", name="Opname bewaren").click()
    assert page.locator("#fout-url").inner_text() == "Geef een webadres dat begint met https:// of http://."
    page.get_by_label("Adres van de opname").fill("https://video.vvsg.be/drempels")
    page.get_by_role("button", name="Opname bewaren").click()
    assert page.get_by_role("link", name="https://video.vvsg.be/drempels").count() == 1

    # attendance: a grid for the one day, prefilled with the planned hours; a typing error saves nothing
    page.get_by_role("link", name="Aanwezigheid invullen").click()
    assert page.get_by_label("uren – Jan Janssens").input_value() == "2,5"
    accessible(page, "aanwezigheid")
    keep(page, artefacts, "aanwezigheid")
    page.get_by_label("aanwezig – Jan Janssens").check()
    page.get_by_label("aanwezig – Ann Maes").check()
    page.get_by_label("uren – Ann Maes").fill("twee")
    page.get_by_role("button", name="Aanwezigheid bewaren").click()
    assert "er is niets bewaard" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("uren – Ann Maes").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("aanwezig – Jan Janssens").is_checked()  # what was ticked stays
    accessible(page, "aanwezigheid met fout")
    hours = {
        r["member_id"]: r["hours"]
        for r in events.client().get(f"/sessions/{session_id}/registrations").json()
    }
    assert set(hours.values()) == {0}
    page.get_by_label("uren – Ann Maes").fill("2")
    page.get_by_role("button", name="Aanwezigheid bewaren").click()
    assert page.get_by_role("status").inner_text() == "De aanwezigheid is bewaard (2 wijzigingen)."
    assert page.get_by_label("uren – Ann Maes").input_value() == "2"
    assert page.get_by_label("aanwezig – Ann Maes").is_checked()
    assert not page.get_by_label("aanwezig – Tom Claes").is_checked()
    page.get_by_role("link", name="Terug naar de sessie").click()

    page.get_by_role("button", name="Gehouden").click()
    assert "gehouden op" in page.locator("dl.facts").inner_text()
    assert "2 (4,5 deelnemersuren)" in page.locator("dl.facts").inner_text()
    assert page.get_by_role("button", name="Verplaatsen").count() == 0
    assert events.client().get(f"/sessions/{session_id}").json()["status"] == "held"
    accessible(page, "gehouden sessie")
    keep(page, artefacts, "sessie-gehouden")

    # the list with its filters, and the month calendar with its neighbours
    page.goto(f"{office.url}/activiteiten")
    page.get_by_label("Soort").select_option(label="Infosessie")
    page.get_by_label("Van", exact=True).fill(str(yesterday))
    page.get_by_label("Tot en met").fill(str(yesterday))
    page.get_by_role("button", name="Zoeken").click()
    assert page.locator("tbody tr").count() == 1
    assert "Digitale drempels in het OCMW" in page.locator("tbody").inner_text()
    accessible(page, "activiteiten")
    keep(page, artefacts, "activiteiten")
    page.get_by_label("Soort").select_option(label="Stuurgroep")
    page.get_by_role("button", name="Zoeken").click()
    assert page.locator("tbody").inner_text() == "Geen sessies gevonden."

    page.goto(f"{office.url}/activiteiten/kalender?maand={yesterday:%Y-%m}")
    month = f"{MONTHS[yesterday.month - 1]} {yesterday.year}"
    assert page.locator("h1").inner_text() == f"Kalender {month}"
    page.get_by_role("link", name="10:30 Digitale drempels in het OCMW").click()
    assert page.locator("h1").inner_text() == "Digitale drempels in het OCMW"
    page.go_back()
    accessible(page, "kalender")
    keep(page, artefacts, "kalender")
    page.get_by_role("link", name="Volgende maand").click()
    assert page.locator("h1").inner_text() != f"Kalender {month}"
    assert page.get_by_role("link", name="Digitale drempels in het OCMW").count() == 0

    # an advice conversation and a support trajectory for the organisation
    page.goto(f"{office.url}/activiteiten/advies")
    page.get_by_label("Organisatie (verplicht)").select_option(label="Gemeente Zoersel")
    page.get_by_label("Kanaal (verplicht)").select_option(label="Telefoon")
    page.get_by_role("button", name="Bewaren").click()
    assert page.locator("#fout-topic").inner_text() == "Vul dit veld in."
    accessible(page, "adviesgesprek met fout")
    page.get_by_label("Onderwerp (verplicht)").fill("Digitale balie in het sociaal huis")
    page.get_by_role("button", name="Bewaren").click()
    assert "Digitale balie in het sociaal huis" in page.locator("tbody").inner_text()
    assert "Gemeente Zoersel" in page.locator("tbody").inner_text()
    accessible(page, "adviesgesprekken")
    page.goto(f"{office.url}/activiteiten/trajecten")
    page.get_by_label("Organisatie (verplicht)").select_option(label="Gemeente Zoersel")
    page.get_by_label("Fase (verplicht)").select_option(label="Startend")
    page.get_by_label("Methodiek (verplicht)").fill("Quickscan digitale inclusie")
    page.get_by_label("Beschrijving (verplicht)").fill("Een jaar begeleiding van het lokaal bestuur.")
    page.get_by_role("button", name="Bewaren").click()
    assert page.get_by_role("status").inner_text() == "Het traject is bewaard."
    assert "Quickscan digitale inclusie" in page.locator("tbody").inner_text()
    accessible(page, "trajecten")
    assert events.client().get("/trajectories").json()["total"] == 1


def test_a_viewer_cannot_plan_a_form_without_its_token_changes_nothing_and_cancelling_asks_first(
    services: Callable[..., infra.ServiceProcess],
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    tmp_path: Path,
) -> None:
    events = services("events", f"sqlite:///{tmp_path}/events.db")
    office = backoffice(EVENTS_URL=events.url)  # no members service: the screens do without names
    tomorrow = business_today() + timedelta(days=1)
    form = {
        "kind": "network_meeting_general",
        "title": "Netwerkdag",
        "theme": "Samen sterker",
        "lead": "vvsg",
        "format": "online",
        "starts_at": f"{tomorrow}T13:00",
        "ends_at": f"{tomorrow}T16:00",
    }
    viewer = browser.new_context(locale="nl-BE").new_page()
    sign_in(viewer, office.url, "vic.viewer", "/activiteiten")
    assert viewer.get_by_role("link", name="Sessie plannen").count() == 0
    accessible(viewer, "activiteiten voor een lezer")
    viewer.goto(f"{office.url}/activiteiten/nieuw")
    assert viewer.locator("h1").inner_text() == "Geen toegang"
    csrf = viewer.locator("input[name=csrf]").first.get_attribute("value")
    refused = viewer.request.post(
        f"{office.url}/activiteiten/nieuw", form={**form, "csrf": csrf}, max_redirects=0
    )
    assert refused.status == 403

    page = browser.new_context(locale="nl-BE").new_page()
    sign_in(page, office.url, "sam.staff", "/activiteiten")
    no_token = page.request.post(f"{office.url}/activiteiten/nieuw", form=form, max_redirects=0)
    assert no_token.status == 403
    assert "Er is niets bewaard" in no_token.text()
    anonymous = httpx.post(f"{office.url}/activiteiten/nieuw", data={**form, "csrf": csrf})
    assert anonymous.status_code == 401
    assert events.client().get("/sessions").json()["total"] == 0

    planned = events.client().post("/sessions", json=form).json()
    viewer.goto(f"{office.url}/activiteiten/{planned['id']}")
    assert viewer.locator("h1").inner_text() == "Netwerkdag"
    assert viewer.get_by_role("button", name="Sessie annuleren").count() == 0  # reading only
    page.goto(f"{office.url}/activiteiten/{planned['id']}")
    page.get_by_label("Reden van de annulering").fill("De spreker is ziek.")
    page.get_by_role("button", name="Sessie annuleren").click()
    assert page.locator("#fout-confirm").inner_text() == "Vink aan dat je deze sessie wilt annuleren."
    assert page.get_by_label("Reden van de annulering").input_value() == "De spreker is ziek."  # kept
    assert events.client().get(f"/sessions/{planned['id']}").json()["status"] == "scheduled"
    accessible(page, "annuleren zonder bevestiging")
    # a reason the events service refuses (over 500 characters) is named next to the field, nothing changes
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    too_long = page.request.post(
        f"{office.url}/activiteiten/{planned['id']}/annuleren",
        form={"csrf": csrf, "confirm": "ja", "reason": "x" * 501},
        max_redirects=0,
    )
    assert too_long.status == 422 and "Hoogstens 500 tekens" in too_long.text()
    assert events.client().get(f"/sessions/{planned['id']}").json()["status"] == "scheduled"
    page.get_by_label("Ik wil deze sessie annuleren").check()
    page.get_by_role("button", name="Sessie annuleren").click()
    assert "geannuleerd op" in page.locator("dl.facts").inner_text()
    assert page.locator("#reden").inner_text() == "De spreker is ziek."
    cancelled = events.client().get(f"/sessions/{planned['id']}").json()
    assert (cancelled["status"], cancelled["cancel_reason"]) == ("cancelled", "De spreker is ziek.")
    viewer.reload()
    assert "geannuleerd" in viewer.locator("dl.facts").inner_text()
    assert viewer.locator("#reden").count() == 0  # staff free text: not for a viewer
    assert page.get_by_role("button", name="Lid inschrijven").count() == 0
    accessible(page, "geannuleerde sessie")

    # a training over two days: one column per day, each prefilled with half the planned hours
    first = business_today() - timedelta(days=2)
    training = (
        events.client()
        .post(
            "/sessions",
            json={
                **form,
                "kind": "training_multiday",
                "title": "Opleiding digitale inclusie",
                "starts_at": f"{first}T09:00",
                "ends_at": f"{first + timedelta(days=1)}T17:00",
                "planned_hours": 12,
            },
        )
        .json()
    )
    outside = {"organisation_kind": "middenveldorganisatie"}
    events.client().post(f"/sessions/{training['id']}/registrations", json=outside)
    page.goto(f"{office.url}/activiteiten/{training['id']}/aanwezigheid")
    assert page.locator("thead th").count() == 3  # the participant and two days
    boxes = page.get_by_role("checkbox")
    assert boxes.count() == 2
    assert [page.locator("input[inputmode=decimal]").nth(i).input_value() for i in range(2)] == ["6", "6"]
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.locator("input[inputmode=decimal]").nth(1).fill("5,5")
    page.get_by_role("button", name="Aanwezigheid bewaren").click()
    assert page.get_by_role("status").inner_text() == "De aanwezigheid is bewaard (2 wijzigingen)."
    (registration,) = events.client().get(f"/sessions/{training['id']}/registrations").json()
    assert [(d["day"], d["hours"]) for d in registration["days"]] == [
        (str(first), 6.0),
        (str(first + timedelta(days=1)), 5.5),
    ]
    accessible(page, "aanwezigheid over twee dagen")


# --- attendance from a CSV file, and the month calendar across a year's end ----------------------------


def _upload(page: Any, content: bytes, name: str = "aanwezigheid.csv") -> None:
    page.set_input_files("#veld-bestand", files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    page.get_by_role("button", name="Bestand nakijken").click()


def test_attendance_from_a_csv_file_is_previewed_per_row_and_written_only_after_confirming(
    network: tuple[infra.ServiceProcess, infra.ServiceProcess],
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
) -> None:
    members, events = network
    organisation = members.client().post(
        "/organisations", json={"name": "Gemeente Zoersel", "kind": "lokaal_bestuur"}
    )
    people = {}
    for first, last in PEOPLE[1:]:  # Jan, Ann and Tom
        made = members.client().post(
            "/members",
            json={
                "first_name": first,
                "last_name": last,
                "email": f"{first.lower()}.{last.lower()}@zoersel.be",
                "organisation_id": organisation.json()["id"],
            },
        )
        assert made.status_code == 201, made.text
        people[first] = made.json()["id"]
    first_day = business_today() - timedelta(days=2)
    second_day = first_day + timedelta(days=1)
    training = events.client().post(
        "/sessions",
        json={
            "kind": "training_multiday",
            "title": "Opleiding digitale inclusie",
            "theme": "Basisvaardigheden",
            "lead": "vvsg",
            "format": "physical",
            "starts_at": f"{first_day}T09:00",
            "ends_at": f"{second_day}T17:00",
            "planned_hours": 12,
            "capacity": 3,
        },
    )
    assert training.status_code == 201, training.text
    session_id = training.json()["id"]
    registrations = f"/sessions/{session_id}/registrations"
    for first in ("Jan", "Ann"):
        assert events.client().post(registrations, json={"member_id": people[first]}).status_code == 201
    outside = events.client().post(registrations, json={"organisation_kind": "middenveldorganisatie"}).json()
    waiting = events.client().post(registrations, json={"member_id": people["Tom"]}).json()
    assert waiting["waitlisted"] is True

    def recorded() -> dict[str, list[tuple[str, bool, float]]]:
        return {
            r["id"]: [(d["day"], d["attended"], d["hours"]) for d in r["days"]]
            for r in events.client().get(registrations).json()
        }

    nothing = recorded()
    assert all(days == [] for days in nothing.values())
    office = backoffice(MEMBERS_URL=members.url, EVENTS_URL=events.url)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    grid = f"/activiteiten/{session_id}/aanwezigheid"
    sign_in(page, office.url, "sam.staff", grid)

    # the template: every seated registration on both days, with half the planned hours each
    template = page.request.get(f"{office.url}{grid}/sjabloon.csv")
    assert template.status == 200
    assert template.headers["content-type"].startswith("text/csv")
    assert "attachment" in template.headers["content-disposition"]
    lines = template.text().lstrip("\ufeff").splitlines()
    assert lines[0] == "inschrijving;naam;e-mail;dag;aanwezig;uren"
    assert len(lines) == 1 + 3 * 2  # Tom waits: he is not on it
    assert f"jan.janssens@zoersel.be;{first_day};ja;6" in lines[1]
    assert f"{outside['id']};deelnemer van buiten;;{second_day};ja;6" in lines

    # a formula in a cell: the whole file is refused, with the line and column
    _upload(page, f'naam;dag;uren\nJan Janssens;{first_day};=HYPERLINK("http://x")\n'.encode())
    alert = page.get_by_role("alert").inner_text()
    assert "Regel 2, kolom 'uren'" in alert and "formule" in alert and "Er is niets bewaard." in alert
    accessible(page, "csv geweigerd")
    assert recorded() == nothing

    # per-row verdicts; a file with one bad row writes nothing and offers no confirmation
    mixed = (
        "naam;e-mail;dag;aanwezig;uren\n"
        f";jan.janssens@zoersel.be;{first_day};ja;5,5\n"
        f"Maes Ann;;{second_day:%d/%m/%Y};ja;\n"
        f"Piet Pieters;;{first_day};ja;3\n"
        f"Tom Claes;;{first_day};ja;3\n"
        f"Jan Janssens;;{second_day};ja;twee\n"
        f"Ann Maes;;{second_day + timedelta(days=1)};ja;2\n"
    )
    _upload(page, mixed.encode())
    rows = page.locator("table.csv-preview tbody tr")
    assert rows.count() == 6
    verdicts = [rows.nth(i).locator("td").last.inner_text() for i in range(6)]
    assert verdicts[0] == "gevonden" and verdicts[1] == "gevonden"
    assert "Jan Janssens" in rows.nth(0).inner_text() and "Ann Maes" in rows.nth(1).inner_text()
    assert "6" in rows.nth(1).locator("td").nth(3).inner_text()  # empty hours: the planned hours per day
    assert verdicts[2].startswith("onbekende persoon")
    assert verdicts[3].startswith("onbekende persoon") and "wachtlijst" in verdicts[3]
    assert verdicts[4].startswith("uren ongeldig")
    assert verdicts[5].startswith("dag ongeldig")
    assert (
        "4 van de 6 regels hebben een probleem; er is niets bewaard" in page.get_by_role("alert").inner_text()
    )
    assert page.get_by_role("button", name="Aanwezigheid uit het bestand bewaren").count() == 0
    accessible(page, "csv met fouten")
    keep(page, artefacts, "aanwezigheid-csv-fouten")
    assert recorded() == nothing

    # a good file: the preview first, then the confirmation writes the changed rows
    good = (
        "e-mail;naam;inschrijving;dag;aanwezig;uren\n"
        f"jan.janssens@zoersel.be;;;{first_day};ja;5,5\n"
        f";ann maes;;{second_day:%d/%m/%Y};ja;\n"
        f";;{outside['id']};{first_day};nee;\n"
    )
    _upload(page, good.encode())
    assert "Alle 3 regels zijn in orde. 2 wijzigingen" in page.get_by_role("status").inner_text()
    assert recorded() == nothing  # a preview writes nothing
    accessible(page, "csv voorbeeld")
    keep(page, artefacts, "aanwezigheid-csv-voorbeeld")
    page.get_by_role("button", name="Aanwezigheid uit het bestand bewaren").click()
    assert page.get_by_role("status").inner_text() == "De aanwezigheid is bewaard (2 wijzigingen)."
    after = recorded()
    jan = next(r["id"] for r in events.client().get(registrations).json() if r["member_id"] == people["Jan"])
    ann = next(r["id"] for r in events.client().get(registrations).json() if r["member_id"] == people["Ann"])
    assert after[jan] == [(str(first_day), True, 5.5)]
    assert after[ann] == [(str(second_day), True, 6.0)]
    assert after[outside["id"]] == [] and after[waiting["id"]] == []

    # refused at the HTTP level, each changing nothing: no token, a viewer, nobody signed in, too big,
    # and a confirmation whose rows were changed after the preview
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    upload = f"{office.url}{grid}/csv"
    fine = {
        "name": "a.csv",
        "mimeType": "text/csv",
        "buffer": f"naam;dag\nJan Janssens;{second_day}\n".encode(),
    }
    no_token = page.request.post(upload, multipart={"bestand": fine}, max_redirects=0)
    assert no_token.status == 403 and "Er is niets bewaard" in no_token.text()
    huge = {
        "name": "groot.csv",
        "mimeType": "text/csv",
        "buffer": b"naam;uren\n" + b"Jan Janssens;1\n" * 20_000,
    }
    too_big = page.request.post(upload, multipart={"csrf": csrf, "bestand": huge}, max_redirects=0)
    assert too_big.status == 413 and "te groot" in too_big.text()
    control = {"name": "a.csv", "mimeType": "text/csv", "buffer": b"naam;uren\nJan\x00Janssens;1\n"}
    refused_control = page.request.post(upload, multipart={"csrf": csrf, "bestand": control})
    assert refused_control.status == 422 and "stuurteken" in refused_control.text()
    confirm = f"{office.url}{grid}/csv/bevestigen"
    tampered = f"inschrijving;dag;aanwezig;uren\r\n{jan};{second_day};ja;99\r\n"
    refused_confirm = page.request.post(confirm, form={"csrf": csrf, "regels": tampered}, max_redirects=0)
    assert refused_confirm.status == 422 and "Niets bewaard" in refused_confirm.text()
    assert page.request.post(confirm, form={"regels": tampered}, max_redirects=0).status == 403
    assert httpx.post(f"{office.url}{grid}/csv/bevestigen", data={"regels": tampered}).status_code == 401
    anonymous = httpx.post(
        upload, data={"csrf": csrf}, files={"bestand": ("a.csv", fine["buffer"], "text/csv")}
    )
    assert anonymous.status_code == 401 and "Er is niets bewaard" in anonymous.text
    viewer = browser.new_context(locale="nl-BE").new_page()
    sign_in(viewer, office.url, "vic.viewer", "/activiteiten")
    viewer_csrf = viewer.locator("input[name=csrf]").first.get_attribute("value")
    as_viewer = viewer.request.post(upload, multipart={"csrf": viewer_csrf, "bestand": fine}, max_redirects=0)
    assert as_viewer.status == 403
    as_viewer = viewer.request.post(confirm, form={"csrf": viewer_csrf, "regels": tampered}, max_redirects=0)
    assert as_viewer.status == 403
    assert viewer.request.get(f"{office.url}{grid}/sjabloon.csv").status == 403  # names and addresses
    assert recorded() == after


def test_the_month_calendar_shows_a_session_over_new_year_in_both_months(
    services: Callable[..., infra.ServiceProcess],
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    tmp_path: Path,
) -> None:
    events = services("events", f"sqlite:///{tmp_path}/events.db")
    office = backoffice(EVENTS_URL=events.url)
    year = business_today().year
    planned = events.client().post(
        "/sessions",
        json={
            "kind": "training_multiday",
            "title": "Winteropleiding",
            "theme": "Digitale basis",
            "lead": "mediawijs",
            "format": "online",
            "starts_at": f"{year}-12-30T09:00",
            "ends_at": f"{year + 1}-01-02T17:00",
            "planned_hours": 20,
        },
    )
    assert planned.status_code == 201, planned.text
    page = browser.new_context(locale="nl-BE").new_page()
    sign_in(page, office.url, "vic.viewer", f"/activiteiten/kalender?maand={year}-12")
    december = page.locator("table.calendar td", has=page.get_by_role("link", name="09:00 Winteropleiding"))
    assert [cell.locator("strong").inner_text() for cell in december.all()] == ["30", "31"]
    page.get_by_role("link", name="Volgende maand").click()
    assert page.locator("h1").inner_text() == f"Kalender januari {year + 1}"
    january = page.locator("table.calendar td", has=page.get_by_role("link", name="09:00 Winteropleiding"))
    assert [cell.locator("strong").inner_text() for cell in january.all()] == ["1", "2"]
    accessible(page, "kalender over de jaarwisseling")
    page.goto(f"{office.url}/activiteiten/kalender?maand={year + 1}-02")
    assert page.get_by_role("link", name="09:00 Winteropleiding").count() == 0
