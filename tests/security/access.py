"""Who may do what: every operation of every service, with the roles allowed to call it.

This is the one declared table the roles walk (test_roles.py) checks the running services against:
an operation missing here, or listed here but gone from a service, fails the walk. It was derived from
each route's `require(...)` dependency and then reviewed against what the design expects:

- staff and admin do everything that writes, and everything that shows personal data: member
  records, personal-data exports (`/people/...`), subscribers, feedback comments and survey answers,
  feedback requests (they carry personal links), audit trails, the mail queue;
- partner (Mediawijs) records the activities it leads alone or jointly (lead `mediawijs` or `joint`):
  sessions, registrations, attendance one by one — a `vvsg`-led activity answers 403 (the walk below
  uses unknown ids, so that rule is tested in test_events_api.py and test_events_handlers.py); it reads
  the member list to register members for its sessions;
- viewer (dashboards) reads figures only: organisations, sessions, KPIs, reports, newsletter issues,
  the communications log — never a person's contact details;
- PUBLIC: health, documentation, metrics, the KPI dashboard page (it holds no data; the API behind it
  needs a token), newsletter subscription, and the pages reached through a personal link, which accept
  only a link made for that page (LINK_PAGES).
"""

from __future__ import annotations

from typing import Final, Literal

from shared.auth import ROLES, Role
from shared.links import Purpose

PUBLIC: Final = "public"
Access = frozenset[Role] | Literal["public"]
Operation = tuple[str, str]  # (method, path template)

STAFF: Final[frozenset[Role]] = frozenset({"admin", "staff"})
PARTNER: Final[frozenset[Role]] = STAFF | {"partner"}  # staff, and Mediawijs recording its activities
READERS: Final[frozenset[Role]] = frozenset(ROLES)

# what create_app (shared/service.py) gives every service
COMMON: Final[dict[Operation, Access]] = {
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/docs/static/{name}"): PUBLIC,  # Swagger UI's and ReDoc's own files, served locally
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,  # scraped by Prometheus; route templates and counts, no personal data
    ("GET", "/health/live"): PUBLIC,
    ("GET", "/health/ready"): PUBLIC,
    ("GET", "/audit/{record_id}"): STAFF,
}
ASYNCAPI: Final[dict[Operation, Access]] = {
    ("GET", "/asyncapi.json"): PUBLIC,
    ("GET", "/asyncapi"): PUBLIC,
}

# the public agenda and its feeds (services/events/public.py): no token, no personal data shown;
# the sign-up form (POST) is limited per client and per e-mail address (tests/public)
AGENDA: Final[dict[Operation, Access]] = {
    ("GET", "/agenda"): PUBLIC,
    ("GET", "/agenda.ics"): PUBLIC,
    ("GET", "/agenda.atom"): PUBLIC,
    ("GET", "/agenda/opnames"): PUBLIC,
    ("GET", "/agenda/{session_id}"): PUBLIC,
    ("POST", "/agenda/{session_id}"): PUBLIC,
    ("GET", "/agenda/{session_id}.ics"): PUBLIC,
    ("GET", "/agenda/afmelden/{token}"): PUBLIC,
    ("POST", "/agenda/afmelden/{token}"): PUBLIC,
    # the opt-in link of an unknown address, and an outsider's own data: each page by its mailed link
    ("GET", "/agenda/bevestigen/{token}"): PUBLIC,
    ("POST", "/agenda/bevestigen/{token}"): PUBLIC,
    ("GET", "/agenda/mijn-gegevens"): PUBLIC,
    ("POST", "/agenda/mijn-gegevens"): PUBLIC,
    ("GET", "/agenda/mijn-gegevens/{token}"): PUBLIC,
    ("POST", "/agenda/mijn-gegevens/{token}"): PUBLIC,
}

# the good practices and the articles with their feeds (services/newsletter/public.py): no token, what
# the communications log publishes; limited per client address like every public page
PRACTICES: Final[dict[Operation, Access]] = {
    ("GET", "/goede-praktijken"): PUBLIC,
    ("GET", "/goede-praktijken.atom"): PUBLIC,
    ("GET", "/artikels"): PUBLIC,
    ("GET", "/artikels.atom"): PUBLIC,
}

ACCESS: Final[dict[str, dict[Operation, Access]]] = {
    "members": {
        **COMMON,
        **ASYNCAPI,
        ("POST", "/organisations"): STAFF,
        ("PATCH", "/organisations/{organisation_id}"): STAFF,
        ("GET", "/organisations"): READERS,
        ("GET", "/organisations/{organisation_id}"): READERS,
        ("POST", "/members"): STAFF,
        ("PATCH", "/members/{member_id}"): STAFF,
        ("POST", "/members/{member_id}/move"): STAFF,
        ("POST", "/members/{member_id}/leave"): STAFF,
        ("POST", "/members/{member_id}/rejoin"): STAFF,
        ("POST", "/members/{member_id}/knowledge-sharing/join"): STAFF,
        ("POST", "/members/{member_id}/knowledge-sharing/leave"): STAFF,
        # names, e-mail addresses and phone numbers: not for dashboards (was: every role)
        ("GET", "/members"): PARTNER,
        ("GET", "/members/{member_id}"): PARTNER,
        ("POST", "/members/{member_id}/erase"): STAFF,
        ("GET", "/people/{member_id}"): STAFF,
        # the back office's reads (services/members/staff_api.py): ids and dates, and the member list
        ("GET", "/members/{member_id}/history"): PARTNER,
        ("GET", "/staff/members"): PARTNER,
        ("GET", "/staff/organisations"): READERS,
    },
    "events": {
        **COMMON,
        **ASYNCAPI,
        # PARTNER on a session: only one led by mediawijs or joint (403 on a vvsg-led one)
        ("POST", "/sessions"): PARTNER,
        ("GET", "/sessions"): READERS,
        ("GET", "/sessions/{session_id}"): READERS,
        ("POST", "/sessions/{session_id}/reschedule"): PARTNER,
        ("POST", "/sessions/{session_id}/cancel"): PARTNER,
        ("POST", "/sessions/{session_id}/held"): PARTNER,
        ("POST", "/sessions/{session_id}/recording"): PARTNER,
        ("POST", "/sessions/{session_id}/registrations"): PARTNER,
        ("GET", "/sessions/{session_id}/registrations"): READERS,
        ("GET", "/sessions/{session_id}/registrations/{registration_id}"): READERS,
        ("POST", "/sessions/{session_id}/registrations/{registration_id}/cancel"): PARTNER,
        ("PUT", "/sessions/{session_id}/registrations/{registration_id}/attendance"): PARTNER,
        # a list matched on e-mail addresses reads the contact digests: staff only
        ("POST", "/sessions/{session_id}/attendance/import"): STAFF,
        ("POST", "/advice"): STAFF,
        ("GET", "/advice"): READERS,
        ("POST", "/trajectories"): STAFF,
        ("POST", "/trajectories/{trajectory_id}/complete"): STAFF,
        ("GET", "/trajectories"): READERS,
        ("GET", "/trajectories/{trajectory_id}"): READERS,
        ("GET", "/people/{member_id}"): STAFF,
        **AGENDA,
    },
    "feedback": {
        **COMMON,
        **ASYNCAPI,
        ("GET", "/requests"): STAFF,  # each carries a personal link
        ("GET", "/requests/{request_id}"): STAFF,
        ("POST", "/sessions/{session_id}/responses"): STAFF,
        ("POST", "/support-trajectories/{trajectory_id}/responses"): STAFF,
        ("GET", "/sessions/{session_id}/comments"): STAFF,
        ("GET", "/sessions/{session_id}/summary"): READERS,
        ("GET", "/sessions/summaries"): READERS,  # the same summaries, many sessions at once
        ("POST", "/surveys"): STAFF,
        ("GET", "/surveys"): READERS,
        ("GET", "/surveys/{survey_id}"): READERS,
        ("POST", "/surveys/{survey_id}/invitations"): STAFF,
        ("POST", "/surveys/{survey_id}/close"): STAFF,
        ("GET", "/surveys/{survey_id}/answers"): STAFF,
        ("GET", "/people/{member_id}"): STAFF,
        ("GET", "/feedback/{token}"): PUBLIC,
        ("POST", "/feedback/{token}"): PUBLIC,
        ("GET", "/survey/{token}"): PUBLIC,
        ("POST", "/survey/{token}"): PUBLIC,
    },
    "newsletter": {
        **COMMON,
        **ASYNCAPI,
        **PRACTICES,
        ("GET", "/subscribers"): STAFF,
        ("GET", "/subscribers/{subscriber_id}"): STAFF,
        ("POST", "/subscribers/{subscriber_id}/unsubscribe"): STAFF,
        ("POST", "/subscriptions"): PUBLIC,
        ("POST", "/issues"): STAFF,
        ("PATCH", "/issues/{issue_id}"): STAFF,
        ("GET", "/issues"): READERS,
        ("GET", "/issues/{issue_id}"): READERS,
        ("GET", "/issues/{issue_id}/preview"): READERS,
        ("POST", "/issues/{issue_id}/send"): STAFF,
        ("POST", "/issues/{issue_id}/schedule"): STAFF,
        ("POST", "/issues/{issue_id}/unschedule"): STAFF,
        ("GET", "/mail/status"): STAFF,
        ("POST", "/articles"): STAFF,
        ("GET", "/articles"): READERS,
        ("POST", "/good-practices"): STAFF,
        ("GET", "/good-practices"): READERS,
        # the tools and handbooks catalogue (OD 3.1): staff keep it, everyone reads it
        ("POST", "/tools"): STAFF,
        ("GET", "/tools"): READERS,
        ("GET", "/tools/{tool_id}"): READERS,
        ("PATCH", "/tools/{tool_id}"): STAFF,
        ("POST", "/tools/{tool_id}/retire"): STAFF,
        ("GET", "/hulpmiddelen"): PUBLIC,  # the public catalogue page (services/newsletter/tools_public.py)
        ("GET", "/people/{member_id}"): STAFF,
        ("GET", "/nieuwsbrief"): PUBLIC,
        ("POST", "/nieuwsbrief"): PUBLIC,
        ("GET", "/nieuwsbrief/bevestigen/{token}"): PUBLIC,
        ("POST", "/nieuwsbrief/bevestigen/{token}"): PUBLIC,
        ("GET", "/nieuwsbrief/uitschrijven/{token}"): PUBLIC,
        ("POST", "/nieuwsbrief/uitschrijven/{token}"): PUBLIC,
    },
    "kpi": {
        **COMMON,
        **ASYNCAPI,
        ("GET", "/kpis/changes"): READERS,
        ("POST", "/kpis/stream-tickets"): READERS,
        ("GET", "/kpis/{year}/stream"): READERS,  # or ?ticket= from stream-tickets (EventSource)
        ("GET", "/kpis/{year}"): READERS,
        ("GET", "/kpis/{year}/series"): READERS,
        ("POST", "/kpis/{year}/freeze"): STAFF,
        ("GET", "/kpis/{year}/frozen"): READERS,
        ("GET", "/kpis/{year}/differences"): READERS,
        ("GET", "/kpis/{year}/report.html"): READERS,
        ("GET", "/kpis/{year}/report.xlsx"): READERS,
        ("GET", "/kpis/{year}/report.csv"): READERS,
        ("GET", "/kpis/{year}/report-details.csv"): READERS,
        ("GET", "/kpis/{year}/report.pdf"): READERS,
        # explanations (toelichting) per KPI: staff write them; everyone reads them (authors: staff only)
        ("GET", "/kpis/{year}/explanations"): READERS,
        ("PUT", "/kpis/{year}/explanations/{code}"): STAFF,
        ("DELETE", "/kpis/{year}/explanations/{code}"): STAFF,
        ("GET", "/dashboard"): PUBLIC,
    },
}

# the pages reached through a personal link, and the one purpose of link each accepts (shared/links.py)
LINK_PAGES: Final[dict[str, dict[Operation, Purpose]]] = {
    "feedback": {
        ("GET", "/feedback/{token}"): "feedback",
        ("POST", "/feedback/{token}"): "feedback",
        ("GET", "/survey/{token}"): "survey",
        ("POST", "/survey/{token}"): "survey",
    },
    "newsletter": {
        ("GET", "/nieuwsbrief/bevestigen/{token}"): "newsletter-confirm",
        ("POST", "/nieuwsbrief/bevestigen/{token}"): "newsletter-confirm",
        ("GET", "/nieuwsbrief/uitschrijven/{token}"): "newsletter-unsubscribe",
        ("POST", "/nieuwsbrief/uitschrijven/{token}"): "newsletter-unsubscribe",
    },
}

# public pages anyone can hammer: rate limited per client address (shared/limits.py)
RATE_LIMITED: Final[dict[str, set[Operation]]] = {
    "feedback": set(LINK_PAGES["feedback"]),
    "newsletter": {("POST", "/subscriptions"), ("POST", "/nieuwsbrief"), ("GET", "/hulpmiddelen")},
    "events": set(AGENDA),
}
RATE_LIMITED["newsletter"] |= set(PRACTICES)


def allows(access: Access, role: Role) -> bool:
    return access == PUBLIC or role in access
