"""The demo year itself, step by step through the services' APIs: the network, sessions, support,
communications, feedback, the survey and the newsletters."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from typing import Any

from ops.demo.client import (
    Attendee,
    Demo,
    HeldSession,
    active_on,
    dutch_hours,
    organisation_kinds,
    percentage,
    subset,
    today,
    wait,
    working_day,
)
from ops.demo.data import (
    ADVICE_TOPICS,
    AHEAD,
    ARTICLES,
    CANCEL_REASON,
    CIVIL_SOCIETY,
    COMMENTS,
    DAY_PHYSICAL,
    DESCRIPTIONS,
    FIRST_NAMES,
    GENERAL,
    HY,
    INTEGRATED,
    INTERMUNICIPAL,
    ISSUES,
    KNOWLEDGE,
    LAST_NAMES,
    MEAN_SATISFACTION,
    MULTIDAY,
    MUNICIPALITIES,
    NOT_ASKED,
    ON,
    ONLINE_LINK,
    PH,
    PLANS,
    PRACTICES,
    PRESENTATION,
    REGIONAL,
    RESPONSE_SHARE,
    SURVEY,
    SURVEY_MISSING,
    TRAINING,
    TRAJECTORIES,
    VENUES,
    WORKERS,
    WORKSHOP,
    Ahead,
    Plan,
)
from shared.links import make_token

# --- the network -------------------------------------------------------------------------------


def create_network(demo: Demo, members: int = 650) -> None:
    """Organisations, members who join over the years, some who move or leave, knowledge sharing."""
    share = demo.scale  # a smaller demo: fewer organisations of every kind
    kinds = (
        [(n, "lokaal_bestuur", nis) for n, nis in subset(MUNICIPALITIES, share, 8)]
        + [(n, "intergemeentelijk_samenwerkingsverband", None) for n in subset(INTERMUNICIPAL, share, 2)]
        + [(n, "middenveldorganisatie", None) for n in subset(CIVIL_SOCIETY, share, 2)]
        + [(n, "kennisinstelling", None) for n in subset(KNOWLEDGE, share, 1)]
        + [(n, "bovenlokale_overheid", None) for n in subset(REGIONAL, share, 1)]
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


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _practical(
    demo: Demo,
    kind: str,
    title: str,
    theme: str,
    form: str,
    starts: datetime,
    requester: dict[str, Any] | None = None,
    deadline_days: int | None = None,
) -> dict[str, Any]:
    """Where (a venue, the requester's town hall, or online with the link to join), a few lines for
    the sign-up page and, for the sessions with few seats, until when one can register."""
    body: dict[str, Any] = {"description": DESCRIPTIONS[kind].format(theme=theme)}
    if form == ON:
        body["location"] = "online"
    elif requester is not None:  # given on request: at the organisation that asked
        name = requester["name"]
        building = "stadhuis" if name.startswith("Stad ") else "gemeentehuis"
        town = name.split(" ", 1)[1] if name.startswith(("Stad ", "Gemeente ")) else None
        body["location"] = f"Raadzaal, {building} {town}" if town else f"Vergaderzaal van {name}"
    else:
        body["location"] = demo.places.choice(VENUES)
    if form in (ON, HY):
        body["online_link"] = ONLINE_LINK.format(slug=f"{_slug(title)[:60]}-{starts:%Y%m%d}")
    return body | _deadline(starts, deadline_days)


def _deadline(starts: datetime, days: int | None) -> dict[str, Any]:
    """Registration closes `days` before the start, at noon (none: when the session starts)."""
    if not days:
        return {}
    closes = datetime.combine(starts.date() - timedelta(days=days), dt_time(12))
    return {"registration_deadline": closes.isoformat()}


def _pick_requester(demo: Demo, day: date) -> dict[str, Any]:
    """A local government that asked for a session, with at least one member active on the day."""
    active = {m["organisation_id"] for m in demo.members if active_on(m, day)}
    local = [o for o in demo.organisations if o["kind"] == "lokaal_bestuur" and o["id"] in active]
    return demo.rng.choice(local or demo.organisations)


def _who_comes(demo: Demo, plan: Plan, day: date, requester: dict[str, Any] | None) -> list[dict[str, Any]]:
    active = [m for m in demo.members if active_on(m, day)]
    kinds = organisation_kinds(demo)
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
            answer = f"ja;{dutch_hours(hours)}" if hours else "nee;"
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
    deadline_days = 3 if plan.capacity or plan.kind in (MULTIDAY, TRAINING, INTEGRATED) else None
    body |= _practical(
        demo,
        plan.kind,
        title,
        plan.theme,
        plan.format,
        datetime.fromisoformat(starts_at),
        requester,
        deadline_days,
    )
    if plan.capacity:
        body["capacity"] = plan.capacity if demo.scale >= 1 else demo.count(plan.capacity, least=2)
    if requester:
        body["requested_by_organisation_id"] = requester["id"]
    if plan.moved_from and (moved := _schedule(demo, replace(plan, on=plan.moved_from))) is not None:
        # first planned earlier, with its deadline before that day; the new times bring their own
        earlier = {"starts_at": moved[1], "ends_at": moved[2]}
        earlier |= _deadline(datetime.fromisoformat(moved[1]), deadline_days)
        first = demo.post("events", "/sessions", body | earlier)
        later = {"starts_at": starts_at, "ends_at": ends_at}
        later |= _deadline(datetime.fromisoformat(starts_at), deadline_days)
        session = demo.post("events", f"/sessions/{first['id']}/reschedule", later)
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
        demo.post(
            "events",
            f"/sessions/{sid}/recording",
            {"url": f"https://www.vvsg.be/digitale-inclusie/opnames/{_slug(plan.title)}"},
        )
        demo.recordings += 1
    demo.held.append(HeldSession(sid, plan.kind, plan.lead, title, plan.format, days[-1], attendees))


def create_sessions(demo: Demo) -> None:
    by_kind: dict[str, list[Plan]] = {}
    for plan in PLANS:
        by_kind.setdefault(plan.kind, []).append(plan)
    chosen = {id(p) for plans in by_kind.values() for p in subset(plans, demo.scale, 1)}
    for plan in PLANS:
        if id(plan) in chosen:
            run_session(demo, plan)
    participants = sum(1 for h in demo.held for a in h.attendees if a.hours)
    demo.log(
        f"  {len(demo.held)} sessies gehouden ({participants} deelnames), {demo.cancelled} geannuleerd, "
        f"{demo.recordings} opnames"
    )


# --- the agenda ahead -----------------------------------------------------------------------------


def _ahead_schedule(ahead: Ahead, in_days: int) -> tuple[datetime, datetime]:
    first = working_day(today() + timedelta(days=in_days))
    while any((first + timedelta(days=i)).weekday() >= 5 for i in range(ahead.days)):
        first += timedelta(days=1)  # over several days: within one working week
    hour, minute = (int(part) for part in ahead.start.split(":"))
    starts = datetime.combine(first, dt_time(hour, minute))
    last = datetime.combine(first + timedelta(days=ahead.days - 1), dt_time(hour, minute))
    return starts, last + timedelta(hours=ahead.span or ahead.hours)


def create_agenda(demo: Demo) -> None:
    """The sessions of the coming three months, so that the public agenda shows something: members
    registered, some sessions (almost) full, one cancelled, one moved. Dated from today, whatever the
    demo year: nothing of it is held, so no KPI of any year counts it."""
    members = [m for m in demo.members if active_on(m, today())]
    planned = full = 0
    for ahead in AHEAD:
        starts, ends = _ahead_schedule(ahead, ahead.in_days)
        body: dict[str, Any] = {
            "kind": ahead.kind,
            "title": ahead.title,
            "theme": ahead.theme,
            "lead": ahead.lead,
            "format": ahead.format,
            "starts_at": starts.isoformat(),
            "ends_at": ends.isoformat(),
            "planned_hours": ahead.hours * ahead.days,
        } | _practical(
            demo, ahead.kind, ahead.title, ahead.theme, ahead.format, starts, None, ahead.deadline_days
        )
        wanted = demo.count(ahead.people, least=2)
        if ahead.capacity:
            capacity = ahead.capacity if demo.scale >= 1 else demo.count(ahead.capacity, least=4)
            body["capacity"] = capacity
            # a smaller demo keeps the same few free seats (or the same waiting list), fewer of many
            left = ahead.left if abs(ahead.left) <= 2 or demo.scale >= 1 else demo.count(ahead.left)
            wanted = max(1, capacity - left)
            full += ahead.left <= 2
        if ahead.moved_from is not None:
            first_starts, first_ends = _ahead_schedule(ahead, ahead.moved_from)
            earlier = {"starts_at": first_starts.isoformat(), "ends_at": first_ends.isoformat()}
            first = demo.post(
                "events", "/sessions", body | earlier | _deadline(first_starts, ahead.deadline_days)
            )
            later = {"starts_at": body["starts_at"], "ends_at": body["ends_at"]}
            later |= _deadline(starts, ahead.deadline_days)
            session = demo.post("events", f"/sessions/{first['id']}/reschedule", later)
        else:
            session = demo.post("events", "/sessions", body)
        path = f"/sessions/{session['id']}/registrations"
        chosen = demo.places.sample(members, min(wanted, len(members)))
        demo.post_all("events", [(path, {"member_id": m["id"]}) for m in chosen])
        if ahead.cancelled:
            demo.post("events", f"/sessions/{session['id']}/cancel", {"reason": CANCEL_REASON})
        planned += 1
    demo.log(f"  {planned} sessies in de agenda van de komende drie maanden ({full} (bijna) volzet)")


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
                "given_on": working_day(demo.day(start, end - timedelta(days=3))).isoformat(),
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
        started = working_day(date(demo.year, 1 + index * 9 // max(1, count), 10))
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
        subset([a for a in articles if a[1] == "Lokaal"], demo.scale, 1)
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
                "published_on": working_day(date(demo.year, month, day)).isoformat(),
                "url": f"https://www.vvsg.be/lokaal/{slug}" if magazine == "Lokaal" else None,
            },
        )
    local = [o for o in demo.organisations if o["kind"] == "lokaal_bestuur"]
    practices = subset([p for p in PRACTICES if demo.in_year(*p[2])], demo.scale, 1)
    for title, slug, (month, day) in practices:
        demo.post(
            "newsletter",
            "/good-practices",
            {
                "title": title,
                "organisation_id": demo.rng.choice(local)["id"],
                "published_on": working_day(date(demo.year, month, day)).isoformat(),
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

    found = wait(requests, 120) or [
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
        f"({percentage(demo.answered, demo.requests):g}%), {paper} papieren formulieren"
    )
    if demo.completed_trajectories and demo.link_secret:  # asked when a trajectory is completed

        def trajectory_requests() -> list[dict[str, Any]] | None:
            found = demo.pages("feedback", "/requests", subject_type="support_trajectory")
            return found if len(found) >= demo.completed_trajectories else None

        asked_organisations = wait(trajectory_requests, 30) or []
        for request in asked_organisations[: max(1, len(asked_organisations) * 2 // 3)]:
            token = make_token(demo.link_secret, "feedback", request["id"])
            demo.submit(f"/feedback/{token}", _feedback_form(demo, "support_trajectory"))


def run_survey(demo: Demo) -> None:
    """The yearly user survey on tools (OD 3.1): opened, local-government members invited, some answer,
    closed. The feedback service dates opening and closing itself (today): they count in the running
    year, not in the demo year."""
    kinds = organisation_kinds(demo)
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
        wait(
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

    total = wait(subscribers, 90) or demo.get("newsletter", "/subscribers", state="active", limit=1)["total"]
    if not total:
        demo.notes.append("de nieuwsbriefdienst kende nog geen abonnees: geen nieuwsbrief verzonden")
        return
    for title, body in subset(ISSUES, demo.scale, 1):
        issue = demo.post("newsletter", "/issues", {"title": title.format(year=demo.year), "body": body})
        demo.post("newsletter", f"/issues/{issue['id']}/send")
        demo.issues.append(issue["id"])
    demo.log(f"  {len(demo.issues)} nieuwsbrieven in verzending naar {total} abonnees")
