"""What each KPI is called (Dutch, as in the plan), its unit and its target for a year."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

TARGETS_FILE = Path(__file__).parent / "targets.toml"


@dataclass(frozen=True)
class KpiDefinition:
    code: str
    title: str
    unit: str


DEFINITIONS: dict[str, KpiDefinition] = {
    d.code: d
    for d in (
        KpiDefinition("OD1.1-leden", "Aantal leden van het netwerk", "leden"),
        KpiDefinition("OD1.1-besturen", "Aantal vertegenwoordigde lokale besturen en ISV's", "besturen"),
        KpiDefinition(
            "OD1.1-bijeenkomsten-algemeen", "Algemene bijeenkomsten van het netwerk", "bijeenkomsten"
        ),
        KpiDefinition(
            "OD1.1-bijeenkomsten-specifiek", "Specifieke bijeenkomsten van het netwerk", "bijeenkomsten"
        ),
        KpiDefinition("OD1.1-kennisdeling", "Aantal leden van de online kennisdeling", "leden"),
        KpiDefinition(
            "OD1.2-infosessies", "Infosessies over een actueel thema, getrokken door VVSG", "sessies"
        ),
        KpiDefinition("OD1.2-deelnemersuren", "Deelnemersuren aan infosessies getrokken door VVSG", "uren"),
        KpiDefinition(
            "OD1.2-inspiratiedag-fysiek", "Fysieke inspiratiedag (Mediawijs trekt, VVSG steunt)", "dagen"
        ),
        KpiDefinition("OD1.2-inspiratiedag-online", "Online inspiratiedag", "dagen"),
        KpiDefinition("OD1.3-goede-praktijken", "Overzicht goede praktijken op de website", "praktijken"),
        KpiDefinition(
            "OD1.3-nieuwsbrieven", "Aantal verzonden nieuwsbrieven digitale inclusie", "nieuwsbrieven"
        ),
        KpiDefinition("OD1.3-artikels", "Overzicht artikels in Lokaal", "artikels"),
        KpiDefinition("OD1.3-op-vraag", "Infosessies, presentaties en workshops op vraag", "sessies"),
        KpiDefinition("OD2.1-meerdaagse", "Meerdaagse opleidingen waaraan VVSG meewerkte", "opleidingen"),
        KpiDefinition("OD2.2-thematisch", "Thematische opleidingen digitale inclusie", "opleidingen"),
        KpiDefinition(
            "OD2.2-geintegreerd", "VVSG-opleidingen met digitale inclusie geïntegreerd", "opleidingen"
        ),
        KpiDefinition("OD2.2-deelnemersuren", "Deelnemersuren opleidingen", "uren"),
        KpiDefinition("OD3.1-bevraging", "Gebruikersbevragingen bij lokale besturen", "bevragingen"),
        KpiDefinition("OD3.2-advies", "Aantal adviesgesprekken met lokale besturen", "gesprekken"),
        KpiDefinition("OD3.3-op-maat", "Lokale besturen met ondersteuning op maat", "besturen"),
        KpiDefinition("afstemming-stuurgroep", "Stuurgroep digitale inclusie", "vergaderingen"),
        KpiDefinition(
            "afstemming-overleg", "Overleg met de Vlaamse administratie en Mediawijs", "overleggen"
        ),
        KpiDefinition("feedback-gevraagd", "Feedback gevraagd na elke activiteit", "%"),
        KpiDefinition("feedback-respons", "Responsgraad feedback", "%"),
        KpiDefinition("feedback-tevredenheid", "Gemiddelde tevredenheid (1–5)", "score"),
        KpiDefinition(
            "feedback-gemotiveerd", "Gemotiveerd om met digitale inclusie aan de slag te gaan", "%"
        ),
        KpiDefinition(
            "feedback-zelf-realiseren", "In staat om zelf digitale-inclusieacties te realiseren", "%"
        ),
    )
}


@cache
def _targets_file() -> dict[str, object]:
    with TARGETS_FILE.open("rb") as handle:
        return tomllib.load(handle)


def target(code: str, year: int) -> int | float | None:
    config = _targets_file()
    years = config.get("years", {})
    assert isinstance(years, dict)
    for table in (years.get(str(year), {}), config.get("default", {})):
        assert isinstance(table, dict)
        if code in table:
            return table[code]  # type: ignore[no-any-return]
    return None


def status(value: int | float, goal: int | float | None) -> str:
    if goal is None:
        return "geen doel"
    return "behaald" if value >= goal else "niet behaald"
