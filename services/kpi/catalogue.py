"""What each KPI is called (Dutch, as in the plan), its unit and its target for a year."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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
        KpiDefinition("OD3.1-hulpmiddelen", "Overzicht ontsloten tools en handleidingen", "hulpmiddelen"),
        KpiDefinition(
            "OD3.1-herziening",
            "Tools en handleidingen waarvan de herziening achterstallig is",
            "hulpmiddelen",
        ),
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


@dataclass(frozen=True)
class Targets:
    """The targets that hold for one year, and which version of the configuration they came from."""

    year: int
    version: str  # e.g. "default@1" or "2026@2": quoted in every answer and in every report
    values: dict[str, int | float]

    def of(self, code: str) -> int | float | None:
        return self.values.get(code)


def targets_file() -> Path:
    """`KPI_TARGETS_FILE` lets operations replace the targets without a new release."""
    override = os.environ.get("KPI_TARGETS_FILE", "").strip()
    return Path(override) if override else TARGETS_FILE


@cache
def _load(path: Path, _mtime: float) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _config() -> dict[str, Any]:
    path = targets_file()
    return _load(path, path.stat().st_mtime)


def targets(year: int) -> Targets:
    """The plan's minimums ([default]) with the year's own table ([years.YYYY]) laid over them.

    Every table carries a `version`; whoever changes a table raises its version, so a report always
    says which targets it was measured against."""
    config = _config()
    default = dict(config.get("default", {}))
    years = config.get("years", {})
    own = dict(years.get(str(year), {})) if isinstance(years, dict) else {}
    default_version = default.pop("version", 1)
    values = {k: v for k, v in default.items() if isinstance(v, int | float)}
    if own:
        own_version = own.pop("version", 1)
        values.update({k: v for k, v in own.items() if isinstance(v, int | float)})
        return Targets(year, f"{year}@{own_version}", values)
    return Targets(year, f"default@{default_version}", values)


def target(code: str, year: int) -> int | float | None:
    return targets(year).of(code)


def status(value: int | float, goal: int | float | None) -> str:
    if goal is None:
        return "geen doel"
    return "behaald" if value >= goal else "niet behaald"
