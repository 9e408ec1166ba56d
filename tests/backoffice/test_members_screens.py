"""The Leden en organisaties screens over HTTP, against the real members service (Kafka, SQLite and
PostgreSQL): the lists filtered by kind, municipality and membership on a date; a member's history
after moving, leaving, rejoining and knowledge sharing; the import of a member list with a preview that
writes nothing and a confirm that writes what the preview showed; the XLSX export with its cells
escaped; a person's data export and, for admins only and after confirming, the erasure. Every refusal
(no CSRF token, a role that may not, a bad or hostile file, a tampered preview) changes nothing.

The back office runs in this process; the person is signed in with a session cookie sealed with the
back office's key, the cookie the OIDC sign-in gives (tests/backoffice/test_browser.py signs in
through Keycloak itself; so does the browser test at the end)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook, load_workbook

from services.backoffice.app import build
from services.backoffice.session import SESSION_COOKIE, StaffSession, cookie_key
from services.backoffice.settings import BackofficeSettings
from shared.auth import Role
from shared.clock import business_today
from tests import infra, member_files

pytestmark = pytest.mark.e2e

KEY = cookie_key(infra.AUTH_SECRET, "session")
HEADER = "Voornaam;Naam;E-mailadres;Organisatie;Soort organisatie;NIS-code;Lid sinds\n"


class Office:
    """The back office in this process, talking to the real services."""

    def __init__(self, settings: BackofficeSettings) -> None:
        self.app = build(settings)

    def as_(self, role: Role, subject: str = "") -> tuple[TestClient, str]:
        """A client signed in with `role`, and the CSRF token of its session."""
        staff = StaffSession.new(subject or f"{role}@vvsg.be", role.capitalize(), role, 30)
        client = TestClient(self.app, base_url="http://127.0.0.1", follow_redirects=False)
        client.cookies.set(SESSION_COOKIE, staff.seal(KEY))
        return client, staff.csrf


def office_for(members: infra.ServiceProcess, **settings: Any) -> Office:
    closed = f"http://127.0.0.1:{infra.free_port()}"  # nothing listens there
    values: dict[str, Any] = {
        "auth_secret": infra.AUTH_SECRET,
        "oidc_issuer": "",
        "members_url": members.url,
        "events_url": closed,
        "feedback_url": closed,
        "newsletter_url": closed,
        "kpi_url": closed,
        **settings,
    }
    return Office(BackofficeSettings(**values))


def organisation(api: httpx.Client, name: str, kind: str, nis_code: str | None = None) -> str:
    body = {"name": name, "kind": kind} | ({"nis_code": nis_code} if nis_code else {})
    made = api.post("/organisations", json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def member(api: httpx.Client, first: str, last: str, organisation_id: str, joined_on: str) -> str:
    body = {
        "first_name": first,
        "last_name": last,
        "email": f"{first}.{last}@example.be".lower(),
        "organisation_id": organisation_id,
        "joined_on": joined_on,
    }
    made = api.post("/members", json=body)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def names_listed(page: httpx.Response) -> list[str]:
    assert page.status_code == 200, page.text
    return re.findall(r'<a href="/leden/[0-9a-f-]{36}">([^<]+)</a>', page.text)


def sheet(content: bytes) -> list[tuple[Any, ...]]:
    """The rows of the first sheet of an XLSX download."""
    first = load_workbook(io.BytesIO(content)).active
    assert first is not None
    return list(first.iter_rows(values_only=True))


def total(api: httpx.Client) -> int:
    return int(api.get("/members", params={"state": "all"}).json()["total"])


@pytest.fixture
def members(services: Callable[..., infra.ServiceProcess], tmp_path: Path) -> infra.ServiceProcess:
    return services("members", f"sqlite:///{tmp_path}/members.db")


# --- lists and history ----------------------------------------------------------------------------


def test_the_lists_filter_by_kind_municipality_and_membership_on_a_date(
    services: Callable[..., infra.ServiceProcess], database_url: str
) -> None:
    service = services("members", database_url)
    api = service.client()
    zemst = organisation(api, "Gemeente Zemst", "lokaal_bestuur", "23096")
    mediawijs = organisation(api, "Mediawijs", "middenveldorganisatie")
    an = member(api, "An", "Peeters", zemst, "2024-01-10")
    member(api, "Bart", "Claes", mediawijs, "2024-03-01")
    assert api.post(f"/members/{an}/leave", json={"left_on": "2024-06-30"}).status_code == 200
    assert api.post(f"/members/{an}/rejoin", json={"joined_on": "2025-01-01"}).status_code == 200
    cas = member(api, "Cas", "Wouters", mediawijs, "2024-07-01")
    assert api.post(f"/members/{cas}/erase").status_code == 200  # a member until today, then no more
    client, _ = office_for(service).as_("staff")

    assert names_listed(client.get("/leden", params={"kind": "lokaal_bestuur"})) == ["An Peeters"]
    assert names_listed(client.get("/leden", params={"nis_code": "23096"})) == ["An Peeters"]
    # An left in June 2024 and came back in 2025: her first spell counts, and the gap does not
    assert names_listed(client.get("/leden", params={"active_on": "2024-02-01"})) == ["An Peeters"]
    on_1_august = names_listed(client.get("/leden", params={"active_on": "2024-08-01"}))
    assert on_1_august == ["(gewist) (gewist)", "Bart Claes"]
    assert names_listed(client.get("/leden", params={"active_on": "2025-02-01"})) == [
        "(gewist) (gewist)",
        "Bart Claes",
        "An Peeters",
    ]
    today = business_today().isoformat()
    assert names_listed(client.get("/leden", params={"active_on": today})) == ["Bart Claes", "An Peeters"]
    assert names_listed(client.get("/leden", params={"active_on": "2023-12-31"})) == []

    wrong = client.get("/leden", params={"nis_code": "230", "active_on": "31/02/2024"})
    assert wrong.status_code == 422
    assert 'id="fout-nis_code">Een NIS-code bestaat uit 5 cijfers.' in wrong.text
    assert 'id="fout-active_on">Geef een geldige datum.' in wrong.text

    listed = client.get("/organisaties", params={"nis_code": "23096"})
    assert re.findall(r'<a href="/organisaties/[0-9a-f-]{36}">([^<]+)</a>', listed.text) == ["Gemeente Zemst"]
    listed = client.get("/organisaties", params={"kind": "middenveldorganisatie"})
    assert re.findall(r'<a href="/organisaties/[0-9a-f-]{36}">([^<]+)</a>', listed.text) == ["Mediawijs"]


def test_the_member_page_tells_the_history_of_what_staff_did_on_it(members: infra.ServiceProcess) -> None:
    api = members.client()
    zemst = organisation(api, "Gemeente Zemst", "lokaal_bestuur")
    lier = organisation(api, "Stad Lier", "lokaal_bestuur")
    an = member(api, "An", "Peeters", zemst, "2024-01-10")
    client, csrf = office_for(members).as_("staff", "sam@vvsg.be")

    steps = [
        ("verhuizen", {"organisation_id": lier, "moved_on": "2024-03-01"}),
        ("kennisdeling-starten", {"knowledge_on": "2024-04-01"}),
        ("kennisdeling-stoppen", {"knowledge_on": "2024-05-01"}),
        ("vertrekken", {"left_on": "2024-06-30"}),
        ("terugkeren", {"joined_on": "2025-01-01"}),
    ]
    for action, form in steps:
        done = client.post(f"/leden/{an}/{action}", data={**form, "csrf": csrf})
        assert done.status_code == 303, (action, done.text)
    # a date before joining is refused next to the field, and changes nothing
    refused = client.post(
        f"/leden/{an}/kennisdeling-starten", data={"knowledge_on": "2024-12-01", "csrf": csrf}
    )
    assert refused.status_code == 422
    assert 'id="fout-knowledge_on"' in refused.text
    assert api.get(f"/members/{an}").json()["in_knowledge_sharing"] is False

    page = client.get(f"/leden/{an}")
    assert page.status_code == 200
    history = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", page.text.split('id="geschiedenis"')[1]))
    expected = [
        "10 januari 2024: lid geworden bij Gemeente Zemst",
        "1 maart 2024: verhuisd van Gemeente Zemst naar Stad Lier",
        "1 april 2024: begonnen met kennisdeling",
        "1 mei 2024: gestopt met kennisdeling",
        "30 juni 2024: vertrokken bij Stad Lier",
        "1 januari 2025: lid geworden bij Stad Lier",
    ]
    positions = [history.index(line) for line in expected]
    assert positions == sorted(positions)
    assert "ingevoerd door sam@vvsg.be" in history

    # no CSRF token, and a viewer: refused, nothing changed
    before = api.get(f"/members/{an}").json()
    assert client.post(f"/leden/{an}/vertrekken", data={"left_on": "2025-02-01"}).status_code == 403
    viewer, viewer_csrf = office_for(members).as_("viewer")
    refused_role = viewer.post(f"/leden/{an}/vertrekken", data={"left_on": "2025-02-01", "csrf": viewer_csrf})
    assert refused_role.status_code == 403
    assert api.get(f"/members/{an}").json() == before


# --- import ---------------------------------------------------------------------------------------


def csv_file(*rows: str) -> bytes:
    return (HEADER + "".join(row + "\n" for row in rows)).encode()


def upload(client: TestClient, csrf: str | None, name: str, content: bytes) -> httpx.Response:
    data = {"csrf": csrf} if csrf is not None else {}
    return client.post("/leden/importeren", data=data, files={"bestand": (name, content, "text/csv")})


def plan_of(preview: httpx.Response) -> str:
    found = re.search(r'name="plan" value="([^"]+)"', preview.text)
    assert found is not None, preview.text
    return found.group(1)


def verdicts_of(page: httpx.Response) -> dict[str, str]:
    """Row number → the verdict and its reason, as the table shows them."""
    rows = re.findall(r"<tr><td>(\d+)</td><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page.text)
    return {number: f"{verdict} | {detail}" for number, verdict, detail in rows}


def test_an_import_shows_each_rows_verdict_writes_nothing_and_then_imports_what_it_showed(
    members: infra.ServiceProcess,
) -> None:
    api = members.client()
    zemst = organisation(api, "Gemeente Zemst", "lokaal_bestuur", "23096")
    member(api, "An", "Peeters", zemst, "2024-01-10")
    client, csrf = office_for(members).as_("staff")
    assert client.get("/leden/importeren").status_code == 200
    content = csv_file(
        "Bart;Claes;bart.claes@example.be;Gemeente Zemst;;;12/02/2024",  # 2: new
        "An;Peeters;an.peeters@example.be;Gemeente Zemst;;;",  # 3: exists already, the same
        "Cor;Smet;cor@example.be;Gemeente Kampenhout;gemeente;23094;",  # 4: new, new organisation
        "Dirk;Wouters;niet-een-adres;Gemeente Zemst;;;",  # 5: bad e-mail address
        '=HYPERLINK("http://x");Janssens;eva@example.be;Gemeente Zemst;;;',  # 6: a formula
        "Bart;Claes;bart.claes@example.be;Gemeente Zemst;;;",  # 7: twice in the file
        "Fien;Maes;fien@example.be;Onbekende vzw;;;",  # 8: new organisation without its kind
    )
    preview = upload(client, csrf, "leden.csv", content)
    assert preview.status_code == 200, preview.text
    verdicts = verdicts_of(preview)
    assert verdicts["2"].startswith("wordt aangemaakt")
    assert verdicts["3"].startswith("bestaat al – niets te doen")
    assert verdicts["4"] == "wordt aangemaakt | nieuwe organisatie Gemeente Kampenhout"
    assert verdicts["5"].startswith("fout – wordt niet ingevoerd | ongeldig e-mailadres")
    assert "zou in een rekenblad een formule worden" in verdicts["6"]
    assert "staat al op rij 2 van dit bestand" in verdicts["7"]
    assert "soort organisatie ontbreekt voor nieuwe organisatie Onbekende vzw" in verdicts["8"]
    assert "Bevestigen en 2 rijen invoeren" in preview.text
    assert total(api) == 1  # the preview wrote nothing
    assert api.get("/organisations").json()["total"] == 1

    done = client.post("/leden/importeren/bevestigen", data={"csrf": csrf, "plan": plan_of(preview)})
    assert done.status_code == 200, done.text
    result = verdicts_of(done)
    assert result["2"].startswith("aangemaakt") and result["4"].startswith("aangemaakt")
    assert result["5"].startswith("fout")
    people = {p["email"]: p for p in api.get("/members", params={"state": "all"}).json()["items"]}
    assert sorted(people) == ["an.peeters@example.be", "bart.claes@example.be", "cor@example.be"]
    assert people["bart.claes@example.be"]["joined_on"] == "2024-02-12"

    # the same list again: nothing left to do, and no confirm button
    again = upload(client, csrf, "leden.csv", content)
    assert "Er is niets in te voeren." in again.text
    assert 'name="plan"' not in again.text


def test_an_xlsx_list_is_previewed_too(members: infra.ServiceProcess, tmp_path: Path) -> None:
    organisation(members.client(), "Gemeente Zemst", "lokaal_bestuur")
    client, csrf = office_for(members).as_("staff")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(member_files.HEADER)
    sheet.append(member_files.GOOD_ROW)
    sheet.append(["Bo", "Vos\x9b", "bo@zemst.be", "Gemeente Zemst", "gemeente"])
    # a real formula: only its cached result is read, and openpyxl saves none, so the name is missing
    sheet.append(['=CONCAT("A","n")', "Maes", "an.maes@zemst.be", "Gemeente Zemst", "gemeente"])
    out = io.BytesIO()
    book.save(out)
    preview = client.post(
        "/leden/importeren",
        data={"csrf": csrf},
        files={"bestand": ("leden.xlsx", out.getvalue(), "application/octet-stream")},
    )
    assert preview.status_code == 200, preview.text
    verdicts = verdicts_of(preview)
    assert verdicts["2"].startswith("wordt aangemaakt")
    assert "bevat een stuurteken (U+009B)" in verdicts["3"]
    assert verdicts["4"].startswith("fout") and "voornaam en naam zijn nodig" in verdicts["4"]
    assert total(members.client()) == 0


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("binair.csv", "geen CSV- of Excel-bestand"),
        ("leugenaar.xlsx", "beschadigd of onvolledig"),
        ("oud.xls", "oude formaat (.xls)"),
        ("unicode.csv", "UTF-16"),
        ("lang-veld.csv", "een cel met 50.000 tekens"),
        ("zonder-kopjes.csv", "niet gevonden: E-mailadres, Voornaam, Naam, Organisatie"),
        ("leeg.csv", "leeg"),
    ],
)
def test_a_file_that_is_no_member_list_is_refused_with_the_reason(
    members: infra.ServiceProcess, tmp_path: Path, name: str, says: str
) -> None:
    make, _ = member_files.BROKEN_FILES[name]
    content = make(tmp_path / name).read_bytes()
    client, csrf = office_for(members).as_("staff")
    refused = upload(client, csrf, name, content)
    assert refused.status_code == 422
    message = re.search(r'id="fout-bestand">([^<]+)<', refused.text)
    assert message is not None and says in message.group(1)
    assert 'name="plan"' not in refused.text
    assert total(members.client()) == 0


def test_an_import_without_its_token_by_a_viewer_too_large_or_with_a_tampered_preview_changes_nothing(
    members: infra.ServiceProcess,
) -> None:
    api = members.client()
    organisation(api, "Gemeente Zemst", "lokaal_bestuur")
    office = office_for(members, max_body_bytes=100_000)
    client, csrf = office.as_("staff")
    good = csv_file("Bart;Claes;bart@example.be;Gemeente Zemst;;;")

    assert upload(client, None, "leden.csv", good).status_code == 403
    assert upload(client, "not-the-token", "leden.csv", good).status_code == 403
    viewer, viewer_csrf = office.as_("viewer")
    assert viewer.get("/leden/importeren").status_code == 403
    assert upload(viewer, viewer_csrf, "leden.csv", good).status_code == 403
    partner, partner_csrf = office.as_("partner")
    assert upload(partner, partner_csrf, "leden.csv", good).status_code == 403
    anonymous = TestClient(office.app, base_url="http://127.0.0.1", follow_redirects=False)
    assert anonymous.post("/leden/importeren", files={"bestand": ("l.csv", good)}).status_code == 401

    huge = upload(client, csrf, "leden.csv", good + b"x" * 150_000)
    assert huge.status_code == 422
    assert "Het bestand is te groot" in huge.text

    preview = upload(client, csrf, "leden.csv", good)
    plan = plan_of(preview)
    blob, signature = plan.split(".")
    tampered = blob[:-4] + ("AAAA" if blob[-4:] != "AAAA" else "BBBB") + "." + signature
    for forged in (tampered, "", "x.y"):
        refused = client.post("/leden/importeren/bevestigen", data={"csrf": csrf, "plan": forged})
        assert refused.status_code == 422
        assert "verlopen of hoort niet bij deze sessie" in refused.text
    # another person's preview does not import in this session either
    other, other_csrf = office.as_("staff", "iemand.anders@vvsg.be")
    assert (
        other.post("/leden/importeren/bevestigen", data={"csrf": other_csrf, "plan": plan}).status_code == 422
    )
    # the right preview without the token, or by a viewer
    assert client.post("/leden/importeren/bevestigen", data={"plan": plan}).status_code == 403
    assert (
        viewer.post("/leden/importeren/bevestigen", data={"csrf": viewer_csrf, "plan": plan}).status_code
        == 403
    )
    assert total(api) == 0

    assert client.post("/leden/importeren/bevestigen", data={"csrf": csrf, "plan": plan}).status_code == 200
    assert total(api) == 1


# --- export ---------------------------------------------------------------------------------------


def test_the_list_exports_to_xlsx_as_filtered_and_no_cell_runs_as_a_formula(
    members: infra.ServiceProcess,
) -> None:
    api = members.client()
    zemst = organisation(api, "Gemeente Zemst", "lokaal_bestuur", "23096")
    hostile = organisation(api, "=cmd|' /C calc'!A0", "andere")
    member(api, "An", "Peeters", zemst, "2024-01-10")
    made = api.post(
        "/members",
        json={
            "first_name": "@SUM(1+1)",
            "last_name": "+Janssens",
            "email": "x@example.be",
            "organisation_id": hostile,
        },
    )
    assert made.status_code == 201, made.text
    client, _ = office_for(members).as_("staff")

    exported = client.get("/leden/export.xlsx", params={"state": "all"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in exported.headers["content-disposition"]
    rows = sheet(exported.content)
    assert rows[0][:5] == ("Voornaam", "Familienaam", "E-mailadres", "Telefoon", "Organisatie")
    assert len(rows) == 3
    hostile_row = next(row for row in rows if row[2] == "x@example.be")
    assert hostile_row[:2] == ("'@SUM(1+1)", "'+Janssens")
    assert hostile_row[4] == "'=cmd|' /C calc'!A0"
    assert all(not str(cell).startswith(("=", "+", "-", "@")) for row in rows for cell in row if cell)

    only_zemst = client.get("/leden/export.xlsx", params={"nis_code": "23096"})
    rows = sheet(only_zemst.content)
    assert [row[2] for row in rows[1:]] == ["an.peeters@example.be"]
    assert rows[1][7] is not None and rows[1][7].date().isoformat() == "2024-01-10"  # a date, not text

    organisations = client.get("/organisaties/export.xlsx")
    rows = sheet(organisations.content)
    assert sorted(row[0] for row in rows[1:]) == ["'=cmd|' /C calc'!A0", "Gemeente Zemst"]

    roles: tuple[Role, ...] = ("viewer", "partner")
    for role in roles:
        refused, _ = office_for(members).as_(role)
        assert refused.get("/leden/export.xlsx").status_code == 403


# --- a person's data: export and erasure ----------------------------------------------------------


def test_staff_export_a_persons_data_and_only_an_admin_erases_it_after_confirming(
    members: infra.ServiceProcess,
) -> None:
    api = members.client()
    zemst = organisation(api, "Gemeente Zemst", "lokaal_bestuur")
    an = member(api, "An", "Peeters", zemst, "2024-01-10")
    office = office_for(members)
    staff, staff_csrf = office.as_("staff")

    exported = staff.get(f"/leden/{an}/gegevens.json")
    assert exported.status_code == 200
    assert exported.headers["content-disposition"] == f'attachment; filename="gegevens-{an}.json"'
    document = json.loads(exported.content)
    assert document["services"]["members"]["member"]["email"] == "an.peeters@example.be"
    # a service that does not answer is named, not left out
    assert document["services"]["events"]["unavailable"] is True
    viewer, _ = office.as_("viewer")
    assert viewer.get(f"/leden/{an}/gegevens.json").status_code == 403
    assert staff.get("/leden/00000000-0000-0000-0000-000000000000/gegevens.json").status_code == 404

    # staff may not erase: no link, no confirmation page, and a post is refused
    assert "/wissen" not in staff.get(f"/leden/{an}").text
    assert staff.get(f"/leden/{an}/wissen").status_code == 403
    assert staff.post(f"/leden/{an}/wissen", data={"csrf": staff_csrf, "bevestigd": "ja"}).status_code == 403

    admin, admin_csrf = office.as_("admin")
    assert f'href="/leden/{an}/wissen"' in admin.get(f"/leden/{an}").text
    confirmation = admin.get(f"/leden/{an}/wissen")
    assert confirmation.status_code == 200
    assert "niet ongedaan" in confirmation.text and "An Peeters" in confirmation.text
    assert admin.post(f"/leden/{an}/wissen", data={"bevestigd": "ja"}).status_code == 403  # no token
    unconfirmed = admin.post(f"/leden/{an}/wissen", data={"csrf": admin_csrf})
    assert unconfirmed.status_code == 422
    assert 'id="fout-bevestigd"' in unconfirmed.text
    assert api.get(f"/members/{an}").json()["erased_on"] is None  # nothing erased so far

    erased = admin.post(f"/leden/{an}/wissen", data={"csrf": admin_csrf, "bevestigd": "ja"})
    assert erased.status_code == 303
    assert erased.headers["location"] == f"/leden/{an}?bewaard=gewist"
    after = api.get(f"/members/{an}").json()
    assert after["erased_on"] is not None and "peeters" not in after["email"]
    page = admin.get(erased.headers["location"])
    assert "zijn gewist" in page.text and "Peeters" not in page.text
    assert "persoonsgegevens gewist" in page.text  # in the history


# --- in the browser -------------------------------------------------------------------------------


@pytest.mark.browser
def test_the_new_member_screens_pass_axe_core_in_chromium(
    members: infra.ServiceProcess,
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
    tmp_path: Path,
) -> None:
    from tests.backoffice.test_browser import accessible, keep, sign_in

    api = members.client()
    zemst = organisation(api, "Gemeente Zemst", "lokaal_bestuur", "23096")
    lier = organisation(api, "Stad Lier", "lokaal_bestuur", "12021")
    an = member(api, "An", "Peeters", zemst, "2024-01-10")
    moved = api.post(f"/members/{an}/move", json={"organisation_id": lier, "moved_on": "2024-03-01"})
    assert moved.status_code == 200
    office = backoffice(MEMBERS_URL=members.url)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    sign_in(page, office.url, "an.admin", "/leden?kind=lokaal_bestuur&active_on=2024-06-01")
    assert page.locator("table").inner_text().count("An Peeters") == 1
    accessible(page, "leden gefilterd")
    page.get_by_label("Gemeente (NIS-code)").fill("230")
    page.get_by_role("button", name="Zoeken").click()
    assert page.locator("#fout-nis_code").inner_text() == "Een NIS-code bestaat uit 5 cijfers."
    accessible(page, "leden met een fout in de filter")

    page.goto(f"{office.url}/leden/{an}")
    assert "verhuisd van Gemeente Zemst naar Stad Lier" in page.locator("ol").inner_text()
    accessible(page, "lid met geschiedenis")
    keep(page, artefacts, "lid-geschiedenis")

    page.goto(f"{office.url}/leden/importeren")
    accessible(page, "ledenlijst importeren")
    page.get_by_role("button", name="Voorvertoning tonen").click()  # no file chosen
    assert "Kies eerst een bestand" in page.locator("#fout-bestand").inner_text()
    accessible(page, "importeren zonder bestand")
    listed = tmp_path / "leden.csv"
    listed.write_bytes(
        csv_file(
            "Bart;Claes;bart@example.be;Stad Lier;;;",
            "Cor;Smet;geen-adres;Stad Lier;;;",
        )
    )
    page.get_by_label("Bestand (verplicht)").set_input_files(str(listed))
    page.get_by_role("button", name="Voorvertoning tonen").click()
    assert page.locator("h1").inner_text() == "Voorvertoning van de import"
    accessible(page, "voorvertoning van de import")
    keep(page, artefacts, "import-voorvertoning")
    assert total(api) == 1
    page.get_by_role("button", name="Bevestigen en 1 rij invoeren").click()
    assert page.locator("h1").inner_text() == "Import uitgevoerd"
    accessible(page, "import uitgevoerd")
    assert total(api) == 2

    page.goto(f"{office.url}/leden/{an}/wissen")
    accessible(page, "wissen bevestigen")
    page.get_by_role("button", name="Definitief wissen").click()  # not ticked: nothing erased
    assert page.locator("#fout-bevestigd").is_visible()
    accessible(page, "wissen zonder bevestiging")
    keep(page, artefacts, "wissen-bevestigen")
    assert api.get(f"/members/{an}").json()["erased_on"] is None
    page.get_by_label("Ik begrijp dat dit niet ongedaan kan worden").check()
    page.get_by_role("button", name="Definitief wissen").click()
    assert "zijn gewist" in page.get_by_role("status").inner_text()
    assert api.get(f"/members/{an}").json()["erased_on"] is not None
