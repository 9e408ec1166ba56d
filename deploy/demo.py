"""A realistic demo year, created through the public HTTP APIs as staff would: organisations of the
network, ~650 members who join, move and leave, and the knowledge-sharing channel.

    python -m deploy.demo --year 2025 --members-url http://127.0.0.1:8001 ...

Deterministic (seeded), and it refuses to run twice against a members service that already has members.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx

from shared.auth import issue_token

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


@dataclass
class Demo:
    year: int
    clients: dict[str, httpx.Client]
    rng: random.Random = field(default_factory=lambda: random.Random(2025))
    organisations: list[dict[str, Any]] = field(default_factory=list)
    members: list[dict[str, Any]] = field(default_factory=list)
    log: Callable[[str], None] = print

    def post(self, service: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.clients[service].post(path, json=body)
        if response.status_code not in (200, 201):
            raise RuntimeError(f"{service} {path}: {response.status_code} {response.text}")
        return response.json()  # type: ignore[no-any-return]

    def day(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))


def create_network(demo: Demo, members: int = 650) -> None:
    """Organisations, members who join over the years, some who move or leave, knowledge sharing."""
    kinds = (
        [(n, "lokaal_bestuur", nis) for n, nis in MUNICIPALITIES]
        + [(n, "intergemeentelijk_samenwerkingsverband", None) for n in INTERMUNICIPAL]
        + [(n, "middenveldorganisatie", None) for n in CIVIL_SOCIETY]
        + [(n, "kennisinstelling", None) for n in KNOWLEDGE]
        + [(n, "bovenlokale_overheid", None) for n in REGIONAL]
    )
    for name, kind, nis in kinds:
        label = name if kind != "lokaal_bestuur" else (f"Stad {name}" if nis else f"Gemeente {name}")
        body: dict[str, Any] = {"name": label, "kind": kind, "registered_on": "2021-01-04"}
        if nis:
            body["nis_code"] = nis
        demo.organisations.append(demo.post("members", "/organisations", body))
    demo.log(f"  {len(demo.organisations)} organisaties")
    local = [o for o in demo.organisations if o["kind"] == "lokaal_bestuur"]
    others = [o for o in demo.organisations if o["kind"] != "lokaal_bestuur"]
    first_day, year_end = date(2021, 3, 1), date(demo.year, 12, 31)
    for index in range(members):
        organisation = demo.rng.choice(local if demo.rng.random() < 0.8 else others)
        first, last = demo.rng.choice(FIRST_NAMES), demo.rng.choice(LAST_NAMES)
        domain = re.sub(r"[^a-z0-9-]", "", organisation["name"].split(" ", 1)[-1].lower()) or "voorbeeld"
        joined = demo.day(first_day, year_end - timedelta(days=20))
        demo.members.append(
            demo.post(
                "members",
                "/members",
                {
                    "first_name": first,
                    "last_name": last,
                    "email": re.sub(r"[^a-z0-9.@-]", "", f"{first}.{last}.{index}@{domain}.be".lower()),
                    "organisation_id": organisation["id"],
                    "newsletter_consent": demo.rng.random() < 0.7,
                    "joined_on": joined.isoformat(),
                },
            )
        )
    for member in demo.members:
        joined = date.fromisoformat(member["joined_on"])
        roll = demo.rng.random()
        if roll < 0.35:
            demo.post(
                "members",
                f"/members/{member['id']}/knowledge-sharing/join",
                {"joined_on": demo.day(joined, min(joined + timedelta(days=60), year_end)).isoformat()},
            )
        if roll > 0.93:
            target = demo.rng.choice(local)
            if target["id"] != member["organisation_id"]:
                member.update(
                    demo.post(
                        "members",
                        f"/members/{member['id']}/move",
                        {"organisation_id": target["id"], "moved_on": demo.day(joined, year_end).isoformat()},
                    )
                )
        if roll > 0.88:
            demo.post(
                "members",
                f"/members/{member['id']}/leave",
                {"left_on": demo.day(joined, year_end).isoformat()},
            )
    demo.log(f"  {len(demo.members)} leden")


def load(urls: dict[str, str], token: str, year: int, log: Callable[[str], None] = print) -> Demo:
    clients = {
        name: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        for name, url in urls.items()
    }
    try:
        existing = clients["members"].get("/members", params={"state": "all", "limit": 1})
        existing.raise_for_status()
        demo = Demo(year, clients, log=log)
        if existing.json()["total"]:
            log("  de demogegevens staan er al")
            return demo
        create_network(demo)
        return demo
    finally:
        for client in clients.values():
            client.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--year", type=int, default=date.today().year - 1)
    parser.add_argument("--members-url", default="http://127.0.0.1:8001")
    args = parser.parse_args(argv)
    token = issue_token(os.environ.get("AUTH_SECRET", ""), "demo@vvsg.be", "staff")
    load({"members": args.members_url}, token, args.year)
    return 0


if __name__ == "__main__":
    sys.exit(main())
