"""A staff member's week, end to end, in Debian's Chromium (issue 15's first "Done when"): signed in
through Keycloak, against the five services as processes on Kafka and an SMTP server started here.
She adds an organisation and its members, plans a session of three seats, registers four people (one
waits), cancels one (the waiting one moves up, on the screen), ticks attendance, marks it held, finds
the feedback invitations in the mail, answers one through the link in it, sees the KPI change on the
dashboard, writes and sends a newsletter (it arrives) and freezes the year behind its confirmation.

Every step goes through the screens; the services' APIs are only read, to check what the screens
did. Every screen visited passes axe-core (no serious or critical violation) and is kept as a
screenshot at 1280 and 390 px wide under test-output/backoffice/staff-week/ (gitignored)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.clock import business_today
from tests import infra
from tests.backoffice.test_browser import accessible, keep, sign_in
from tests.infra import wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

ORGANISATION = "Gemeente Zoersel"
# (first name, last name, newsletter consent): the first three get a seat, Tom waits
PEOPLE = (
    ("Lotte", "Peeters", True),
    ("Jan", "Janssens", True),
    ("Ann", "Maes", False),
    ("Tom", "Claes", False),
)
TITLE = "Digitale drempels in het OCMW"
INVITATION = f"Wat vond je van {TITLE}?"
LINK = re.compile(r"https?://[^\s<>\"]+/feedback/[A-Za-z0-9._~-]+")


def email_of(first: str, last: str) -> str:
    return f"{first.lower()}.{last.lower()}@zoersel.be"


@pytest.fixture
def mail() -> Iterator[MailCatcher]:
    catcher = MailCatcher().start()
    try:
        yield catcher
    finally:
        catcher.stop()


@pytest.fixture
def week(
    services: Callable[..., infra.ServiceProcess], mail: MailCatcher, tmp_path: Path
) -> dict[str, infra.ServiceProcess]:
    """The five services on this test's topics; the newsletter service mails to the catcher and links
    its invitations to the feedback service's own pages."""

    def start(name: str, **env: str) -> infra.ServiceProcess:
        return services(name, f"sqlite:///{tmp_path}/{name}.db", **env)

    with ThreadPoolExecutor(2) as pool:  # two start-ups at once: this machine's two cores
        first = {name: pool.submit(start, name) for name in ("members", "events", "feedback", "kpi")}
        running = {name: future.result() for name, future in first.items()}
    running["newsletter"] = start(
        "newsletter",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(mail.port),
        FEEDBACK_PUBLIC_URL=running["feedback"].url,
        NEWSLETTER_POLL_SECONDS="0.3",
        NEWSLETTER_RETRY_SECONDS="0.2",
        NEWSLETTER_RETRY_MAX_SECONDS="0.5",
    )
    return running


class Visit:
    """Each screen visited: axe-core first (no serious or critical violation), then the screenshots."""

    def __init__(self, page: Any, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.seen: list[str] = []

    def __call__(self, name: str) -> None:
        accessible(self.page, name)
        keep(self.page, self.folder, f"{len(self.seen) + 1:02d}-{name.replace(' ', '-')}")
        self.seen.append(name)


def kpi_value(page: Any, code: str) -> str:
    """The dashboard's value of one KPI (its third cell), found by its code in the first cell; the
    no-break space between a figure and its unit read as a space."""
    code_cell = page.locator("td", has_text=re.compile(f"^{re.escape(code)}$"))
    value = page.locator("tbody tr", has=code_cell).locator("td").nth(2).inner_text()
    return str(value).replace("\u00a0", " ")


def dashboard_shows(page: Any, code: str, value: str, timeout: float = 60) -> None:
    """Reload the dashboard until the KPI shows the value: the KPI service learns it from Kafka."""

    def shown() -> bool:
        page.reload()
        return kpi_value(page, code) == value

    wait_until(shown, timeout, 0.5, f"{code} to show {value} (last: {kpi_value(page, code)})")


def test_a_staff_members_week_from_sign_in_to_the_frozen_year(
    week: dict[str, infra.ServiceProcess],
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
    mail: MailCatcher,
) -> None:
    office = backoffice(
        **{f"{name.upper()}_URL": service.url for name, service in week.items()},
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(mail.port),
    )
    folder = artefacts / "staff-week"
    folder.mkdir(exist_ok=True)
    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    visit = Visit(page, folder)
    year = business_today().year

    # Monday: signing in through the provider, an organisation and its people
    sign_in(page, office.url, "sam.staff")
    assert page.locator("h1").inner_text().startswith("Welkom")
    visit("overzicht")
    page.goto(f"{office.url}/organisaties/nieuw")
    visit("organisatie toevoegen")
    page.get_by_label("Naam (verplicht)").fill(ORGANISATION)
    page.get_by_label("Soort (verplicht)").select_option("lokaal_bestuur")
    page.get_by_label("NIS-code").fill("11055")
    page.get_by_role("button", name="Bewaren").click()
    assert page.locator("h1").inner_text() == ORGANISATION
    visit("organisatie")
    organisation_page = page.url
    for first, last, consent in PEOPLE:
        page.goto(organisation_page)
        page.get_by_role("link", name="Lid toevoegen").click()
        page.get_by_label("Voornaam (verplicht)").fill(first)
        page.get_by_label("Familienaam (verplicht)").fill(last)
        page.get_by_label("E-mailadres (verplicht)").fill(email_of(first, last))
        if consent:
            page.locator("#veld-newsletter_consent").check()
        if first == "Lotte":
            visit("lid toevoegen")
        page.get_by_role("button", name="Bewaren").click()
        assert page.locator("h1").inner_text() == f"{first} {last}"
    visit("lid")
    page.goto(f"{office.url}/leden")
    assert page.locator("tbody tr", has_text=ORGANISATION).count() == len(PEOPLE)
    visit("leden")
    page.goto(f"{office.url}/organisaties")
    visit("organisaties")
    members = week["members"].client().get("/members", params={"q": "zoersel"}).json()
    assert members["total"] == len(PEOPLE)

    # Tuesday: a session of three seats yesterday, four people for it
    yesterday = business_today() - timedelta(days=1)
    page.goto(f"{office.url}/activiteiten/nieuw")
    visit("sessie plannen")
    page.get_by_label("Soort (verplicht)").select_option(label="Infosessie")
    page.get_by_label("Titel (verplicht)").fill(TITLE)
    page.get_by_label("Thema (verplicht)").fill("Toegankelijkheid")
    page.get_by_label("Plaats", exact=True).fill("Gemeentehuis Zoersel")
    page.get_by_label("Begint op (verplicht)").fill(f"{yesterday}T09:30")
    page.get_by_label("Eindigt op (verplicht)").fill(f"{yesterday}T12:00")
    page.get_by_label("Aantal plaatsen").fill("3")
    page.get_by_role("button", name="Plannen").click()
    assert page.locator("h1").inner_text() == TITLE
    assert page.locator("dt:text-is('Plaatsen') + dd").inner_text() == "3"
    session_id = page.url.split("/activiteiten/")[1].split("?")[0]
    detail = f"{office.url}/activiteiten/{session_id}"
    for first, last, _ in PEOPLE:
        page.goto(f"{detail}?zoek={last}")
        page.get_by_role("button", name=f"{first} {last} inschrijven").click()
    assert "wachtlijst" in page.get_by_role("status").inner_text()
    assert page.locator("ol.waiting li").count() == 1
    assert "Tom Claes" in page.locator("ol.waiting").inner_text()
    visit("sessie met wachtlijst")

    # Wednesday: Lotte cannot come; Tom moves up, and the screen says so
    page.get_by_role("button", name="Inschrijving van Lotte Peeters annuleren").click()
    assert "Van de wachtlijst kreeg een plaats: Tom Claes." in page.get_by_role("status").inner_text()
    seated = page.locator("table").first
    assert "Tom Claes" in seated.inner_text() and "Lotte Peeters" not in seated.inner_text()
    assert seated.locator("tr", has_text="Tom Claes").locator(".badge").inner_text() == "van de wachtlijst"
    assert page.get_by_text("Niemand wacht op een plaats.").count() == 1
    visit("sessie na annulering")
    events = week["events"].client()
    listed = events.get(f"/sessions/{session_id}").json()
    assert (listed["registered"], listed["waitlisted"]) == (3, 0)

    # Thursday: attendance (all three seated came, prefilled hours) and the session held
    page.get_by_role("link", name="Aanwezigheid invullen").click()
    visit("aanwezigheid")
    for name in ("Jan Janssens", "Ann Maes", "Tom Claes"):
        assert page.get_by_label(f"uren – {name}").input_value() == "2,5"
        page.get_by_label(f"aanwezig – {name}").check()
    page.get_by_role("button", name="Aanwezigheid bewaren").click()
    assert page.get_by_role("status").inner_text() == "De aanwezigheid is bewaard (3 wijzigingen)."
    page.get_by_role("link", name="Terug naar de sessie").click()
    page.get_by_role("button", name="Gehouden").click()
    facts = page.locator("dl.facts").inner_text()
    assert "gehouden op" in facts and "3 (7,5 deelnemersuren)" in facts
    visit("gehouden sessie")
    assert events.get(f"/sessions/{session_id}").json()["status"] == "held"
    page.goto(f"{office.url}/activiteiten")
    assert TITLE in page.locator("tbody").inner_text()
    visit("activiteiten")
    page.goto(f"{office.url}/activiteiten/kalender?maand={yesterday:%Y-%m}")
    assert page.get_by_role("link", name=f"09:30 {TITLE}").count() == 1
    visit("kalender")

    # the feedback invitations reach the three who came, none the one who cancelled
    attendees = [email_of(first, last) for first, last, _ in PEOPLE[1:]]
    invitations = {address: mail.wait_for(address, timeout=60)[0] for address in attendees}
    assert {m.message["Subject"] for m in invitations.values()} == {INVITATION}
    assert not [m for m in mail.to(email_of("Lotte", "Peeters")) if m.message["Subject"] == INVITATION]
    page.goto(f"{office.url}/feedback?jaar={year}")
    row = page.locator("tbody tr", has_text=TITLE)

    def listed_held() -> bool:  # the feedback service learns the session from Kafka
        page.reload()
        return bool(row.count() == 1)

    wait_until(listed_held, 30, 0.5, "the held session on the feedback screen")
    visit("feedback")
    row.get_by_role("link").click()
    feedback_screen = page.url
    assert page.locator("#antwoorden").inner_text().startswith("0")
    assert "3 deelnemers" in page.locator("dl.facts").inner_text()
    visit("feedback van de sessie")

    # the dashboard before anyone answers: three asked, nobody answered yet
    page.goto(f"{office.url}/kpi")
    assert page.locator("h1").inner_text() == f"KPI's {year}"

    dashboard_shows(page, "feedback-gevraagd", "100 %")  # the one session held was asked
    dashboard_shows(page, "feedback-respons", "0 %")
    assert kpi_value(page, "feedback-tevredenheid") != "5"
    assert kpi_value(page, "OD1.3-nieuwsbrieven") == "0 nieuwsbrieven"
    assert kpi_value(page, "OD1.2-deelnemersuren") == "7,5 uur"
    visit("kpi")

    # Jan answers through the link in his mail, in his own browser on a phone
    (link,) = LINK.findall(invitations[email_of("Jan", "Janssens")].part("plain"))
    assert link.startswith(week["feedback"].url)
    phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="nl-BE").new_page()
    phone.goto(link)
    accessible(phone, "feedbackformulier")
    keep(phone, folder, "feedbackformulier")
    answers = {
        "Hoe tevreden ben je over deze activiteit?": "5 heel tevreden",
        "Hoe nuttig was deze activiteit voor je werk?": "4 nuttig",
        "Ik ben gemotiveerd om met digitale inclusie aan de slag te gaan.": "5 helemaal akkoord",
        "Ik kan zelf acties rond digitale inclusie realiseren.": "4 akkoord",
    }
    for question, choice in answers.items():
        phone.get_by_role("radiogroup", name=question).get_by_role("radio", name=choice).check()
    phone.get_by_label("Wil je nog iets kwijt? (niet verplicht)").fill("Heel leerrijk, dank je!")
    with phone.expect_navigation():
        phone.get_by_role("button", name="Verstuur mijn feedback").click()
    assert phone.get_by_role("heading", level=1).inner_text() == "Bedankt voor je feedback!"
    accessible(phone, "feedback bedankt")
    phone.context.close()

    # Friday: the dashboard shows the answer (one of three), and the session's feedback too
    dashboard_shows(page, "feedback-respons", "33,3 %")
    assert kpi_value(page, "feedback-tevredenheid") == "5"
    visit("kpi na antwoord")
    page.goto(feedback_screen)
    assert "1 (1 via de link, 0 op papier)" in page.locator("#antwoorden").inner_text()
    assert "Heel leerrijk, dank je!" in page.locator("#opmerkingen").inner_text()
    visit("feedback met antwoord")

    # the newsletter: written, previewed, sent after confirming; it reaches the two who consented
    page.goto(f"{office.url}/nieuwsbrief")
    visit("nieuwsbrief")
    page.get_by_role("link", name="Nieuwsbrief schrijven").click()
    visit("nieuwsbrief schrijven")
    subject = "Nieuws uit het netwerk"
    page.get_by_label("Onderwerp (verplicht)").fill(subject)
    page.get_by_label("Tekst (Markdown) (verplicht)").fill(
        f"## {TITLE}\n\nDrie deelnemers, en de eerste feedback is **lovend**."
    )
    page.get_by_role("button", name="Bewaren en voorbeeld bekijken").click()
    assert page.locator("section[aria-labelledby=voorbeeld] strong").inner_text() == "lovend"
    visit("nieuwsbrief voorbeeld")
    page.get_by_label("Ik wil deze nieuwsbrief nu versturen").check()
    page.get_by_role("button", name="Nu versturen").click()
    assert "wordt verstuurd" in page.get_by_role("status").inner_text()
    readers = [email_of(first, last) for first, last, consent in PEOPLE if consent]

    def newsletters_to(address: str) -> list[Any]:
        return [m for m in mail.to(address) if m.message["Subject"] == subject]

    wait_until(lambda: all(newsletters_to(a) for a in readers), 60, 0.2, f"the newsletter to {readers}")
    assert all(len(newsletters_to(a)) == 1 for a in readers)
    for address in (email_of("Ann", "Maes"), email_of("Tom", "Claes")):  # no consent, no newsletter
        assert newsletters_to(address) == []

    def sent() -> bool:
        page.reload()
        return "afgeleverd: 2" in page.locator("#verzending").inner_text()

    wait_until(sent, 30, 0.5, "the sending to show two delivered")
    visit("verstuurde nieuwsbrief")
    page.goto(f"{office.url}/nieuwsbrief/abonnees")
    assert page.locator("tbody tr").count() == len(readers)
    visit("abonnees")

    # the year frozen, only once it is confirmed (and once the dashboard counts the newsletter)
    page.goto(f"{office.url}/kpi")
    dashboard_shows(page, "OD1.3-nieuwsbrieven", "1 nieuwsbrief")
    page.get_by_role("button", name="Jaar afsluiten").click()
    assert page.locator("#fout-confirm").inner_text() == "Vink aan dat je het jaar wilt afsluiten."
    visit("kpi zonder bevestiging")
    kpi = week["kpi"].client()
    assert kpi.get(f"/kpis/{year}/frozen").status_code == 404  # nothing frozen yet
    page.get_by_label(f"Ik wil het jaar {year} afsluiten").check()
    page.get_by_role("button", name="Jaar afsluiten").click()
    assert page.get_by_role("status").inner_text() == "Het jaar is afgesloten."
    assert page.get_by_role("button", name="Jaar afsluiten").count() == 0
    visit("kpi afgesloten")
    frozen = kpi.get(f"/kpis/{year}/frozen").json()
    assert frozen["frozen_by"] == "sam.staff@vvsg.be"
    assert len(visit.seen) >= 20
