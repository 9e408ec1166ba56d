"""The demo year's data: the network's organisations and people, the sessions staff plan, the
shares and means the feedback follows, advice topics, trajectories, articles, practices, issues and the
survey. Only data and the `Plan` shape; no I/O."""

from __future__ import annotations

from dataclasses import dataclass

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
         V, ON, (6, 12), "10:00", 2, people=26, recording=True),
    Plan(THEMATIC, "Lerend netwerk: artificiële intelligentie en kwetsbare burgers",
         "AI en digitale inclusie", V, ON, (11, 20), "14:00", 2, people=32, recording=True),
    Plan(INFO, "Infosessie: digitale inclusie in het lokaal sociaal beleid", "lokaal sociaal beleid",
         V, ON, (2, 6), "10:00", 1.5, people=32, recording=True),
    Plan(INFO, "Infosessie: subsidies en projectoproepen digitale inclusie", "subsidies",
         V, ON, (3, 27), "14:00", 2, people=38, capacity=35, cancellations=2, recording=True),
    Plan(INFO, "Infosessie: toegankelijke gemeentelijke websites en apps", "digitale toegankelijkheid",
         V, ON, (5, 22), "10:00", 1.5, people=27, recording=True),
    Plan(INFO, "Infosessie: digitale vaardigheden van inwoners in kaart brengen", "digitale vaardigheden",
         V, ON, (7, 3), "10:00", 1.5, people=6, cancelled=True),
    Plan(INFO, "Infosessie: automatische rechtentoekenning en digitale drempels", "rechtenverkenning",
         V, HY, (9, 18), "13:30", 2, people=30, recording=True),
    Plan(INFO, "Infosessie met Mediawijs: mediawijsheid bij senioren", "mediawijsheid",
         J, ON, (10, 23), "10:00", 1.5, people=22, recording=True),
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


@dataclass(frozen=True)
class Ahead:
    """A session on the agenda after today, `in_days` from today (moved to the next working day);
    `left` seats stay free when it has a capacity (negative: that many on the waiting list), otherwise
    `people` members register."""

    kind: str
    title: str
    theme: str
    lead: str
    format: str
    in_days: int
    start: str
    hours: float
    people: int = 0
    capacity: int | None = None
    left: int = 0
    days: int = 1
    span: float | None = None
    deadline_days: int | None = None  # registration closes this many days before the start, at noon
    cancelled: bool = False  # with a reason for staff, which the public agenda does not show
    moved_from: int | None = None  # first planned this many days from today, then moved


# the agenda of the coming three months: every kind the public agenda shows, themes that come back,
# a few sessions almost or completely full, one cancelled and one moved
AHEAD: list[Ahead] = [
    Ahead(INFO, "Infosessie: de nieuwe projectoproep digitale inclusie", "subsidies",
          V, ON, 9, "10:00", 1.5, capacity=40, left=2, deadline_days=1),
    Ahead(THEMATIC, "Lerend netwerk: digitale inclusie in de bibliotheek", "samenwerking met de bibliotheek",
          V, PH, 16, "13:30", 2.5, capacity=30, left=11),
    Ahead(TRAINING, "Opleiding: digitale drempels herkennen aan het loket", "onthaal",
          V, PH, 23, "09:30", 3, capacity=15, left=1, deadline_days=3),
    Ahead(GENERAL, "Algemene netwerkbijeenkomst: jaarplanning en nieuwe leden", "werking van het netwerk",
          V, ON, 30, "10:00", 2, people=30),
    Ahead(INTEGRATED, "VVSG-opleiding klantgericht onthaal (luik digitale inclusie)", "onthaal",
          V, HY, 37, "09:30", 3, capacity=25, left=9, deadline_days=5),
    Ahead(DAY_PHYSICAL, "Inspiratiedag digitale inclusie", "samen tegen de digitale kloof",
          M, PH, 44, "09:30", 6, span=7, capacity=180, left=55, deadline_days=7),
    Ahead(INFO, "Infosessie met Mediawijs: desinformatie en senioren", "mediawijsheid",
          J, ON, 51, "14:00", 1.5, people=18),
    Ahead(MULTIDAY, "Meerdaagse opleiding: digicoaches in je gemeente", "digicoaches",
          J, PH, 58, "09:00", 6, days=2, span=7, capacity=16, left=-2, deadline_days=10),
    Ahead(THEMATIC, "Lerend netwerk: AI-toepassingen in het sociaal huis", "AI en digitale inclusie",
          V, PH, 65, "13:30", 2.5, people=9, cancelled=True),
    Ahead(DAY_ONLINE, "Online inspiratiedag: digitale inclusie bij jongeren", "jongeren en digitale kloof",
          M, ON, 72, "09:30", 3, people=35),
    Ahead(TRAINING, "Opleiding: klare taal in brieven en mails aan inwoners", "klare taal",
          V, ON, 79, "13:00", 3, capacity=20, left=14, deadline_days=2),
    Ahead(INFO, "Infosessie: toegankelijke gemeentelijke websites en apps", "digitale toegankelijkheid",
          V, HY, 86, "10:00", 2, people=15, moved_from=20, deadline_days=2),
]  # fmt: skip
CANCEL_REASON = "De spreker kan niet en we vonden geen vervanger; we plannen het lerend netwerk opnieuw."

# where sessions on location take place: invented venues at real postal codes of Flemish cities
VENUES = [
    "Zaal De Schakel, Stationsstraat 24, 9000 Gent",
    "Vergadercentrum Het Ankerhuis, Kattendijkdok-Westkaai 16, 2000 Antwerpen",
    "Provinciaal vormingscentrum, Vaartstraat 12, 3000 Leuven",
    "Cultuurcentrum De Brug, Bruul 51, 2800 Mechelen",
    "Sociaal huis, Kuringersteenweg 8, 3500 Hasselt",
    "Dienstencentrum 't Zonnetje, Oudenaardsesteenweg 45, 8500 Kortrijk",
    "Bibliotheek, Graanmarkt 9, 9300 Aalst",
    "Zaal Ter Duinen, Kapellestraat 30, 8400 Oostende",
    "Vergaderzaal Het Kruispunt, Europalaan 17, 3600 Genk",
    "Cultuurhuis De Klok, Grote Markt 44, 9100 Sint-Niklaas",
    "Ontmoetingscentrum De Leie, Noordstraat 60, 8800 Roeselare",
    "Congrescentrum Oud Sint-Jan, Mariastraat 38, 8000 Brugge",
]
ONLINE_LINK = "https://live.vvsg.be/digitale-inclusie/{slug}"  # the meeting room; invented like the venues
# what the sign-up page says about a session, per kind ({theme} filled in)
DESCRIPTIONS = {
    GENERAL: "De bijeenkomst voor het hele netwerk digitale inclusie. We blikken vooruit op de werking rond "
    "{theme} en nemen ruim de tijd om ervaringen uit te wisselen.",
    THEMATIC: "Een lerend netwerk over {theme}. Collega's van lokale besturen brengen hun aanpak mee; "
    "samen zoeken we wat werkt en wat beter kan.",
    INFO: "Een infosessie over {theme}: wat verandert er, wat betekent het voor je bestuur en hoe pak je "
    "het aan? Er is tijd voor vragen.",
    DAY_PHYSICAL: "De inspiratiedag van VVSG en Mediawijs rond {theme}: sprekers, workshops en "
    "praktijkvoorbeelden uit gemeenten. Lunch inbegrepen.",
    DAY_ONLINE: "Een online inspiratiedag rond {theme}, met korte lezingen en praktijkvoorbeelden. "
    "Je volgt alles of alleen de delen die je interesseren.",
    MULTIDAY: "Een opleiding over meerdere dagen rond {theme}. Je oefent met echte situaties uit je "
    "eigen werking en gaat naar huis met een plan. Wie inschrijft, komt alle dagen.",
    TRAINING: "Een praktische opleiding over {theme} voor medewerkers van lokale besturen. Je oefent in "
    "kleine groepen; het aantal plaatsen is beperkt.",
    INTEGRATED: "Het luik digitale inclusie van een VVSG-opleiding, over {theme}. Voor medewerkers en "
    "mandatarissen die er net mee beginnen.",
    PRESENTATION: "Een presentatie op vraag van het bestuur over {theme}.",
    WORKSHOP: "Een workshop op vraag van het bestuur over {theme}, met de eigen medewerkers.",
    STEERING: "De stuurgroep digitale inclusie: {theme}.",
    COORDINATION: "Overleg tussen VVSG, de Vlaamse administratie en Mediawijs: {theme}.",
}

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
