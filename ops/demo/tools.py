"""The demo year's tools and handbooks catalogue (OD 3.1), through the newsletter service's staff API:
the tools the plan names (Mediawijs' and VVSG's guides, the Beeldbank, the City Deal toolbox) and a few
more, some disclosed before the demo year, most during it; one whose review was not done in time, one
updated to a new version, one retired. `create_tools` records what the KPI service should answer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ops.demo.client import Demo, today, working_day


@dataclass(frozen=True)
class DemoTool:
    title: str
    summary: str
    audience: str
    made_by: str  # vvsg, mediawijs, together, other
    url: str
    version: str
    published: tuple[int, int, int]  # (years before the demo year, month, day)
    review_months: int  # months from the last review to the next one
    retired: tuple[int, int] | None = None  # (month, day) in the demo year
    new_version: str | None = None  # staff update it to this version (today)


TOOLS: tuple[DemoTool, ...] = (
    DemoTool(
        "Beleidstool Digitale inclusie voor lokale besturen",
        "Een stappenplan om een lokaal digitale-inclusiebeleid uit te tekenen: van omgevingsanalyse tot "
        "actieplan, met vragen per beleidsdomein.",
        "Lokale besturen",
        "together",
        "https://www.mediawijs.be/nl/tools/beleidstool-digitale-inclusie",
        "3.0",
        (1, 3, 15),
        24,
    ),
    DemoTool(
        "Handboek digitale inclusie voor lokale besturen",
        "Wat digitale inclusie is, wie uit de boot valt en wat een gemeente, OCMW en bibliotheek samen "
        "kunnen doen, met voorbeelden uit Vlaamse gemeenten.",
        "Lokale besturen",
        "vvsg",
        "https://www.vvsg.be/kennisitem/vvsg/handboek-digitale-inclusie",
        "2.1",
        (1, 5, 2),
        12,  # due in the demo year and not reviewed: the report flags it
    ),
    DemoTool(
        "Inspiratiegids Werken met vrijwillige digihelpers",
        "Hoe je vrijwilligers vindt, opleidt en begeleidt die inwoners helpen met hun smartphone, computer "
        "en digitale overheidsdiensten.",
        "Lokale besturen en vrijwilligersorganisaties",
        "mediawijs",
        "https://www.mediawijs.be/nl/tools/inspiratiegids-vrijwillige-digihelpers",
        "1.2",
        (0, 2, 10),
        18,
    ),
    DemoTool(
        "Inspiratiegids Digitale Prikkels",
        "Laagdrempelige activiteiten om inwoners die weinig online gaan te prikkelen om digitale "
        "vaardigheden op te doen.",
        "Bibliotheken en welzijnsorganisaties",
        "mediawijs",
        "https://www.mediawijs.be/nl/tools/inspiratiegids-digitale-prikkels",
        "1.0",
        (0, 4, 7),
        18,
    ),
    DemoTool(
        "Praktische gids Aan de slag als digihelper",
        "Tips voor wie een ander helpt met digitale toestellen: geduld, privacy, veilig inloggen en wanneer "
        "je doorverwijst.",
        "Digihelpers en vrijwilligers",
        "together",
        "https://www.mediawijs.be/nl/tools/aan-de-slag-als-digihelper",
        "2.0",
        (0, 5, 20),
        24,
        new_version="2.1",
    ),
    DemoTool(
        "Beeldbank digitale inclusie",
        "Vrij te gebruiken beelden die digitale inclusie tonen zonder stereotypen, voor affiches, websites "
        "en nieuwsbrieven.",
        "Communicatiemedewerkers van lokale besturen",
        "vvsg",
        "https://www.vvsg.be/kennisitem/vvsg/beeldbank-digitale-inclusie",
        "1.0",
        (0, 6, 3),
        12,
    ),
    DemoTool(
        "Toolbox Mensgericht ontwerpen voor lokale besturen",
        "Methodes uit de City Deal E-inclusion by Design om digitale dienstverlening samen met inwoners te "
        "ontwerpen en te testen.",
        "Lokale besturen",
        "other",
        "https://www.vlaanderen.be/digitaal-vlaanderen/city-deal-e-inclusion-by-design/toolbox",
        "1.1",
        (0, 9, 15),
        12,
    ),
    DemoTool(
        "Digibank-toolkit",
        "Stap voor stap een digibank opzetten: draaiboek, checklists, sjablonen voor de uitnodiging en een "
        "registratieformulier voor de begeleiders.",
        "Lokale besturen en digibankvrijwilligers",
        "together",
        "https://www.vvsg.be/kennisitem/vvsg/digibank-toolkit",
        "1.0",
        (0, 10, 6),
        12,
    ),
    DemoTool(
        "Digitale inclusie-scan",
        "Een zelfscan voor lokale besturen: hoe digitaal inclusief zijn uw dienstverlening, communicatie en "
        "partnerschappen, met concrete verbeterpunten.",
        "Lokale besturen",
        "mediawijs",
        "https://www.mediawijs.be/nl/tools/digitale-inclusie-scan",
        "1.0",
        (1, 9, 1),
        12,
        retired=(11, 14),  # replaced by the new version of the beleidstool
    ),
    DemoTool(
        "Materiaal omgevingsanalyse: luik digitale inclusie",
        "Cijfers, vragen en bronnen om digitale inclusie op te nemen in de omgevingsanalyse voor het "
        "meerjarenplan.",
        "Beleidsmedewerkers van lokale besturen",
        "vvsg",
        "https://www.vvsg.be/kennisitem/vvsg/omgevingsanalyse-digitale-inclusie",
        "1.0",
        (0, 11, 24),
        12,
    ),
)


def _months_later(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, 28))


def create_tools(demo: Demo) -> None:
    """Publishes the catalogue (dated as it happened; a tool whose day has not come yet in a running year
    is left out), updates one tool today and retires one; `demo.facts` gets the two OD 3.1 tool KPIs."""
    # D of the year's KPIs: 31 December, or today for the running year
    year_end = min(date(demo.year, 12, 31), today())
    disclosed = overdue = 0
    published: list[tuple[DemoTool, dict[str, Any]]] = []
    for tool in TOOLS:
        years_before, month, day = tool.published
        on = (
            working_day(date(demo.year - years_before, month, day))
            if years_before
            else demo.in_year(month, day)
        )
        if on is None:
            continue
        next_review = _months_later(on, tool.review_months)
        body = {
            "title": tool.title,
            "summary": tool.summary,
            "audience": tool.audience,
            "made_by": tool.made_by,
            "url": tool.url,
            "version": tool.version,
            "last_reviewed_on": on.isoformat(),
            "next_review_on": next_review.isoformat(),
            "published_on": on.isoformat(),
        }
        created = demo.post("newsletter", "/tools", body)
        published.append((tool, created))
        retired_on = demo.in_year(*tool.retired) if tool.retired else None
        if retired_on is not None:
            demo.post("newsletter", f"/tools/{created['id']}/retire", {"retired_on": retired_on.isoformat()})
        disclosed += on.year == demo.year
        overdue += retired_on is None and next_review < year_end
    for tool, created in published:
        if tool.new_version and created.get("retired_on") is None:
            answer = demo.clients["newsletter"].patch(
                f"/tools/{created['id']}", json={"version": tool.new_version}
            )
            if answer.status_code != 200:
                raise RuntimeError(f"newsletter PATCH /tools: {answer.status_code} {answer.text}")
    demo.facts["OD3.1-hulpmiddelen"] = disclosed
    demo.facts["OD3.1-herziening"] = overdue
    demo.log(
        f"  {len(published)} hulpmiddelen in de catalogus ({disclosed} ontsloten in {demo.year}, "
        f"{overdue} met een achterstallige herziening)"
    )
