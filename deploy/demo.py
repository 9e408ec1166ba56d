"""A realistic demo year, created through the services' public HTTP APIs as staff would: organisations of
the network, ~650 members who join, move and leave, the knowledge-sharing channel; network meetings, info
sessions, inspiration days, trainings, sessions on request, steering and coordination meetings, with
registrations, attendance lists, recordings and a few cancellations; feedback answered on the personal
pages (and some paper forms); the user survey; advice and tailored support; articles in Lokaal, good
practices and a few newsletters. Then it waits until the KPI service shows it.

    python -m deploy.demo --year 2025 [--scale 0.1] [--members-url http://127.0.0.1:8001 ...]

AUTH_SECRET and LINK_SECRET come from the environment, the same as the services'. Every business date
lies in the demo year, except where a service dates a fact itself: a newsletter counts when it was sent
and the user survey when it closed, so those two count in the running year.

Deterministic (seeded), and it refuses to run twice against a members service that already has members.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from shared.auth import issue_token
from shared.links import make_token
from shared.settings import DEFAULT_PORTS

BRUSSELS = ZoneInfo("Europe/Brussels")
WORKERS = 4  # requests in flight at once where their order does not matter

# (name, NIS code) of Flemish cities and municipalities; the NIS code only where we are sure of it
MUNICIPALITIES: list[tuple[str, str | None]] = [
    ("Antwerpen", "11002"),
    ("Gent", "44021"),
    ("Brugge", "31005"),
    ("Leuven", "24062"),
    ("Mechelen", "12025"),
    ("Hasselt", "71022"),
    ("Kortrijk", "34022"),
    ("Aalst", "41002"),
    ("Oostende", "35013"),
    ("Genk", "71016"),
    ("Sint-Niklaas", "46021"),
    ("Roeselare", "36015"),
] + [
    (name, None)
    for name in (
        "Aalter",
        "Aarschot",
        "Affligem",
        "Alken",
        "Alveringem",
        "Anzegem",
        "Ardooie",
        "Arendonk",
        "As",
        "Asse",
        "Assenede",
        "Avelgem",
        "Baarle-Hertog",
        "Balen",
        "Beernem",
        "Beerse",
        "Beersel",
        "Begijnendijk",
        "Bekkevoort",
        "Beringen",
        "Berlaar",
        "Berlare",
        "Bertem",
        "Bever",
        "Beveren",
        "Bierbeek",
        "Bilzen",
        "Blankenberge",
        "Bocholt",
        "Boechout",
        "Bonheiden",
        "Boom",
        "Boortmeerbeek",
        "Bornem",
        "Borsbeek",
        "Boutersem",
        "Brakel",
        "Brasschaat",
        "Brecht",
        "Bredene",
        "Bree",
        "Buggenhout",
        "Damme",
        "De Haan",
        "De Panne",
        "Deerlijk",
        "Deinze",
        "Denderleeuw",
        "Dendermonde",
        "Dentergem",
        "Dessel",
        "Destelbergen",
        "Diepenbeek",
        "Diest",
        "Diksmuide",
        "Dilbeek",
        "Dilsen-Stokkem",
        "Drogenbos",
        "Duffel",
        "Edegem",
        "Eeklo",
        "Erpe-Mere",
        "Essen",
        "Evergem",
        "Galmaarden",
        "Gavere",
        "Geel",
        "Geetbets",
        "Gingelom",
        "Gistel",
        "Glabbeek",
        "Gooik",
        "Grimbergen",
        "Grobbendonk",
        "Haacht",
        "Haaltert",
        "Halen",
        "Halle",
        "Hamme",
        "Hamont-Achel",
        "Harelbeke",
        "Hechtel-Eksel",
        "Heers",
        "Heist-op-den-Berg",
        "Hemiksem",
        "Herent",
        "Herentals",
        "Herenthout",
        "Herk-de-Stad",
        "Herne",
        "Herselt",
        "Herzele",
        "Heusden-Zolder",
        "Heuvelland",
        "Hoegaarden",
        "Hoeilaart",
        "Hoeselt",
        "Holsbeek",
        "Hooglede",
        "Hoogstraten",
        "Houthalen-Helchteren",
        "Houthulst",
        "Hove",
        "Huldenberg",
        "Hulshout",
        "Ichtegem",
        "Ieper",
        "Ingelmunster",
        "Izegem",
        "Jabbeke",
        "Kalmthout",
        "Kampenhout",
        "Kapellen",
        "Kapelle-op-den-Bos",
        "Kaprijke",
        "Kasterlee",
        "Keerbergen",
        "Kinrooi",
        "Knokke-Heist",
        "Koekelare",
        "Koksijde",
        "Kontich",
        "Kortemark",
        "Kortenaken",
        "Kortenberg",
        "Kraainem",
        "Kruibeke",
        "Kruisem",
        "Kuurne",
        "Laakdal",
        "Laarne",
        "Lanaken",
        "Landen",
        "Langemark-Poelkapelle",
        "Lebbeke",
        "Lede",
        "Ledegem",
        "Lendelede",
        "Lennik",
        "Leopoldsburg",
        "Lichtervelde",
        "Liedekerke",
        "Lier",
        "Lierde",
        "Lille",
        "Linkebeek",
        "Lint",
        "Linter",
        "Lochristi",
        "Lokeren",
        "Lommel",
        "Londerzeel",
        "Lo-Reninge",
        "Lubbeek",
        "Lummen",
        "Maarkedal",
        "Maaseik",
        "Maasmechelen",
        "Machelen",
        "Maldegem",
        "Malle",
        "Menen",
        "Merchtem",
        "Merelbeke-Melle",
        "Merksplas",
        "Meise",
        "Middelkerke",
        "Moerbeke",
        "Mol",
        "Moorslede",
        "Mortsel",
        "Nazareth",
        "Niel",
        "Nieuwerkerken",
        "Nieuwpoort",
        "Nijlen",
        "Ninove",
        "Olen",
        "Oosterzele",
        "Oostkamp",
        "Opwijk",
        "Oudenaarde",
        "Oudenburg",
        "Oud-Heverlee",
        "Oud-Turnhout",
        "Overijse",
        "Peer",
        "Pelt",
        "Pittem",
        "Poperinge",
        "Putte",
        "Puurs-Sint-Amands",
        "Ranst",
        "Ravels",
        "Retie",
        "Riemst",
        "Rijkevorsel",
        "Roosdaal",
        "Rotselaar",
        "Ruiselede",
        "Rumst",
        "Schelle",
        "Schilde",
        "Schoten",
        "Sint-Genesius-Rode",
        "Sint-Gillis-Waas",
        "Sint-Katelijne-Waver",
        "Sint-Laureins",
        "Sint-Lievens-Houtem",
        "Sint-Martens-Latem",
        "Sint-Pieters-Leeuw",
        "Sint-Truiden",
        "Stabroek",
        "Staden",
        "Steenokkerzeel",
        "Stekene",
        "Temse",
        "Ternat",
        "Tervuren",
        "Tessenderlo",
        "Tielt",
        "Tielt-Winge",
        "Tienen",
        "Tongeren-Borgloon",
        "Torhout",
        "Tremelo",
        "Turnhout",
    )
]

INTERMUNICIPAL = [
    "Welzijnsregio Kempen",
    "Zorgband Leie en Schipdonk",
    "Welzijnsband Meetjesland",
    "Intergemeentelijke Samenwerking Noord-Limburg",
    "Welzijnskoepel West-Brabant",
    "Eerstelijnszone Waasland",
    "Regionaal Welzijnshuis Zuid-West-Vlaanderen",
    "Sociaal Huis Pajottenland",
    "Welzijnsvereniging Schelde-Rupel",
    "Midwest",
]
CIVIL_SOCIETY = [
    "Digidak",
    "Samenlevingsopbouw Vlaanderen",
    "Netwerk tegen Armoede",
    "OKRA",
    "Vlaamse Ouderenraad",
    "Link in de Kabel",
    "Bibliotheek Vlaanderen",
    "CAW Oost-Vlaanderen",
    "Digitale Buurtpunten",
    "Vormingplus Kempen",
    "De Digitale Draai",
    "Welzijnsschakels",
    "Liga voor Mensenrechten",
    "Kom op tegen Kanker",
    "Ligo Centrum voor Basiseducatie",
]
KNOWLEDGE = [
    "imec-SMIT VUB",
    "Thomas More Hogeschool",
    "Arteveldehogeschool",
    "KU Leuven LIRIS",
    "Hogeschool PXL",
]
REGIONAL = [
    "Agentschap Binnenlands Bestuur",
    "Departement Welzijn, Volksgezondheid en Gezin",
    "Digitaal Vlaanderen",
]
FIRST_NAMES = [
    "An",
    "Bart",
    "Charlotte",
    "Dirk",
    "Els",
    "Filip",
    "Griet",
    "Hanne",
    "Ilse",
    "Jan",
    "Katrien",
    "Lies",
    "Marc",
    "Nele",
    "Olivier",
    "Pieter",
    "Rik",
    "Sofie",
    "Tom",
    "Veerle",
    "Wim",
    "Yasmine",
    "Zeynep",
    "Lotte",
    "Mohamed",
    "Fatima",
    "Bram",
    "Eline",
    "Ruben",
    "Sara",
]
LAST_NAMES = [
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Dubois",
    "Hermans",
    "Aerts",
    "Michiels",
    "Van den Broeck",
    "Vermeulen",
    "De Backer",
    "Desmet",
    "Lambrechts",
    "Stevens",
    "El Amrani",
    "Yilmaz",
    "Verhoeven",
    "Smets",
]


# --- what happens in the demo year ----------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """A session of the year as staff plan it; `people` members and `outside` others register."""

    kind: str
    title: str
    theme: str
    lead: str
    format: str
    on: tuple[int, int]  # month and day; moved to the next working day
    start: str  # Brussels time
    hours: float  # planned hours (per day for a session over several days)
    people: int = 0
    outside: int = 0
    days: int = 1
    span: float | None = None  # hours between start and end, when breaks make it longer than `hours`
    capacity: int | None = None
    cancelled: bool = False
    recording: bool = False
    moved_from: tuple[int, int] | None = None  # first scheduled on this day, then rescheduled
    cancellations: int = 0  # registrations cancelled before the session
    pool: str = "all"  # all | requester (on request) | partners (steering group)


V, M, J = "vvsg", "mediawijs", "joint"
ON, PH, HY = "online", "physical", "hybrid"
GENERAL, THEMATIC, INFO = "network_meeting_general", "network_meeting_thematic", "info_session"
DAY_PHYSICAL, DAY_ONLINE = "inspiration_day_physical", "inspiration_day_online"
MULTIDAY, TRAINING, INTEGRATED = "training_multiday", "training_thematic", "training_integrated"
PRESENTATION, WORKSHOP = "presentation_on_request", "workshop_on_request"
STEERING, COORDINATION = "steering_group", "coordination_meeting"

PLANS: list[Plan] = [
    Plan(GENERAL, "Algemene netwerkbijeenkomst: jaarplanning en nieuwe leden", "werking van het netwerk",
         V, ON, (1, 23), "10:00", 2, people=45, recording=True),
    Plan(GENERAL, "Netwerkdag digitale inclusie (voorjaar)", "lokaal beleid digitale inclusie",
         V, PH, (3, 13), "09:30", 5, people=60, span=6.5, capacity=150),
    Plan(GENERAL, "Netwerkdag digitale inclusie (najaar)", "digitale dienstverlening en kwetsbare burgers",
         V, HY, (10, 9), "13:00", 3.5, people=55, capacity=120, recording=True),
    Plan(THEMATIC, "Lerend netwerk: digitale drempels in het sociaal huis", "toegankelijke dienstverlening",
         V, ON, (2, 20), "10:00", 2, people=28, recording=True),
    Plan(THEMATIC, "Lerend netwerk: ervaringen met digitale buurtpunten", "digitale buurtpunten",
         V, PH, (4, 24), "13:30", 2.5, people=22),
    Plan(THEMATIC, "Lerend netwerk: e-loketten en hybride dienstverlening", "hybride dienstverlening",
         V, ON, (6, 12), "10:00", 2, people=26),
    Plan(THEMATIC, "Lerend netwerk: artificiële intelligentie en kwetsbare burgers",
         "AI en digitale inclusie", V, ON, (11, 20), "14:00", 2, people=32, recording=True),
    Plan(INFO, "Infosessie: digitale inclusie in het lokaal sociaal beleid", "lokaal sociaal beleid",
         V, ON, (2, 6), "10:00", 1.5, people=32, recording=True),
    Plan(INFO, "Infosessie: subsidies en projectoproepen digitale inclusie", "subsidies",
         V, ON, (3, 27), "14:00", 2, people=38, capacity=35, cancellations=2, recording=True),
    Plan(INFO, "Infosessie: toegankelijke gemeentelijke websites en apps", "digitale toegankelijkheid",
         V, ON, (5, 22), "10:00", 1.5, people=27),
    Plan(INFO, "Infosessie: digitale vaardigheden van inwoners in kaart brengen", "digitale vaardigheden",
         V, ON, (7, 3), "10:00", 1.5, people=6, cancelled=True),
    Plan(INFO, "Infosessie: automatische rechtentoekenning en digitale drempels", "rechtenverkenning",
         V, HY, (9, 18), "13:30", 2, people=30, recording=True),
    Plan(INFO, "Infosessie met Mediawijs: mediawijsheid bij senioren", "mediawijsheid",
         J, ON, (10, 23), "10:00", 1.5, people=22),
    Plan(DAY_PHYSICAL, "Inspiratiedag digitale inclusie", "samen tegen de digitale kloof",
         M, PH, (5, 15), "09:30", 6, people=70, outside=25, span=7, capacity=180),
    Plan(DAY_ONLINE, "Online inspiratiedag: digitale inclusie in de praktijk", "praktijkvoorbeelden",
         M, ON, (11, 6), "09:30", 3, people=50, outside=10, recording=True),
    Plan(MULTIDAY, "Meerdaagse opleiding: digicoaches in je gemeente", "digicoaches",
         J, PH, (3, 4), "09:00", 6, people=16, days=3, span=7),
    Plan(MULTIDAY, "Meerdaagse opleiding: digitale inclusie voor OCMW-medewerkers", "sociale hulpverlening",
         M, PH, (10, 14), "09:00", 6, people=14, days=2, span=7),
    Plan(TRAINING, "Opleiding: digitale drempels herkennen aan het loket", "onthaal",
         V, PH, (2, 27), "09:30", 3, people=13),
    Plan(TRAINING, "Opleiding: eenvoudige taal in digitale communicatie", "klare taal",
         V, ON, (4, 17), "13:00", 3, people=12, moved_from=(4, 3)),
    Plan(TRAINING, "Opleiding: een lokaal actieplan digitale inclusie opmaken", "beleidsplanning",
         V, PH, (6, 5), "09:00", 3.5, people=12),
    Plan(TRAINING, "Opleiding: privacy bij digitale hulpverlening", "privacy",
         V, ON, (10, 2), "09:30", 3, people=10),
    Plan(INTEGRATED, "VVSG-opleiding nieuwe OCMW-raadsleden (luik digitale inclusie)", "OCMW-raad",
         V, PH, (1, 30), "19:00", 2.5, people=12),
    Plan(INTEGRATED, "VVSG-opleiding klantgericht onthaal (luik digitale inclusie)", "onthaal",
         V, PH, (5, 8), "09:30", 3, people=9),
    Plan(INTEGRATED, "VVSG-opleiding armoedebeleid (luik digitale inclusie)", "armoedebeleid",
         V, ON, (11, 13), "13:30", 2.5, people=10),
    Plan(PRESENTATION, "Presentatie digitale inclusie voor de gemeenteraad",
         "digitale inclusie in het meerjarenplan", V, PH, (2, 12), "19:30", 1.5, people=2, outside=12,
         pool="requester"),
    Plan(PRESENTATION, "Presentatie op het lokaal overleg kinderarmoede", "digitale kloof bij gezinnen",
         V, PH, (4, 23), "14:00", 1.5, people=2, outside=8, pool="requester"),
    Plan(PRESENTATION, "Presentatie op de welzijnsraad", "digitale inclusie en welzijn",
         V, PH, (9, 9), "19:00", 1.5, people=2, outside=10, pool="requester"),
    Plan(PRESENTATION, "Presentatie voor het managementteam", "digitale inclusie als organisatie",
         V, PH, (11, 27), "09:00", 1.5, people=1, outside=6, pool="requester"),
    Plan(WORKSHOP, "Workshop digitale drempels in de eigen dienstverlening", "drempelscan",
         V, PH, (3, 18), "13:30", 2.5, people=3, outside=10, pool="requester"),
    Plan(WORKSHOP, "Workshop toegankelijke communicatie", "klare taal",
         V, PH, (6, 24), "09:30", 2.5, people=2, outside=9, pool="requester"),
    Plan(WORKSHOP, "Workshop digibuddy's opstarten", "vrijwilligers",
         V, PH, (8, 26), "13:30", 2.5, people=2, outside=6, pool="requester", cancelled=True),
    Plan(STEERING, "Stuurgroep digitale inclusie (voorjaar)", "jaarplanning en opvolging KPI's",
         J, HY, (3, 20), "14:00", 2, people=7, pool="partners"),
    Plan(STEERING, "Stuurgroep digitale inclusie (najaar)", "evaluatie en planning volgend jaar",
         J, HY, (9, 25), "14:00", 2, people=7, pool="partners"),
] + [
    # monthly with the Flemish administration and Mediawijs; August falls through for the summer
    # holidays, so the demo year misses the target of 12 (on purpose: real years do)
    Plan(COORDINATION, f"Overleg Vlaamse administratie en Mediawijs ({month_name})", "afstemming",
         J, ON, (month, 12), "10:00", 1.5, cancelled=month == 8)
    for month, month_name in enumerate(
        ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
         "oktober", "november", "december"),
        start=1,
    )
]  # fmt: skip

NOT_ASKED = {STEERING, COORDINATION}  # the feedback service asks nobody after these
# the share of feedback requests answered on the personal page, per kind
RESPONSE_SHARE = {
    GENERAL: 0.3, THEMATIC: 0.35, INFO: 0.35, DAY_PHYSICAL: 0.22, DAY_ONLINE: 0.25, MULTIDAY: 0.55,
    TRAINING: 0.5, INTEGRATED: 0.45, PRESENTATION: 0.3, WORKSHOP: 0.45,
}  # fmt: skip
MEAN_SATISFACTION = {TRAINING: 4.4, MULTIDAY: 4.5, DAY_PHYSICAL: 4.3, PRESENTATION: 3.9, GENERAL: 4.0}
COUNTED = {
    GENERAL: "OD1.1-bijeenkomsten-algemeen", THEMATIC: "OD1.1-bijeenkomsten-specifiek",
    DAY_PHYSICAL: "OD1.2-inspiratiedag-fysiek", DAY_ONLINE: "OD1.2-inspiratiedag-online",
    PRESENTATION: "OD1.3-op-vraag", WORKSHOP: "OD1.3-op-vraag", MULTIDAY: "OD2.1-meerdaagse",
    TRAINING: "OD2.2-thematisch", INTEGRATED: "OD2.2-geintegreerd", STEERING: "afstemming-stuurgroep",
    COORDINATION: "afstemming-overleg",
}  # fmt: skip
COMMENTS = [
    "Heel praktisch, ik kan hier morgen mee aan de slag.",
    "Graag de slides nog doorsturen.",
    "Mooie voorbeelden uit andere gemeenten, dat inspireert.",
    "Iets te veel theorie, meer tijd voor uitwisseling graag.",
    "Fijn om collega's uit de regio te leren kennen.",
    "De opname komt goed van pas voor collega's die er niet bij konden zijn.",
    "Interessant, maar voor kleine gemeenten moeilijk haalbaar.",
    "Goede balans tussen uitleg en oefeningen.",
    "Graag een vervolgsessie over dit thema.",
    "De geluidskwaliteit online was niet altijd goed.",
    "Zeer bruikbaar voor ons sociaal huis.",
    "Duidelijke uitleg, ook voor wie nieuw is in het thema.",
]
ADVICE_TOPICS = [
    "lokaal actieplan digitale inclusie",
    "digitale drempels aan het onthaal",
    "subsidieaanvraag digitale buurtpunten",
    "samenwerking met de bibliotheek rond digitale vaardigheden",
    "toegankelijkheid van de gemeentelijke website",
    "inzet van digibuddy's en vrijwilligers",
    "digitale inclusie in het meerjarenplan",
    "laptops en toestellen voor kwetsbare inwoners",
    "e-loket en hybride dienstverlening",
    "samenwerking binnen de eerstelijnszone",
    "privacy bij digitale hulp aan inwoners",
    "digitale vaardigheden van het eigen personeel",
]
TRAJECTORIES = [
    (
        "starting",
        "Drempelscan en actieplan",
        "Samen met het sociaal huis de digitale drempels in de dienstverlening in kaart brengen en "
        "een eerste actieplan opmaken.",
    ),
    (
        "growing",
        "Lerend traject met coaching",
        "Begeleiding van het team digitale inclusie bij het uitbouwen van een digitaal buurtpunt met "
        "vrijwilligers.",
    ),
    (
        "experienced",
        "Co-creatie met inwoners",
        "Met inwoners in armoede de nieuwe e-loketten testen en verbeteren.",
    ),
    (
        "starting",
        "Quickscan digitale dienstverlening",
        "Een snelle doorlichting van de digitale dienstverlening en de eerste stappen naar hybride loketten.",
    ),
    (
        "growing",
        "Intervisie en begeleiding",
        "Intergemeentelijke aanpak van digitale inclusie afstemmen tussen de deelnemende besturen.",
    ),
    (
        "growing",
        "Drempelscan en actieplan",
        "Digitale inclusie verankeren in het lokaal sociaal beleid en het meerjarenplan.",
    ),
]
ARTICLES = [
    ("Digitale inclusie begint aan het loket", "Lokaal", (2, 3)),
    ("Zo pakken drie gemeenten de digitale kloof aan", "Lokaal", (3, 31)),
    ("Inspiratiedag: samen tegen de digitale kloof", "Lokaal", (6, 2)),
    ("Digibuddy's: vrijwilligers als digitale gids", "Lokaal", (9, 1)),
    ("Hybride dienstverlening: digitaal waar het kan, menselijk waar het moet", "Lokaal", (10, 27)),
    ("Digitale inclusie in het nieuwe meerjarenplan", "Lokaal", (12, 1)),
    ("Lokale besturen en de digitale kloof", "Sociaal.Net", (5, 5)),
]
PRACTICES = [
    ("Digitaal buurtpunt in het dienstencentrum", "digitaal-buurtpunt-dienstencentrum", (2, 14)),
    ("Digibuddy's helpen senioren met hun smartphone", "digibuddys-senioren", (3, 21)),
    ("Een onthaal zonder digitale drempels", "onthaal-zonder-drempels", (4, 30)),
    ("Laptops voor gezinnen in armoede", "laptops-gezinnen", (6, 19)),
    ("Klare taal op de gemeentelijke website", "klare-taal-website", (8, 28)),
    ("Samen met de bibliotheek naar digitale vaardigheden", "bibliotheek-digitale-vaardigheden", (10, 16)),
    ("Een e-loket met een menselijk gezicht", "e-loket-menselijk", (11, 21)),
    ("Intergemeentelijke aanpak digitale inclusie", "intergemeentelijke-aanpak", (12, 11)),
]
ISSUES = [
    (
        "Nieuwsbrief digitale inclusie: terugblik op {year}",
        "## Een jaar digitale inclusie\n\nDit jaar kwamen we samen op netwerkdagen, infosessies en "
        "opleidingen. Dank aan iedereen die meedeed!\n\n- De opnames van de infosessies staan online.\n"
        "- De presentaties van de inspiratiedag vind je op onze website.\n",
    ),
    (
        "Nieuwsbrief digitale inclusie: nieuwe toolbox digitale drempels",
        "## Toolbox digitale drempels\n\nMet de nieuwe toolbox breng je de digitale drempels in je eigen "
        "dienstverlening in kaart. Je vindt er een drempelscan, sjablonen en voorbeelden van andere "
        "gemeenten.\n\n[Naar de toolbox](https://www.vvsg.be/digitale-inclusie/toolbox)\n",
    ),
    (
        "Nieuwsbrief digitale inclusie: subsidies en projectoproepen",
        "## Subsidies\n\nEen overzicht van de lopende projectoproepen rond digitale inclusie, met de "
        "termijnen om in te dienen.\n\n## Infosessie\n\nWe lichten de oproepen toe in een online "
        "infosessie.\n",
    ),
    (
        "Nieuwsbrief digitale inclusie: goede praktijken uit het netwerk",
        "## Goede praktijken\n\nDigibuddy's, laptops voor gezinnen, een onthaal zonder drempels: "
        "collega's vertellen hoe zij het aanpakken.\n\n"
        "[Alle goede praktijken](https://www.vvsg.be/digitale-inclusie/goede-praktijken)\n",
    ),
]
SURVEY = {
    "title": "Gebruikersbevraging tools digitale inclusie",
    "topic": "tools en ondersteuning",
    "introduction": "Help ons de tools en de ondersteuning van VVSG rond digitale inclusie beter te maken. "
    "Invullen duurt vijf minuten.",
    "questions": [
        {"text": "Hoe tevreden ben je over de tools van VVSG rond digitale inclusie?", "kind": "rating"},
        {
            "text": "Welke tool gebruikte je het meest?",
            "kind": "choice",
            "options": ["Toolbox digitale drempels", "Sjabloon lokaal actieplan", "Zelftest voor het onthaal",
                        "Geen van deze"],
        },
        {"text": "Hoe nuttig is de ondersteuning op maat voor je bestuur?", "kind": "rating"},
        {"text": "Wat mist er nog?", "kind": "text", "required": False},
    ],
}  # fmt: skip
SURVEY_MISSING = [
    "Meer voorbeelden voor kleine gemeenten.",
    "Een vertaling van de toolbox in eenvoudige taal.",
    "Sjablonen voor de communicatie met inwoners.",
    "Meer regionale bijeenkomsten.",
]


@dataclass
class Attendee:
    registration_id: str
    member_id: str | None
    hours: float  # attended hours; 0 for someone who did not come


@dataclass
class HeldSession:
    id: str
    kind: str
    lead: str
    title: str
    format: str
    held_on: date
    attendees: list[Attendee]


def today() -> date:
    """The business date: Europe/Brussels."""
    return datetime.now(BRUSSELS).date()


@dataclass
class Demo:
    year: int
    clients: dict[str, httpx.Client]
    rng: random.Random = field(default_factory=lambda: random.Random(2025))
    organisations: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    log: Callable[[str], None] = print
    scale: float = 1.0
    link_secret: str | None = None
    public: httpx.Client | None = None  # the public pages, reached as a person's browser does: no token
    held: list[HeldSession] = field(default_factory=list)
    cancelled: int = 0
    answered: int = 0  # feedback requests about sessions answered on the personal page
    requests: int = 0  # feedback requests about sessions
    facts: dict[str, int] = field(default_factory=dict)  # counted KPIs that do not come from sessions
    completed_trajectories: int = 0
    issues: list[str] = field(default_factory=list)
    kpis: dict[str, Any] | None = None  # the KPI answer for the year once the KPI service caught up
    notes: list[str] = field(default_factory=list)
    _throttled: bool = False

    @property
    def last_day(self) -> date:
        """Business dates may not lie in the future: 31 December, or yesterday in the running year."""
        return min(date(self.year, 12, 31), today() - timedelta(days=1))

    def post(
        self, service: str, path: str, body: dict[str, Any] | None = None, *, csv: str | None = None
    ) -> dict[str, Any]:
        client = self.clients[service]
        if csv is not None:
            response = client.post(path, content=csv.encode("utf-8"), headers={"Content-Type": "text/csv"})
        else:
            response = client.post(path, json=body if body is not None else {})
        if response.status_code not in (200, 201, 202):
            raise RuntimeError(f"{service} {path}: {response.status_code} {response.text}")
        return response.json()  # type: ignore[no-any-return]

    def post_all(self, service: str, calls: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Independent commands side by side (the answers in the order of the calls)."""
        with ThreadPoolExecutor(WORKERS) as pool:
            return list(pool.map(lambda call: self.post(service, *call), calls))

    def get(self, service: str, path: str, **params: Any) -> Any:
        response = self.clients[service].get(path, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"{service} {path}: {response.status_code} {response.text}")
        return response.json()

    def pages(self, service: str, path: str, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            page = self.get(service, path, limit=1000, offset=len(items), **params)
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items

    def submit(self, path: str, form: dict[str, str]) -> int:
        """A person sends a form on a public page; waits when the page's rate limit says so."""
        assert self.public is not None
        while True:
            response = self.public.post(path, data=form)
            if response.status_code != 429:
                return response.status_code
            if not self._throttled:
                self._throttled = True
                self.log("  (de publieke pagina's remmen af: te veel antwoorden van één adres; even geduld)")
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))

    def count(self, full: int, least: int = 1) -> int:
        """`full` at scale 1, fewer in a smaller demo, never fewer than `least`."""
        return max(least, round(full * self.scale))

    def in_year(self, month: int, day: int) -> date | None:
        """A working day of the demo year, or None when it lies after the last allowed day."""
        found = _working_day(date(self.year, month, day))
        return found if found.year == self.year and found <= self.last_day else None

    def expected_kpis(self) -> dict[str, float]:
        """What the KPI service should answer for the year, from what the demo did."""
        expected: dict[str, float] = {code: 0 for code in set(COUNTED.values())}
        expected |= {"OD1.2-infosessies": 0, "OD1.2-deelnemersuren": 0.0, "OD2.2-deelnemersuren": 0.0}
        for held in self.held:
            hours = sum(a.hours for a in held.attendees)
            if held.kind == INFO and held.lead == V:
                expected["OD1.2-infosessies"] += 1
                expected["OD1.2-deelnemersuren"] += hours
            if held.kind in COUNTED:
                expected[COUNTED[held.kind]] += 1
            if held.kind in (TRAINING, INTEGRATED):
                expected["OD2.2-deelnemersuren"] += hours
        for code in ("OD1.2-deelnemersuren", "OD2.2-deelnemersuren"):
            expected[code] = round(expected[code], 2)
        if any(h.kind not in NOT_ASKED for h in self.held):
            expected["feedback-gevraagd"] = 100.0
            expected["feedback-respons"] = _percentage(self.answered, self.requests)
        return expected | self.facts


def _working_day(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _percentage(part: int, whole: int) -> float:
    if not whole:
        return 0.0
    return float((Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _dutch_hours(hours: float) -> str:
    return f"{hours:g}".replace(".", ",")  # as a Belgian spreadsheet writes them


def _wait(check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Poll until `check` gives something truthy; None after the timeout."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found or None
        time.sleep(interval)


def _subset(items: list[Any], share: float, least: int) -> list[Any]:
    return items if share >= 1 else items[: max(least, round(len(items) * share))]


def _active_on(member: dict[str, Any], day: date) -> bool:
    left = member.get("left_on")
    return date.fromisoformat(member["joined_on"]) <= day and (left is None or date.fromisoformat(left) > day)


def _kinds(demo: Demo) -> dict[str, str]:
    return {o["id"]: o["kind"] for o in demo.organisations}


# --- the network -------------------------------------------------------------------------------


def create_network(demo: Demo, members: int = 650) -> None:
    """Organisations, members who join over the years, some who move or leave, knowledge sharing."""
    share = demo.scale  # a smaller demo: fewer organisations of every kind
    kinds = (
        [(n, "lokaal_bestuur", nis) for n, nis in _subset(MUNICIPALITIES, share, 8)]
        + [(n, "intergemeentelijk_samenwerkingsverband", None) for n in _subset(INTERMUNICIPAL, share, 2)]
        + [(n, "middenveldorganisatie", None) for n in _subset(CIVIL_SOCIETY, share, 2)]
        + [(n, "kennisinstelling", None) for n in _subset(KNOWLEDGE, share, 1)]
        + [(n, "bovenlokale_overheid", None) for n in _subset(REGIONAL, share, 1)]
    )
    bodies: list[dict[str, Any]] = []
    for name, kind, nis in kinds:
        label = name if kind != "lokaal_bestuur" else (f"Stad {name}" if nis else f"Gemeente {name}")
        body: dict[str, Any] = {"name": label, "kind": kind, "registered_on": "2021-01-04"}
        if nis:
            body["nis_code"] = nis
        bodies.append(body)
    demo.organisations += demo.post_all("members", [("/organisations", b) for b in bodies])
    demo.log(f"  {len(demo.organisations)} organisaties")
    local = [o for o in demo.organisations if o["kind"] == "lokaal_bestuur"]
    others = [o for o in demo.organisations if o["kind"] != "lokaal_bestuur"]
    first_day, year_end = date(2021, 3, 1), demo.last_day
    bodies = []
    for index in range(members):
        organisation = demo.rng.choice(local if demo.rng.random() < 0.8 else others)
        first, last = demo.rng.choice(FIRST_NAMES), demo.rng.choice(LAST_NAMES)
        domain = re.sub(r"[^a-z0-9-]", "", organisation["name"].split(" ", 1)[-1].lower()) or "voorbeeld"
        joined = demo.day(first_day, year_end - timedelta(days=20))
        bodies.append(
            {
                "first_name": first,
                "last_name": last,
                "email": re.sub(r"[^a-z0-9.@-]", "", f"{first}.{last}.{index}@{domain}.be".lower()),
                "organisation_id": organisation["id"],
                "newsletter_consent": demo.rng.random() < 0.7,
                "joined_on": joined.isoformat(),
            }
        )
    demo.members += demo.post_all("members", [("/members", b) for b in bodies])
    # what happens to each member later: decided in order (the seeded dice), sent side by side
    later: list[list[tuple[str, dict[str, Any]]]] = []
    for member in demo.members:
        joined = date.fromisoformat(member["joined_on"])
        path = f"/members/{member['id']}"
        steps: list[tuple[str, dict[str, Any]]] = []
        roll = demo.rng.random()
        if roll < 0.35:
            joined_on = demo.day(joined, min(joined + timedelta(days=60), year_end))
            steps.append((f"{path}/knowledge-sharing/join", {"joined_on": joined_on.isoformat()}))
        if roll > 0.93:
            target = demo.rng.choice(local)
            if target["id"] != member["organisation_id"]:
                moved_on = demo.day(joined, year_end)
                steps.append(
                    (f"{path}/move", {"organisation_id": target["id"], "moved_on": moved_on.isoformat()})
                )
        if roll > 0.88:
            steps.append((f"{path}/leave", {"left_on": demo.day(joined, year_end).isoformat()}))
        later.append(steps)

    def live(steps: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        latest: dict[str, Any] = {}
        for step_path, body in steps:
            latest = demo.post("members", step_path, body)
        return latest

    with ThreadPoolExecutor(WORKERS) as pool:
        for member, latest in zip(demo.members, pool.map(live, later), strict=True):
            member.update(latest)
    demo.log(f"  {len(demo.members)} leden")


# --- sessions -------------------------------------------------------------------------------------


def _schedule(demo: Demo, plan: Plan) -> tuple[list[date], str, str, float] | None:
    """The days, start, end and planned hours of a plan in the demo year (None: not in the year)."""
    first = demo.in_year(*plan.on)
    if first is None:
        return None
    while any((first + timedelta(days=i)).weekday() >= 5 for i in range(plan.days)):
        first += timedelta(days=1)  # a training over several days stays within one working week
    days = [first + timedelta(days=i) for i in range(plan.days)]
    if days[-1] > demo.last_day or days[-1].year != demo.year:
        return None
    hour, minute = (int(part) for part in plan.start.split(":"))
    starts = datetime.combine(first, dt_time(hour, minute))
    ends = datetime.combine(days[-1], dt_time(hour, minute)) + timedelta(hours=plan.span or plan.hours)
    return days, starts.isoformat(), ends.isoformat(), plan.hours * plan.days


def _pick_requester(demo: Demo, day: date) -> dict[str, Any]:
    """A local government that asked for a session, with at least one member active on the day."""
    active = {m["organisation_id"] for m in demo.members if _active_on(m, day)}
    local = [o for o in demo.organisations if o["kind"] == "lokaal_bestuur" and o["id"] in active]
    return demo.rng.choice(local or demo.organisations)


def _who_comes(demo: Demo, plan: Plan, day: date, requester: dict[str, Any] | None) -> list[dict[str, Any]]:
    active = [m for m in demo.members if _active_on(m, day)]
    kinds = _kinds(demo)
    if plan.pool == "requester" and requester is not None:
        pool = [m for m in active if m["organisation_id"] == requester["id"]]
    elif plan.pool == "partners":
        partners = {"bovenlokale_overheid", "kennisinstelling", "middenveldorganisatie"}
        pool = [m for m in active if kinds.get(m["organisation_id"]) in partners] or active
    else:
        pool = active
    wanted = plan.people if plan.pool == "requester" else demo.count(plan.people, least=2)
    return demo.rng.sample(pool, min(wanted, len(pool)))


def _attendance(
    demo: Demo, plan: Plan, days: list[date], seated: list[dict[str, Any]]
) -> tuple[str, list[float]]:
    """The attendance list staff upload (Dutch headers, Belgian decimals) and the hours per registration."""
    show_up = 0.95 if plan.pool != "all" else (0.82 if plan.format == ON else 0.88)
    per_day = plan.hours
    lines = ["inschrijving;aanwezig;uren;dag"]
    totals: list[float] = []
    for registration in seated:
        comes = demo.rng.random() < show_up
        total = 0.0
        for day in days:
            hours = 0.0
            if comes and (len(days) == 1 or demo.rng.random() < 0.9):
                hours = per_day
                if per_day >= 2.5 and demo.rng.random() < 0.12:  # left early
                    hours = max(0.5, round(per_day * demo.rng.uniform(0.45, 0.85) * 2) / 2)
            total += hours
            answer = f"ja;{_dutch_hours(hours)}" if hours else "nee;"
            lines.append(f"{registration['id']};{answer};{day.isoformat()}")
        totals.append(round(total, 2))
    return "\n".join(lines) + "\n", totals


def run_session(demo: Demo, plan: Plan) -> None:
    scheduled = _schedule(demo, plan)
    if scheduled is None:
        return
    days, starts_at, ends_at, planned = scheduled
    requester = _pick_requester(demo, days[0]) if plan.kind in (PRESENTATION, WORKSHOP) else None
    title = f"{plan.title} – {requester['name']}" if requester else plan.title
    body: dict[str, Any] = {
        "kind": plan.kind,
        "title": title,
        "theme": plan.theme,
        "lead": plan.lead,
        "format": plan.format,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "planned_hours": planned,
    }
    if plan.capacity:
        body["capacity"] = plan.capacity if demo.scale >= 1 else demo.count(plan.capacity, least=2)
    if requester:
        body["requested_by_organisation_id"] = requester["id"]
    if plan.moved_from and (moved := _schedule(demo, replace(plan, on=plan.moved_from))) is not None:
        first = demo.post("events", "/sessions", body | {"starts_at": moved[1], "ends_at": moved[2]})
        session = demo.post(
            "events", f"/sessions/{first['id']}/reschedule", {"starts_at": starts_at, "ends_at": ends_at}
        )
    else:
        session = demo.post("events", "/sessions", body)
    sid = session["id"]
    path = f"/sessions/{sid}/registrations"
    bodies: list[dict[str, Any]] = [
        {"member_id": m["id"]} for m in _who_comes(demo, plan, days[0], requester)
    ]
    for _ in range(demo.count(plan.outside, least=0) if plan.outside else 0):
        if requester is not None:
            bodies.append({"organisation_id": requester["id"], "organisation_kind": requester["kind"]})
        else:
            kind = demo.rng.choice(["middenveldorganisatie", "andere", "lokaal_bestuur"])
            bodies.append({"organisation_kind": kind})
    if plan.capacity:  # who lands on the waiting list depends on the order: one at a time
        registrations = [demo.post("events", path, b) for b in bodies]
    else:
        registrations = demo.post_all("events", [(path, b) for b in bodies])
    if plan.cancelled:
        cancelled_on = max(date(demo.year, 1, 1), days[0] - timedelta(days=demo.rng.randint(3, 12)))
        demo.post("events", f"/sessions/{sid}/cancel", {"cancelled_on": cancelled_on.isoformat()})
        demo.cancelled += 1
        return
    by_id = {r["id"]: r for r in registrations}
    seated_now = [r for r in registrations if not r["waitlisted"]]
    for registration in demo.rng.sample(seated_now, min(plan.cancellations, len(seated_now))):
        answer = demo.post("events", f"{path}/{registration['id']}/cancel")
        del by_id[registration["id"]]
        for promoted in answer["promoted"]:
            by_id[promoted["id"]] = promoted
    seated = [r for r in by_id.values() if not r["waitlisted"]]
    attendees: list[Attendee] = []
    if seated:
        csv, hours = _attendance(demo, plan, days, seated)
        demo.post("events", f"/sessions/{sid}/attendance/import", csv=csv)
        attendees = [Attendee(r["id"], r["member_id"], h) for r, h in zip(seated, hours, strict=True)]
    demo.post("events", f"/sessions/{sid}/held", {"held_on": days[-1].isoformat()})
    if plan.recording:
        slug = re.sub(r"[^a-z0-9]+", "-", plan.title.lower()).strip("-")
        demo.post(
            "events",
            f"/sessions/{sid}/recording",
            {"url": f"https://www.vvsg.be/digitale-inclusie/opnames/{slug}"},
        )
    demo.held.append(HeldSession(sid, plan.kind, plan.lead, title, plan.format, days[-1], attendees))


def create_sessions(demo: Demo) -> None:
    by_kind: dict[str, list[Plan]] = {}
    for plan in PLANS:
        by_kind.setdefault(plan.kind, []).append(plan)
    chosen = {id(p) for plans in by_kind.values() for p in _subset(plans, demo.scale, 1)}
    for plan in PLANS:
        if id(plan) in chosen:
            run_session(demo, plan)
    participants = sum(1 for h in demo.held for a in h.attendees if a.hours)
    demo.log(f"  {len(demo.held)} sessies gehouden ({participants} deelnames), {demo.cancelled} geannuleerd")


# --- advice and tailored support ------------------------------------------------------------------


def create_support(demo: Demo) -> None:
    local = [
        o
        for o in demo.organisations
        if o["kind"] in ("lokaal_bestuur", "intergemeentelijk_samenwerkingsverband")
    ]
    start, end = date(demo.year, 1, 6), demo.last_day
    advice = demo.count(20)
    for _ in range(advice):
        demo.post(
            "events",
            "/advice",
            {
                "organisation_id": demo.rng.choice(local)["id"],
                "given_on": _working_day(demo.day(start, end - timedelta(days=3))).isoformat(),
                "topic": demo.rng.choice(ADVICE_TOPICS),
                "channel": demo.rng.choices(["meeting", "online", "phone", "mail"], [3, 3, 2, 2])[0],
                "with_mediawijs": demo.rng.random() < 0.25,
            },
        )
    count = demo.count(len(TRAJECTORIES))
    trajectories = []
    for index, (organisation, (stage, methodology, description)) in enumerate(
        zip(demo.rng.sample(local, count), TRAJECTORIES, strict=False)
    ):
        started = _working_day(date(demo.year, 1 + index * 9 // max(1, count), 10))
        trajectory = demo.post(
            "events",
            "/trajectories",
            {
                "organisation_id": organisation["id"],
                "started_on": min(started, demo.last_day).isoformat(),
                "stage": stage,
                "methodology": methodology,
                "description": description,
            },
        )
        trajectories.append(trajectory)
    completed = 0
    for trajectory in trajectories[: max(1, len(trajectories) // 2)]:
        started = date.fromisoformat(trajectory["started_on"])
        done = min(started + timedelta(days=demo.rng.randint(100, 200)), demo.last_day)
        demo.post(
            "events",
            f"/trajectories/{trajectory['id']}/complete",
            {"completed_on": done.isoformat(), "summary": "Actieplan opgemaakt en de eerste acties lopen."},
        )
        completed += 1
    demo.facts["OD3.2-advies"] = advice
    demo.facts["OD3.3-op-maat"] = len(trajectories)
    demo.completed_trajectories = completed
    demo.log(f"  {advice} adviesgesprekken, {len(trajectories)} trajecten op maat ({completed} afgerond)")


# --- communications ------------------------------------------------------------------------------


def create_communications(demo: Demo) -> None:
    articles = [a for a in ARTICLES if demo.in_year(*a[2])]
    articles = (
        _subset([a for a in articles if a[1] == "Lokaal"], demo.scale, 1)
        + [a for a in articles if a[1] != "Lokaal"][: 1 if demo.scale >= 1 else 0]
    )
    for title, magazine, (month, day) in articles:
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        demo.post(
            "newsletter",
            "/articles",
            {
                "title": title,
                "magazine": magazine,
                "published_on": _working_day(date(demo.year, month, day)).isoformat(),
                "url": f"https://www.vvsg.be/lokaal/{slug}" if magazine == "Lokaal" else None,
            },
        )
    local = [o for o in demo.organisations if o["kind"] == "lokaal_bestuur"]
    practices = _subset([p for p in PRACTICES if demo.in_year(*p[2])], demo.scale, 1)
    for title, slug, (month, day) in practices:
        demo.post(
            "newsletter",
            "/good-practices",
            {
                "title": title,
                "organisation_id": demo.rng.choice(local)["id"],
                "published_on": _working_day(date(demo.year, month, day)).isoformat(),
                "url": f"https://www.vvsg.be/digitale-inclusie/goede-praktijken/{slug}",
            },
        )
    demo.facts["OD1.3-artikels"] = sum(1 for a in articles if a[1] == "Lokaal")
    demo.facts["OD1.3-goede-praktijken"] = len(practices)
    demo.log(
        f"  {len(articles)} artikels (waarvan {demo.facts['OD1.3-artikels']} in Lokaal), "
        f"{len(practices)} goede praktijken"
    )


# --- feedback ------------------------------------------------------------------------------------


def _rating(demo: Demo, mean: float) -> str:
    return str(min(5, max(1, round(demo.rng.gauss(mean, 0.75)))))


def _feedback_form(demo: Demo, kind: str) -> dict[str, str]:
    form = {
        "satisfaction": _rating(demo, MEAN_SATISFACTION.get(kind, 4.2)),
        "usefulness": _rating(demo, 4.0),
        "motivated": _rating(demo, 4.1),
        "able_to_act": _rating(demo, 3.5),
        "comment": demo.rng.choice(COMMENTS) if demo.rng.random() < 0.3 else "",
    }
    return form


def collect_feedback(demo: Demo) -> None:
    """The feedback service asks every attending member once a session is held (it reacts to the
    events); some answer on their personal page, and staff type in a few paper forms."""
    asked = [h for h in demo.held if h.kind not in NOT_ASKED]
    expected = sum(1 for h in asked for a in h.attendees if a.member_id and a.hours)
    ids = {h.id for h in asked}

    def requests() -> list[dict[str, Any]] | None:
        found = [
            r for r in demo.pages("feedback", "/requests", subject_type="session") if r["subject_id"] in ids
        ]
        return found if len(found) >= expected else None

    found = _wait(requests, 120) or [
        r for r in demo.pages("feedback", "/requests", subject_type="session") if r["subject_id"] in ids
    ]
    if len(found) < expected:
        demo.notes.append(f"slechts {len(found)} van de {expected} feedbackvragen kwamen op tijd")
    by_attendee = {(r["subject_id"], r["member_id"]): r for r in found}
    demo.requests = len(found)
    if not demo.link_secret:
        demo.notes.append("geen LINK_SECRET: niemand beantwoordde een feedbackvraag via de persoonlijke link")
    for held in asked:
        for attendee in held.attendees:
            request = by_attendee.get((held.id, attendee.member_id))
            if request is None or not demo.link_secret or demo.rng.random() >= RESPONSE_SHARE[held.kind]:
                continue
            token = make_token(demo.link_secret, "feedback", request["id"])
            if demo.submit(f"/feedback/{token}", _feedback_form(demo, held.kind)) in (200, 409):
                demo.answered += 1
    paper = 0
    for held in asked:
        if held.kind not in (DAY_PHYSICAL, GENERAL) or held.format != PH or not held.attendees:
            continue  # paper forms are handed out at the big days on location
        for _ in range(demo.count(12, least=1)):
            form = _feedback_form(demo, held.kind)
            body: dict[str, Any] = {k: int(v) for k, v in form.items() if k != "comment"}
            if demo.rng.random() < 0.15:
                body.pop(demo.rng.choice(["usefulness", "able_to_act"]))  # left blank on paper
            if form["comment"]:
                body["comment"] = form["comment"]
            received = min(held.held_on + timedelta(days=demo.rng.randint(1, 6)), demo.last_day)
            body["received_on"] = received.isoformat()
            demo.post("feedback", f"/sessions/{held.id}/responses", body)
            paper += 1
    demo.log(
        f"  {demo.requests} feedbackvragen, {demo.answered} beantwoord via de persoonlijke link "
        f"({_percentage(demo.answered, demo.requests):g}%), {paper} papieren formulieren"
    )
    if demo.completed_trajectories and demo.link_secret:  # asked when a trajectory is completed

        def trajectory_requests() -> list[dict[str, Any]] | None:
            found = demo.pages("feedback", "/requests", subject_type="support_trajectory")
            return found if len(found) >= demo.completed_trajectories else None

        asked_organisations = _wait(trajectory_requests, 30) or []
        for request in asked_organisations[: max(1, len(asked_organisations) * 2 // 3)]:
            token = make_token(demo.link_secret, "feedback", request["id"])
            demo.submit(f"/feedback/{token}", _feedback_form(demo, "support_trajectory"))


def run_survey(demo: Demo) -> None:
    """The yearly user survey on tools (OD 3.1): opened, local-government members invited, some answer,
    closed. The feedback service dates opening and closing itself (today): they count in the running
    year, not in the demo year."""
    kinds = _kinds(demo)
    invited = [
        m["id"]
        for m in demo.members
        if m.get("active", True)
        and kinds.get(m["organisation_id"]) in ("lokaal_bestuur", "intergemeentelijk_samenwerkingsverband")
    ]
    if not invited:
        return
    title = f"{SURVEY['title']} {demo.year}"
    survey = demo.post("feedback", "/surveys", SURVEY | {"title": title})
    demo.post("feedback", f"/surveys/{survey['id']}/invitations", {"member_ids": invited})
    by_member = {
        r["member_id"]: r
        for r in demo.pages("feedback", "/requests", subject_type="survey", subject_id=survey["id"])
    }
    options = SURVEY["questions"][1]["options"]  # type: ignore[index]
    answered = 0
    for member_id in invited:
        request = by_member.get(member_id)
        if request is None or not demo.link_secret or demo.rng.random() >= 0.25:
            continue
        form = {
            "q1": _rating(demo, 3.9),
            "q2": demo.rng.choices(options, [5, 3, 2, 1])[0],
            "q3": _rating(demo, 3.7),
            "q4": demo.rng.choice(SURVEY_MISSING) if demo.rng.random() < 0.3 else "",
        }
        token = make_token(demo.link_secret, "survey", request["id"])
        if demo.submit(f"/survey/{token}", form) in (200, 409):
            answered += 1
    if answered:  # local-government answers count once the service knows the members' organisations
        _wait(
            lambda: (
                (demo.get("feedback", f"/surveys/{survey['id']}").get("local_government_responses") or 0) >= 1
            ),
            30,
        )
    closed = demo.post("feedback", f"/surveys/{survey['id']}/close", {})
    demo.log(
        f"  gebruikersbevraging: {len(invited)} uitgenodigd, {closed['responses']} antwoorden "
        f"({closed['local_government_responses']} van lokale besturen), gesloten op {closed['closed_on']}"
    )


# --- newsletter ----------------------------------------------------------------------------------


def send_newsletters(demo: Demo) -> None:
    """Members who consented are subscribed by the newsletter service itself (from the contacts topic):
    wait for them, then send a few issues. The service dates `newsletter.sent` when the last mail has
    gone out: these count in the running year."""
    consenting = sum(1 for m in demo.members if m.get("newsletter_consent") and m.get("active", True))

    def subscribers() -> int:
        total: int = demo.get("newsletter", "/subscribers", state="active", limit=1)["total"]
        return total if total >= consenting else 0

    total = _wait(subscribers, 90) or demo.get("newsletter", "/subscribers", state="active", limit=1)["total"]
    if not total:
        demo.notes.append("de nieuwsbriefdienst kende nog geen abonnees: geen nieuwsbrief verzonden")
        return
    for title, body in _subset(ISSUES, demo.scale, 1):
        issue = demo.post("newsletter", "/issues", {"title": title.format(year=demo.year), "body": body})
        demo.post("newsletter", f"/issues/{issue['id']}/send")
        demo.issues.append(issue["id"])
    demo.log(f"  {len(demo.issues)} nieuwsbrieven in verzending naar {total} abonnees")


# --- the KPI service catching up ------------------------------------------------------------------


def _differences(expected: dict[str, float], answer: dict[str, Any]) -> dict[str, tuple[float, Any]]:
    values = {k["code"]: k["value"] for k in answer["kpis"]}
    return {
        code: (want, values.get(code))
        for code, want in expected.items()
        if values.get(code) is None or abs(float(values[code]) - want) > 0.011
    }


def wait_for_kpis(demo: Demo, timeout: float = 120) -> dict[str, Any] | None:
    """Until the KPI service shows for the year what the demo did; its answer. The newsletters are
    not waited for: the mails keep going out in the background."""
    expected = demo.expected_kpis()
    state: dict[str, Any] = {}

    def caught_up() -> dict[str, Any] | None:
        answer = demo.get("kpi", f"/kpis/{demo.year}")
        state["answer"], state["differences"] = answer, _differences(expected, answer)
        return answer if not state["differences"] else None

    answer = _wait(caught_up, timeout, 1.0)
    if answer is None and state.get("differences"):
        shown = ", ".join(f"{c}: {v[1]} (verwacht {v[0]:g})" for c, v in sorted(state["differences"].items()))
        demo.notes.append(f"de KPI-dienst liep nog achter: {shown}")
    if "newsletter" in demo.clients and demo.issues:
        sent = sum(1 for i in demo.issues if demo.get("newsletter", f"/issues/{i}")["status"] == "sent")
        if sent < len(demo.issues):
            demo.log(
                f"  {sent} van de {len(demo.issues)} nieuwsbrieven zijn al weg; "
                "de rest volgt op de achtergrond"
            )
    return answer or state.get("answer")


# --- all together --------------------------------------------------------------------------------


def load(
    urls: dict[str, str],
    token: str,
    year: int,
    log: Callable[[str], None] = print,
    *,
    scale: float = 1.0,
    link_secret: str | None = None,
) -> Demo:
    """The demo year through the services at `urls` (members, events, feedback, newsletter, kpi; the
    ones given). `link_secret` (default: LINK_SECRET from the environment) makes the personal links
    the attendees answer on, as the services' own mails would."""
    clients = {
        name: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        for name, url in urls.items()
    }
    public = httpx.Client(base_url=urls["feedback"], timeout=60) if "feedback" in urls else None
    secret = link_secret if link_secret is not None else os.environ.get("LINK_SECRET")
    try:
        existing = clients["members"].get("/members", params={"state": "all", "limit": 1})
        existing.raise_for_status()
        demo = Demo(year, clients, log=log, scale=scale, link_secret=secret or None, public=public)
        if existing.json()["total"]:
            log("  de demogegevens staan er al")
            return demo
        started = time.monotonic()
        steps: list[tuple[str, Callable[[Demo], None], tuple[str, ...]]] = [
            ("netwerk", lambda d: create_network(d, d.count(650)), ("members",)),
            ("sessies", create_sessions, ("events",)),
            ("advies en ondersteuning op maat", create_support, ("events",)),
            ("artikels en goede praktijken", create_communications, ("newsletter",)),
            ("feedback", collect_feedback, ("feedback",)),
            ("gebruikersbevraging", run_survey, ("feedback",)),
            ("nieuwsbrieven", send_newsletters, ("newsletter",)),
        ]
        for name, step, needs in steps:
            if all(n in clients for n in needs):
                began = time.monotonic()
                step(demo)
                log(f"    ({name}: {time.monotonic() - began:.1f} s)")
        if "kpi" in clients:
            began = time.monotonic()
            demo.kpis = wait_for_kpis(demo)
            log(f"    (KPI-dienst bijgewerkt: {time.monotonic() - began:.1f} s)")
        for note in demo.notes:
            log(f"  let op: {note}")
        log(f"  demojaar {year} klaar in {time.monotonic() - started:.0f} s")
        return demo
    finally:
        for client in clients.values():
            client.close()
        if public is not None:
            public.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--year", type=int, default=date.today().year - 1)
    parser.add_argument("--scale", type=float, default=1.0, help="1 = ~650 members; 0.1 for a quick one")
    for name, port in DEFAULT_PORTS.items():
        parser.add_argument(f"--{name}-url", default=f"http://127.0.0.1:{port}")
    args = parser.parse_args(argv)
    token = issue_token(os.environ.get("AUTH_SECRET", ""), "demo@vvsg.be", "staff")
    urls = {name: getattr(args, f"{name}_url") for name in DEFAULT_PORTS}
    load(urls, token, args.year, scale=args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
