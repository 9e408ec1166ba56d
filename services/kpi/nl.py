"""Every Dutch (nl-BE) word the KPI service shows a person — report, dashboard, exports — kept together
so that it can be reviewed and translated, and the plan's structure the report follows.

Where the plan puts what (meerjarenplan digitale inclusie):
- SD1–SD3 with their OD's, in the plan's wording; a KPI code `ODx.y-…` goes under OD x.y.
- `afstemming-*`: the plan's own chapter "Afstemming op het beleid van de Vlaamse overheid" (steering
  group at least twice a year, consultation at least monthly) stands before SD1 and belongs to no SD,
  so it is a section of its own, first, as in the plan.
- `feedback-*`: the plan asks for feedback inside OD1.1, OD1.2, OD2.1, OD2.2 and OD3.3 and quotes the
  motivation/ability figures of the UGent/VUB study in its chapter on the cooperation with Mediawijs;
  the figures cover all of those at once (their items break them down per kind of activity), so they
  form one cross-cutting section after SD3.
"""

from __future__ import annotations

from dataclasses import dataclass

REPORT_TITLE = "Jaarrapport digitale inclusie"
ORGANISATION = "VVSG — team Samenleven en Beleven"
DASHBOARD_TITLE = "KPI's digitale inclusie"


@dataclass(frozen=True)
class Objective:
    code: str  # "OD1.1", or the section's own key for sections without OD's
    title: str
    codes_prefix: str  # KPI codes starting with this belong here


@dataclass(frozen=True)
class Goal:
    key: str  # "SD1" … ; also the id of the HTML section and the name of the XLSX sheet
    sheet: str
    heading: str
    title: str
    intro: str
    objectives: tuple[Objective, ...]


GOALS: tuple[Goal, ...] = (
    Goal(
        key="afstemming",
        sheet="Afstemming",
        heading="Afstemming",
        title="Afstemming op het beleid van de Vlaamse overheid",
        intro=(
            "VVSG stemt nauw af met de bevoegde administratie(s) van de Vlaamse overheid en met "
            "Mediawijs: een stuurgroep digitale inclusie die minstens 2 keer per jaar samenkomt, en "
            "overleg met de bevoegde administratie en Mediawijs, minstens 1 keer per maand."
        ),
        objectives=(
            Objective("stuurgroep", "Stuurgroep digitale inclusie", "afstemming-stuurgroep"),
            Objective(
                "overleg",
                "Regelmatig overleg met de bevoegde administratie van de Vlaamse overheid en Mediawijs",
                "afstemming-overleg",
            ),
        ),
    ),
    Goal(
        key="SD1",
        sheet="SD1 Kennisdeling",
        heading="SD1",
        title=(
            "VVSG verhoogt de effectiviteit van lokaal digitale-inclusiebeleid door kennisdeling en "
            "uitwisseling te organiseren voor lokale besturen en hun partnerorganisaties"
        ),
        intro="",
        objectives=(
            Objective("OD1.1", "VVSG organiseert een netwerk digitale inclusie", "OD1.1-"),
            Objective(
                "OD1.2",
                "VVSG en Mediawijs organiseren inspiratiemomenten en infosessies over digitale inclusie "
                "voor lokale besturen en hun partnerorganisaties",
                "OD1.2-",
            ),
            Objective(
                "OD1.3",
                "VVSG communiceert actief over digitale inclusie naar lokale besturen en hun "
                "partnerorganisaties",
                "OD1.3-",
            ),
        ),
    ),
    Goal(
        key="SD2",
        sheet="SD2 Opleidingen",
        heading="SD2",
        title=(
            "VVSG versterkt de capaciteit van lokale besturen om aan digitale inclusie te werken door "
            "opleidingen voor lokale besturen te ontwikkelen en te ontsluiten"
        ),
        intro="",
        objectives=(
            Objective(
                "OD2.1",
                "VVSG ondersteunt Mediawijs bij meerdaagse opleidingen voor digitale-inclusiemedewerkers "
                "van lokale besturen",
                "OD2.1-",
            ),
            Objective(
                "OD2.2",
                "VVSG organiseert en ontsluit thematische opleidingen over digitale inclusie voor "
                "medewerkers van lokale besturen",
                "OD2.2-",
            ),
        ),
    ),
    Goal(
        key="SD3",
        sheet="SD3 Ondersteuning",
        heading="SD3",
        title=(
            "VVSG biedt lokale besturen de nodige tools, ondersteuning en advies bij de uitdagingen die "
            "ze ervaren bij hun digitale-inclusiebeleid"
        ),
        intro="",
        objectives=(
            Objective(
                "OD3.1",
                "VVSG ontwikkelt en ontsluit tools en handleidingen over digitale inclusie voor lokale "
                "besturen",
                "OD3.1-",
            ),
            Objective("OD3.2", "VVSG geeft lokale besturen advies over digitale inclusie", "OD3.2-"),
            Objective(
                "OD3.3",
                "VVSG biedt lokale besturen ondersteuning op maat bij het werken aan digitale inclusie",
                "OD3.3-",
            ),
        ),
    ),
    Goal(
        key="feedback",
        sheet="Feedback",
        heading="Feedback",
        title="Feedback van de deelnemers (OD1.1, OD1.2, OD2.1, OD2.2, OD3.3)",
        intro=(
            "VVSG vraagt de deelnemers aan bijeenkomsten, infosessies, opleidingen en ondersteuning op "
            "maat om feedback en houdt er rekening mee. Ter vergelijking: in het onderzoek van UGent en "
            "VUB was 85% van de medewerkers van lokale besturen gemotiveerd om met digitale inclusie aan "
            "de slag te gaan en was 66% in staat om zelf digitale-inclusieacties te realiseren."
        ),
        objectives=(Objective("feedback", "Feedback na de activiteiten", "feedback-"),),
    ),
)

OTHER_GOAL = Goal(
    key="overige",
    sheet="Overige",
    heading="Overige",
    title="Overige indicatoren",
    intro="",
    objectives=(Objective("overige", "Overige indicatoren", ""),),
)


def place(code: str) -> tuple[Goal, Objective]:
    """Where a KPI code stands in the report; codes the plan does not know go to "Overige"."""
    for goal in GOALS:
        for objective in goal.objectives:
            if code.startswith(objective.codes_prefix):
                return goal, objective
    return OTHER_GOAL, OTHER_GOAL.objectives[0]


STATUS = {"behaald": "Behaald", "niet behaald": "Niet behaald", "geen doel": "Geen doel"}

# column headings for the fields of an "overzicht" item; fields ending in `_id` are never shown
ITEM_LABELS: dict[str, str] = {
    "title": "Titel",
    "date": "Datum",
    "kind": "Soort",
    "session_kind": "Soort activiteit",
    "lead": "Trekker",
    "format": "Vorm",
    "theme": "Thema",
    "participants": "Deelnemers",
    "participant_hours": "Deelnemersuren",
    "registrations": "Inschrijvingen",
    "recording_url": "Opname",
    "organisation": "Organisatie",
    "organisation_kind": "Soort organisatie",
    "organisations": "Organisaties",
    "joined": "Aangesloten",
    "left": "Vertrokken",
    "recipients": "Ontvangers",
    "magazine": "Magazine",
    "link": "Link",
    "url": "Link",
    "topic": "Onderwerp",
    "channel": "Kanaal",
    "with_mediawijs": "Met Mediawijs",
    "stage": "Startpositie",
    "methodology": "Methodiek",
    "description": "Beschrijving",
    "started_on": "Gestart op",
    "completed_on": "Afgerond op",
    "sessions": "Activiteiten",
    "sessions_asked": "Met feedbackvraag",
    "requests": "Feedbackvragen",
    "answered": "Beantwoord",
    "answers": "Antwoorden",
    "agree": "Akkoord (4 of 5)",
    "value": "Waarde",
    "opened_on": "Geopend op",
    "closed_on": "Gesloten op",
    "responses": "Antwoorden",
    "local_government_responses": "Antwoorden van lokale besturen",
    "published_on": "Ontsloten op",
    "made_by": "Gemaakt door",
    "audience": "Voor wie",
    "version": "Versie",
    "last_reviewed_on": "Laatst herzien op",
    "next_review_on": "Volgende herziening",
    "review_overdue": "Herziening achterstallig",
    "retired_on": "Uit de catalogus op",
}

_SESSION_KINDS = {
    "network_meeting_general": "Algemene bijeenkomst netwerk",
    "network_meeting_thematic": "Specifieke bijeenkomst netwerk",
    "info_session": "Infosessie",
    "inspiration_day_physical": "Fysieke inspiratiedag",
    "inspiration_day_online": "Online inspiratiedag",
    "training_multiday": "Meerdaagse opleiding",
    "training_thematic": "Thematische opleiding",
    "training_integrated": "VVSG-opleiding met digitale inclusie",
    "presentation_on_request": "Presentatie op vraag",
    "workshop_on_request": "Workshop op vraag",
    "steering_group": "Stuurgroep",
    "coordination_meeting": "Overleg Vlaamse administratie en Mediawijs",
}
_ORGANISATION_KINDS = {
    "lokaal_bestuur": "Lokaal bestuur",
    "intergemeentelijk_samenwerkingsverband": "Intergemeentelijk samenwerkingsverband",
    "middenveldorganisatie": "Middenveldorganisatie",
    "kennisinstelling": "Kennisinstelling",
    "bovenlokale_overheid": "Bovenlokale overheid",
    "andere": "Andere",
    "onbekend": "Onbekend",
}

# translations of enumerated values, per field
VALUE_LABELS: dict[str, dict[str, str]] = {
    "kind": _SESSION_KINDS,
    "session_kind": _SESSION_KINDS,
    "lead": {"vvsg": "VVSG", "mediawijs": "Mediawijs", "joint": "VVSG en Mediawijs"},
    "format": {"online": "Online", "physical": "Fysiek", "hybrid": "Hybride"},
    "organisation_kind": _ORGANISATION_KINDS,
    "channel": {"mail": "E-mail", "meeting": "Gesprek", "phone": "Telefoon", "online": "Online"},
    "stage": {"starting": "Startend", "growing": "Groeiend", "experienced": "Ervaren"},
    "made_by": {"vvsg": "VVSG", "mediawijs": "Mediawijs", "together": "VVSG en Mediawijs", "other": "Andere"},
}

YES, NO = "Ja", "Nee"

MONTHS = (
    "jan",
    "feb",
    "mrt",
    "apr",
    "mei",
    "jun",
    "jul",
    "aug",
    "sep",
    "okt",
    "nov",
    "dec",
)

# report and export wording
TEXT = {
    "as_of": "Stand op",
    "generated_at": "Opgemaakt op",
    "targets_version": "Versie van de doelen",
    "frozen": "Bevroren rapport",
    "frozen_by": "bevroren door",
    "summary": "Samenvatting",
    "code": "Code",
    "kpi": "Indicator",
    "value": "Waarde",
    "target": "Doel",
    "status": "Status",
    "unit": "Eenheid",
    "section": "Onderdeel",
    "objective": "Doelstelling",
    "item": "Item",
    "field": "Veld",
    "content": "Inhoud",
    "overview": "Overzicht",
    "nothing": "Niets te melden in deze periode.",
    "at_least": "minstens",
    "no_target": "—",
    "differences": "Verschillen met het bevroren rapport",
    "no_differences": "Geen verschillen met het bevroren rapport.",
    "previous_year": "Vorig jaar",
    "change": "Verschil",
    "explanation": "Toelichting",
    "explanation_of": "Toelichting bij",
    "explanation_at": "Toelichting bijgewerkt op",
    "updated_on": "bijgewerkt op",
    "by": "door",
    "frozen_on": "bevroren op",
    "previous_as_of": "Vorig jaar: stand op",
    "page": "Pagina",
    "of": "van",
    "figures_of": "Cijfers: stand op",
    "number": "Nr.",
    "details": "Details",
    "no_data": "Er zijn nog geen gegevens voor dit jaar: alle indicatoren staan op 0.",
    "percentage_points": "procentpunt",
}

# a unit's singular and plural, for "1 bevraging" and "2 bevragingen"; hours read "1 uur", "3,5 uur"
UNITS: dict[str, tuple[str, str]] = {
    "leden": ("lid", "leden"),
    "besturen": ("bestuur", "besturen"),
    "bijeenkomsten": ("bijeenkomst", "bijeenkomsten"),
    "sessies": ("sessie", "sessies"),
    "uren": ("uur", "uur"),
    "dagen": ("dag", "dagen"),
    "praktijken": ("praktijk", "praktijken"),
    "nieuwsbrieven": ("nieuwsbrief", "nieuwsbrieven"),
    "artikels": ("artikel", "artikels"),
    "opleidingen": ("opleiding", "opleidingen"),
    "bevragingen": ("bevraging", "bevragingen"),
    "gesprekken": ("gesprek", "gesprekken"),
    "vergaderingen": ("vergadering", "vergaderingen"),
    "overleggen": ("overleg", "overleggen"),
    "hulpmiddelen": ("hulpmiddel", "hulpmiddelen"),
    "score": ("", ""),  # a mean on a 1–5 scale needs no word after it
}


def unit_word(unit: str, value: int | float | None) -> str:
    """The unit as it reads after the number: singular for exactly 1, plural otherwise."""
    singular, plural = UNITS.get(unit, (unit, unit))
    return singular if value == 1 else plural


def targets_label(version: str) -> str:
    """What the targets configuration "default@1" / "2026@2" means, in words."""
    table, _, number = version.partition("@")
    suffix = f" (versie {number})" if number else ""
    if table == "default":
        return f"Minimumdoelen uit het meerjarenplan{suffix}"
    if table.isdigit():
        return f"Doelen vastgelegd voor {table}{suffix}"
    return f"Doelen{suffix}"
