"""A realistic demo year, created through the services' public HTTP APIs as staff would: organisations of
the network, ~650 members who join, move and leave, the knowledge-sharing channel; network meetings, info
sessions, inspiration days, trainings, sessions on request, steering and coordination meetings, with
a venue or an online link and a description, registrations, attendance lists, recordings and a few
cancellations; the agenda of the coming three months (from today: the public agenda is not empty,
some sessions are almost full); feedback answered on the personal pages (and some paper forms); the
user survey; advice and tailored support; articles in Lokaal, good practices, the catalogue of tools
and handbooks, and a few newsletters.
Then it waits until the KPI service shows it.

    python -m ops.demo --year 2025 [--scale 0.1] [--members-url http://127.0.0.1:8001 ...]

AUTH_SECRET and LINK_SECRET come from the environment, the same as the services'. Every business date
lies in the demo year, except the agenda ahead and where a service dates a fact itself: a newsletter
counts when it was sent and the user survey when it closed, so those two count in the running year.

Deterministic (seeded), and it refuses to run twice against a members service that already has members.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from datetime import date

import httpx

from ops.demo.client import Demo
from ops.demo.expected import wait_for_kpis
from ops.demo.scenario import (
    collect_feedback,
    create_agenda,
    create_communications,
    create_network,
    create_sessions,
    create_support,
    run_survey,
    send_newsletters,
)
from ops.demo.tools import create_tools
from shared.auth import issue_token
from shared.settings import DEFAULT_PORTS

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
            ("agenda van de komende maanden", create_agenda, ("events",)),
            ("advies en ondersteuning op maat", create_support, ("events",)),
            ("artikels en goede praktijken", create_communications, ("newsletter",)),
            ("hulpmiddelen en handleidingen", create_tools, ("newsletter",)),
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
