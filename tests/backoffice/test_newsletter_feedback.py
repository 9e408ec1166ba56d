"""The back office's Nieuwsbrief, Feedback and Beheer screens in Debian's Chromium, signed in through
Keycloak, against the real newsletter and feedback services (processes on Kafka) and a real SMTP server
started here: write, preview, test-mail and send a newsletter, follow it, find the bounce; read the
feedback of a session, enter a paper form, run a survey; the dead letters. Every screen passes axe-core;
a form without its CSRF token and a role that may not do it are refused and change nothing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from ops import dead_letters
from shared import topics
from shared.clock import BRUSSELS
from shared.links import make_token
from tests import infra
from tests.backoffice.test_browser import accessible, keep, sign_in
from tests.infra import wait_until
from tests.integration.test_newsletter_mailserver import MailCatcher

pytestmark = [pytest.mark.browser, pytest.mark.e2e]
T = TypeVar("T")


@pytest.fixture
def mail() -> Iterator[MailCatcher]:
    catcher = MailCatcher().start()
    try:
        yield catcher
    finally:
        catcher.stop()


def in_thread(work: Coroutine[Any, Any, T]) -> T:
    """Playwright's sync API keeps an event loop in this thread: Kafka work runs in one of its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


def contact(bootstrap: str, prefix: str, email: str, consent: bool = True) -> None:
    """A member's contact details as the members service publishes them: consent subscribes them."""
    member_id = uuid.uuid4()
    value = {
        "member_id": str(member_id),
        "first_name": "Lien",
        "last_name": "Peeters",
        "email": email,
        "phone": None,
        "organisation_id": str(uuid.uuid4()),
        "newsletter_consent": consent,
        "active": True,
        "updated_at": datetime.now(UTC).isoformat(),
    }
    record = (prefix + topics.MEMBERS_CONTACTS, str(member_id).encode(), json.dumps(value).encode())
    in_thread(infra.produce(bootstrap, [record]))


def test_newsletter_written_previewed_tested_sent_and_followed_roles_refused_dead_letters_replayed(
    services: Callable[..., infra.ServiceProcess],
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
    mail: MailCatcher,
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail.port)}
    newsletter = services(
        "newsletter",
        f"sqlite:///{tmp_path}/newsletter.db",
        NEWSLETTER_POLL_SECONDS="0.3",
        NEWSLETTER_RETRY_SECONDS="0.2",
        NEWSLETTER_RETRY_MAX_SECONDS="0.5",
        **smtp,
    )
    office = backoffice(NEWSLETTER_URL=newsletter.url, KAFKA_TOPIC_PREFIX=topic_prefix, **smtp)
    # a record no consumer can read: the newsletter service puts it on members.contacts.dlq
    garbage = (topic_prefix + topics.MEMBERS_CONTACTS, b"kapot", b"{geen json")
    in_thread(infra.produce(kafka_bootstrap, [garbage]))
    reader, gone = "lien@gemeente.example", "weg@gemeente.example"
    mail.refuse[gone] = "550 5.1.1 Deze mailbox bestaat niet"
    contact(kafka_bootstrap, topic_prefix, reader)
    contact(kafka_bootstrap, topic_prefix, gone)
    api = newsletter.client()
    wait_until(
        lambda: api.get("/subscribers", params={"state": "active"}).json()["total"] == 2,
        30,
        0.2,
        "both members to be subscribed",
    )

    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    sign_in(page, office.url, "sam.staff", "/nieuwsbrief")
    assert page.locator("h1").inner_text() == "Nieuwsbrief"
    assert "Nog geen nieuwsbrieven" in page.locator("tbody").inner_text()
    accessible(page, "nieuwsbrief")
    keep(page, artefacts, "nieuwsbrief")

    page.get_by_role("link", name="Nieuwsbrief schrijven").click()
    page.get_by_role("button", name="Bewaren en voorbeeld bekijken").click()
    assert page.locator("#fout-title").inner_text().startswith("Geef een onderwerp")
    assert page.locator("#fout-body").inner_text().startswith("Schrijf de tekst")
    assert page.locator("#veld-body").get_attribute("aria-invalid") == "true"
    accessible(page, "nieuwsbrief schrijven met fouten")
    assert api.get("/issues").json()["total"] == 0

    title = "Nieuws van december"
    page.get_by_label("Onderwerp (verplicht)").fill(title)
    page.get_by_label("Tekst (Markdown) (verplicht)").fill(
        "## Digitale week\n\nDit is **belangrijk**.\n\n<script>alert('x')</script>\n\n"
        "[Klik](javascript:alert(1)) of lees [meer](https://www.vvsg.be)."
    )
    page.get_by_role("button", name="Bewaren en voorbeeld bekijken").click()
    assert page.locator("main > h1").inner_text() == title
    preview = page.locator("section[aria-labelledby=voorbeeld]")
    assert preview.locator("h2").inner_text() == "Digitale week"  # Markdown rendered by the service
    assert preview.locator("strong").inner_text() == "belangrijk"
    assert "<script>alert('x')</script>" in preview.inner_text()  # HTML typed in is shown as text
    assert page.locator("main script").count() == 0
    assert [a.get_attribute("href") for a in preview.locator("a").all()][:1] == ["https://www.vvsg.be"]
    accessible(page, "nieuwsbrief met voorbeeld")
    keep(page, artefacts, "nieuwsbrief-voorbeeld")

    # a change re-renders the preview on the server
    page.get_by_label("Tekst (Markdown) (verplicht)").fill("## Digitale week 2027\n\nTot dan!")
    page.get_by_role("button", name="Bewaren en voorbeeld bekijken").click()
    assert preview.locator("h2").inner_text() == "Digitale week 2027"

    page.get_by_role("button", name="Testmail naar mezelf").click()
    assert page.get_by_role("status").inner_text() == "De testmail is verstuurd naar sam.staff@vvsg.be."
    test_mail = mail.wait_for("sam.staff@vvsg.be")[0]
    assert test_mail.message["Subject"] == f"[Test] {title}"
    assert "Digitale week 2027" in test_mail.part("plain")
    assert mail.to(reader) == []  # a test goes to nobody else
    issue_id = api.get("/issues").json()["items"][0]["id"]
    assert api.get(f"/issues/{issue_id}").json()["status"] == "draft"

    page.get_by_role("button", name="Nu versturen").click()
    assert page.locator("#fout-confirm").inner_text().startswith("Vink aan")
    accessible(page, "versturen zonder bevestiging")
    assert api.get(f"/issues/{issue_id}").json()["status"] == "draft"  # nothing sent
    page.get_by_label("Ik wil deze nieuwsbrief nu versturen").check()
    page.get_by_role("button", name="Nu versturen").click()
    assert "wordt verstuurd" in page.get_by_role("status").inner_text()
    wait_until(lambda: api.get(f"/issues/{issue_id}").json()["status"] == "sent", 30, 0.2, "sent")
    page.reload()
    facts = page.locator("dl.facts").inner_text()
    assert "Verstuurd" in facts
    assert "afgeleverd: 1" in page.locator("#verzending").inner_text()
    assert "geweigerd (bounce): 1" in page.locator("#verzending").inner_text()
    assert page.get_by_role("button", name="Nu versturen").count() == 0  # a sent issue is final
    assert [m.message["Subject"] for m in mail.to(reader)] == [title]
    accessible(page, "verstuurde nieuwsbrief")

    page.goto(f"{office.url}/nieuwsbrief/abonnees")
    page.get_by_label("Toestand").select_option("bounced")
    page.get_by_role("button", name="Zoeken").click()
    rows = page.locator("tbody tr")
    assert rows.count() == 1
    assert gone in rows.first.inner_text() and "adres geweigerd" in rows.first.inner_text()
    accessible(page, "abonnees")
    keep(page, artefacts, "nieuwsbrief-abonnees")

    # articles and good practices: the communications log
    page.goto(f"{office.url}/nieuwsbrief")
    page.get_by_role("link", name="Artikels en goede praktijken").click()
    article = page.locator("form", has_text="Artikel toevoegen")
    article.get_by_label("Titel (verplicht)").fill("Digitale inclusie in je gemeente")
    article.get_by_label("Adres (https://…)").fill("javascript:alert(1)")
    article.get_by_role("button", name="Artikel bewaren").click()
    assert page.locator("#fout-url").inner_text().startswith("Geef een volledig adres")
    assert page.locator("#veld-title").input_value() == "Digitale inclusie in je gemeente"
    accessible(page, "artikel met fout")
    assert api.get("/articles").json() == []
    page.locator("#veld-url").fill("https://www.vvsg.be/lokaal/digitale-inclusie")
    page.get_by_role("button", name="Artikel bewaren").click()
    assert page.get_by_role("status").inner_text() == "Bewaard."
    assert "Digitale inclusie in je gemeente" in page.locator("#artikels").inner_text()
    page.locator("#veld-p_title").fill("Digibank in Zoersel")
    page.get_by_role("button", name="Goede praktijk bewaren").click()
    assert page.locator("#fout-p_url").inner_text().startswith("Geef een volledig adres")
    page.locator("#veld-p_url").fill("https://www.zoersel.be/digibank")
    page.get_by_role("button", name="Goede praktijk bewaren").click()
    assert "Digibank in Zoersel" in page.locator("#praktijken").inner_text()
    accessible(page, "artikels en goede praktijken")
    keep(page, artefacts, "nieuwsbrief-communicatie")
    assert [p["title"] for p in api.get("/good-practices").json()] == ["Digibank in Zoersel"]

    # a viewer reads but writes nothing; a form without its token changes nothing
    contacts = topic_prefix + topics.MEMBERS_CONTACTS

    def dead() -> list[dead_letters.DeadLetter]:
        return in_thread(dead_letters.list_dead_letters(kafka_bootstrap, contacts))

    wait_until(lambda: len(dead()) == 1, 30, 0.5, "the dead letter")
    draft = api.post("/issues", json={"title": "Ontwerp", "body": "Nog niet klaar."}).json()

    viewer = browser.new_context(locale="nl-BE").new_page()
    sign_in(viewer, office.url, "vic.viewer", "/nieuwsbrief")
    assert viewer.get_by_role("link", name="Nieuwsbrief schrijven").count() == 0
    viewer.get_by_role("link", name="Ontwerp").click()
    assert viewer.get_by_role("button", name="Nu versturen").count() == 0
    accessible(viewer, "nieuwsbrief als lezer")
    csrf = viewer.locator("input[name=csrf]").first.get_attribute("value")
    for path, form in (
        ("/nieuwsbrief/nieuw", {"title": "Van een lezer", "body": "x"}),
        (f"/nieuwsbrief/{draft['id']}/versturen", {"confirm": "ja"}),
        (f"/nieuwsbrief/{draft['id']}/bewerken", {"title": "Gewijzigd", "body": "x"}),
        ("/nieuwsbrief/communicatie/artikel", {"title": "Van een lezer", "magazine": "Lokaal"}),
    ):
        refused = viewer.request.post(f"{office.url}{path}", form={**form, "csrf": csrf}, max_redirects=0)
        assert refused.status == 403, path
    viewer.goto(f"{office.url}/nieuwsbrief/abonnees")
    assert viewer.locator("h1").inner_text() == "Geen toegang"

    staff = page  # still signed in
    no_token = staff.request.post(
        f"{office.url}/nieuwsbrief/{draft['id']}/versturen", form={"confirm": "ja"}, max_redirects=0
    )
    assert no_token.status == 403
    anonymous = httpx.post(f"{office.url}/nieuwsbrief/nieuw", data={"title": "x", "body": "y", "csrf": csrf})
    assert anonymous.status_code == 401

    assert api.get("/issues").json()["total"] == 2  # the one sent and the draft
    unchanged = api.get(f"/issues/{draft['id']}").json()
    assert (unchanged["title"], unchanged["status"]) == ("Ontwerp", "draft")
    assert len(api.get("/articles").json()) == 1  # the one staff recorded

    # Beheer: admins only; the dead letter with its reason, replayed onto its topic
    viewer.goto(f"{office.url}/beheer")
    assert viewer.locator("h1").inner_text() == "Geen toegang"
    assert viewer.locator("nav.main").get_by_role("link", name="Beheer").count() == 0  # admins only
    staff.goto(f"{office.url}/beheer/members.contacts")
    assert staff.locator("h1").inner_text() == "Geen toegang"
    staff_csrf = staff.locator("input[name=csrf]").first.get_attribute("value")
    refused = staff.request.post(
        f"{office.url}/beheer/members.contacts/opnieuw",
        form={"offset": "0", "csrf": staff_csrf},
        max_redirects=0,
    )
    assert refused.status == 403
    admin = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    sign_in(admin, office.url, "an.admin", "/beheer")
    assert admin.locator("nav.main a[aria-current=page]").inner_text() == "Beheer"
    row = admin.locator("tbody tr", has_text="members.contacts")
    assert row.locator("td").nth(2).inner_text() == "1"
    accessible(admin, "beheer")
    keep(admin, artefacts, "beheer")
    row.get_by_role("link").click()
    letter = admin.locator("tbody tr").first
    assert "newsletter" in letter.inner_text()
    assert "(geen leesbare JSON)" in letter.inner_text()
    assert dead()[0].header("dlq-reason") in letter.inner_text()
    accessible(admin, "dode brieven")
    keep(admin, artefacts, "beheer-topic")
    no_token = admin.request.post(
        f"{office.url}/beheer/members.contacts/opnieuw", form={"offset": "0"}, max_redirects=0
    )
    assert no_token.status == 403
    assert len(dead()) == 1  # nothing replayed (the letter was there long before: see above)
    admin.get_by_role("button", name="Dode brief 0 opnieuw verwerken").click()
    assert admin.get_by_role("status").inner_text() == "Dode brief 0 is opnieuw op members.contacts gezet."
    # still unreadable: the consumer read it again and put it back on the dead-letter topic
    wait_until(lambda: len(dead()) == 2, 30, 0.5, "the replayed letter to come back")
    admin.reload()
    assert admin.locator("tbody tr").count() == 2


def test_staff_read_a_sessions_feedback_enter_a_paper_form_and_run_a_survey(
    services: Callable[..., infra.ServiceProcess],
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
    tmp_path: Path,
) -> None:
    with ThreadPoolExecutor(2) as pool:  # two start-ups at once: this machine's two cores
        starting = [
            pool.submit(services, name, f"sqlite:///{tmp_path}/{name}.db") for name in ("events", "feedback")
        ]
        events_service, feedback = (future.result() for future in starting)
    office = backoffice(EVENTS_URL=events_service.url, FEEDBACK_URL=feedback.url)
    api = feedback.client()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    planned = events_service.client().post(
        "/sessions",
        json={
            "kind": "info_session",
            "title": "Infosessie digitale drempels",
            "theme": "digitale drempels",
            "lead": "vvsg",
            "format": "online",
            "starts_at": f"{yesterday.isoformat()}T10:00:00+01:00",
            "ends_at": f"{yesterday.isoformat()}T12:00:00+01:00",
        },
    )
    assert planned.status_code == 201, planned.text
    session_id = planned.json()["id"]
    assert events_service.client().post(f"/sessions/{session_id}/held").status_code == 200
    wait_until(
        lambda: api.get(f"/sessions/{session_id}/summary").json().get("held_on"),
        30,
        0.2,
        "the feedback service to know the session held",
    )

    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    sign_in(page, office.url, "sam.staff", f"/feedback?jaar={yesterday.year}")
    row = page.locator("tbody tr", has_text="Infosessie digitale drempels")
    assert row.count() == 1
    accessible(page, "feedback")
    keep(page, artefacts, "feedback")
    row.get_by_role("link").click()
    assert page.locator("#antwoorden").inner_text().startswith("0")

    page.get_by_role("button", name="Formulier bewaren").click()  # nothing filled in
    assert "Vul minstens één score of een opmerking in." in page.locator(".summary").inner_text()
    page.get_by_label("Ontvangen op").fill("2999-01-01")
    page.get_by_label("Tevredenheid").select_option("4")
    page.get_by_role("button", name="Formulier bewaren").click()
    assert page.locator("#fout-received_on").inner_text().startswith("Geef een geldige datum")
    accessible(page, "papieren formulier met fouten")
    assert api.get(f"/sessions/{session_id}/summary").json()["responses"] == 0  # nothing stored
    page.get_by_label("Ontvangen op").fill("")
    page.get_by_label("Tevredenheid").select_option("4")
    page.get_by_label("Nut voor het werk").select_option("5")
    page.get_by_label("Opmerkingen").fill("Heel <b>leerrijk</b>, meer voorbeelden graag")
    page.get_by_role("button", name="Formulier bewaren").click()
    assert page.get_by_role("status").inner_text() == "Het papieren formulier is bewaard."
    assert "1 (0 via de link, 1 op papier)" in page.locator("#antwoorden").inner_text()
    averages = page.locator("#gemiddelden").inner_text()
    assert "Tevredenheid\t4.0" in averages and "Nut voor het werk\t5.0" in averages
    assert "Heel <b>leerrijk</b>" in page.locator("#opmerkingen").inner_text()  # shown as text
    assert page.locator("#opmerkingen b").count() == 0
    accessible(page, "feedback van een sessie")
    keep(page, artefacts, "feedback-sessie")

    # a user survey: open, invite, the answer comes in, export, close
    page.goto(f"{office.url}/feedback/bevragingen")
    page.get_by_role("link", name="Bevraging openen").click()
    page.get_by_label("Titel (verplicht)").fill("Gebruikersbevraging 2026")
    page.get_by_label("Onderwerp (verplicht)").fill("de werking van het netwerk")
    page.get_by_label("Vragen (verplicht)").fill("Hoe tevreden ben je?\nKeuze: Welke dag past? | maandag")
    page.get_by_role("button", name="Bevraging openen").click()
    assert "minstens twee opties" in page.locator("#fout-questions").inner_text()
    accessible(page, "bevraging openen met fouten")
    assert api.get("/surveys").json() == []
    page.get_by_label("Vragen (verplicht)").fill(
        "Hoe tevreden ben je?\nKeuze: Welke dag past? | maandag | dinsdag\nOpen: Wat mist er?"
    )
    page.get_by_role("button", name="Bevraging openen").click()
    assert page.get_by_role("status").inner_text().startswith("De bevraging is geopend")
    survey_id = api.get("/surveys").json()[0]["id"]
    page.get_by_role("button", name="Uitnodigen").click()
    assert page.locator("#fout-member_ids").inner_text().startswith("Kies wie je uitnodigt")
    member_id = str(uuid.uuid4())
    page.get_by_label("Leden (id's)").fill(member_id)
    page.get_by_role("button", name="Uitnodigen").click()
    assert page.get_by_role("status").inner_text().startswith("1 leden uitgenodigd")
    assert page.locator("#uitgenodigd").inner_text() == "1"

    # the member answers through the personal link the newsletter service would mail
    request_id = api.get("/requests", params={"subject_type": "survey"}).json()["items"][0]["id"]
    link = f"{feedback.url}/survey/{make_token(infra.LINK_SECRET, 'survey', request_id)}"
    answered = httpx.post(link, data={"q1": "5", "q2": "dinsdag", "q3": "=SUM(1)"})
    assert answered.status_code == 200, answered.text
    page.reload()
    assert page.locator("#antwoorden").inner_text().startswith("1")
    assert "dinsdag" in page.locator("#antwoorden-tabel").inner_text()
    accessible(page, "bevraging")
    keep(page, artefacts, "bevraging")
    exported = page.request.get(f"{office.url}/feedback/bevragingen/{survey_id}/antwoorden.csv")
    assert exported.status == 200
    lines = exported.text().lstrip("\ufeff").splitlines()
    assert lines[0] == "ontvangen op;Hoe tevreden ben je?;Welke dag past?;Wat mist er?"
    assert lines[1].endswith(";5;dinsdag;'=SUM(1)")  # a formula stays text in a spreadsheet

    page.get_by_role("button", name="Bevraging afsluiten").click()
    assert page.locator("#fout-confirm").inner_text().startswith("Vink aan")
    assert api.get(f"/surveys/{survey_id}").json()["closed_on"] is None
    page.get_by_label("Ik wil deze bevraging afsluiten").check()
    page.get_by_role("button", name="Bevraging afsluiten").click()
    assert page.get_by_role("status").inner_text() == "De bevraging is afgesloten."
    assert api.get(f"/surveys/{survey_id}").json()["closed_on"] is not None
    page.goto(f"{office.url}/feedback/bevragingen")
    assert "afgesloten op" in page.locator("tbody").inner_text()
    accessible(page, "bevragingen")

    # a viewer sees figures, no comments, no forms; a form without its token changes nothing
    viewer = browser.new_context(locale="nl-BE").new_page()
    sign_in(viewer, office.url, "vic.viewer", f"/feedback/sessies/{session_id}")
    assert viewer.locator("#opmerkingen").count() == 0
    assert viewer.get_by_role("button", name="Formulier bewaren").count() == 0
    csrf = viewer.locator("input[name=csrf]").first.get_attribute("value")
    paper = {"satisfaction": "1", "comment": "van een lezer", "csrf": csrf}
    refused = viewer.request.post(
        f"{office.url}/feedback/sessies/{session_id}/papier", form=paper, max_redirects=0
    )
    assert refused.status == 403
    no_token = page.request.post(
        f"{office.url}/feedback/sessies/{session_id}/papier", form={"satisfaction": "1"}, max_redirects=0
    )
    assert no_token.status == 403
    survey = {"title": "x", "topic": "y", "questions": "z"}
    assert page.request.post(f"{office.url}/feedback/bevragingen/nieuw", form=survey).status == 403
    assert api.get(f"/sessions/{session_id}/summary").json()["responses"] == 1
    assert len(api.get("/surveys").json()) == 1


def test_staff_schedule_a_newsletter_unschedule_it_and_it_goes_out_once_when_due(
    services: Callable[..., infra.ServiceProcess],
    backoffice: Callable[..., infra.ServiceProcess],
    browser: Any,
    artefacts: Path,
    mail: MailCatcher,
    kafka_bootstrap: str,
    topic_prefix: str,
    tmp_path: Path,
) -> None:
    smtp = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(mail.port)}
    newsletter = services(
        "newsletter", f"sqlite:///{tmp_path}/newsletter.db", NEWSLETTER_POLL_SECONDS="0.3", **smtp
    )
    office = backoffice(NEWSLETTER_URL=newsletter.url, **smtp)
    reader = "lien@gemeente.example"
    contact(kafka_bootstrap, topic_prefix, reader)
    api = newsletter.client()
    wait_until(lambda: api.get("/subscribers").json()["total"] == 1, 30, 0.2, "the member subscribed")
    draft = api.post("/issues", json={"title": "Nieuws van januari", "body": "## Gelukkig nieuwjaar"}).json()
    detail = f"{office.url}/nieuwsbrief/{draft['id']}"

    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-BE").new_page()
    sign_in(page, office.url, "sam.staff", f"/nieuwsbrief/{draft['id']}")
    page.get_by_role("button", name="Inplannen").click()
    assert (
        page.locator("#fout-scheduled_at").inner_text()
        == "Geef de dag en het uur waarop de nieuwsbrief vertrekt."
    )
    yesterday = (datetime.now(BRUSSELS) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Versturen op (verplicht)").fill(yesterday)
    page.get_by_role("button", name="Inplannen").click()
    assert page.locator("#fout-scheduled_at").inner_text().startswith("Kies een moment in de toekomst")
    assert page.locator("#veld-scheduled_at").get_attribute("aria-invalid") == "true"
    assert page.get_by_label("Versturen op (verplicht)").input_value() == yesterday  # what was typed stays
    accessible(page, "inplannen met fout")
    assert api.get(f"/issues/{draft['id']}").json()["status"] == "draft"

    later = datetime.now(BRUSSELS).replace(second=0, microsecond=0) + timedelta(days=2)
    page.get_by_label("Versturen op (verplicht)").fill(later.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Inplannen").click()
    assert page.get_by_role("status").inner_text() == "De nieuwsbrief is ingepland."
    assert f"{later:%H:%M}" in page.locator("#ingepland").inner_text()
    assert "Ingepland" in page.locator("dl.facts").inner_text()
    assert page.get_by_role("button", name="Bewaren en voorbeeld bekijken").count() == 0  # fixed now
    accessible(page, "ingeplande nieuwsbrief")
    keep(page, artefacts, "nieuwsbrief-ingepland")
    scheduled = api.get(f"/issues/{draft['id']}").json()
    assert scheduled["status"] == "scheduled"
    assert datetime.fromisoformat(scheduled["scheduled_at"]) == later
    page.goto(f"{office.url}/nieuwsbrief")
    assert "ingepland voor" in page.locator("tbody").inner_text()

    # refusals change nothing: a viewer, no token, nobody signed in, a moment that is no moment
    viewer = browser.new_context(locale="nl-BE").new_page()
    sign_in(viewer, office.url, "vic.viewer", f"/nieuwsbrief/{draft['id']}")
    assert viewer.get_by_role("button", name="Planning annuleren").count() == 0
    viewer_csrf = viewer.locator("input[name=csrf]").first.get_attribute("value")
    for path in ("inplannen", "planning-annuleren"):
        form = {"csrf": viewer_csrf, "scheduled_at": "2027-01-05T09:00"}
        assert viewer.request.post(f"{detail}/{path}", form=form, max_redirects=0).status == 403
        assert page.request.post(f"{detail}/{path}", form={"scheduled_at": "2027-01-05T09:00"}).status == 403
        assert httpx.post(f"{detail}/{path}", data=form).status_code == 401
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    nonsense = page.request.post(f"{detail}/inplannen", form={"csrf": csrf, "scheduled_at": "morgen"})
    assert nonsense.status == 422  # not a draft any more and no moment: refused before the service
    assert api.get(f"/issues/{draft['id']}").json() == scheduled

    # unschedule: a draft again; then scheduled a few seconds ahead, it goes out once
    page.goto(detail)
    page.get_by_role("button", name="Planning annuleren").click()
    assert (
        page.get_by_role("status").inner_text()
        == "De planning is geannuleerd: de nieuwsbrief is weer een ontwerp."
    )
    assert api.get(f"/issues/{draft['id']}").json()["status"] == "draft"
    accessible(page, "planning geannuleerd")
    soon = (datetime.now(BRUSSELS) + timedelta(seconds=4)).strftime("%Y-%m-%dT%H:%M:%S")
    posted = page.request.post(
        f"{detail}/inplannen", form={"csrf": csrf, "scheduled_at": soon}, max_redirects=0
    )
    assert posted.status == 303
    assert mail.to(reader) == []
    wait_until(lambda: api.get(f"/issues/{draft['id']}").json()["status"] == "sent", 30, 0.2, "sent when due")
    page.goto(detail)
    assert "Verstuurd" in page.locator("dl.facts").inner_text()
    assert "afgeleverd: 1" in page.locator("#verzending").inner_text()
    assert [m.message["Subject"] for m in mail.to(reader)] == ["Nieuws van januari"]
