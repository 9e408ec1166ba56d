"""Nieuwsbrief: the issues and drafts, writing in Markdown with a preview the newsletter service renders,
a test mail to yourself, sending after a confirmation or scheduling it for later (and unscheduling),
following the sending, the subscribers and bounces.
Every change goes through the newsletter service's API; the preview is the service's own rendering."""

from __future__ import annotations

import re
import smtplib
from datetime import date, datetime
from email.message import EmailMessage
from urllib.parse import urlencode

import nh3
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from services.backoffice.services import ServiceError, download
from services.backoffice.session import StaffSession
from services.backoffice.web import (
    Form,
    PageProblem,
    Staff,
    api_of,
    posted,
    refused,
    render,
    settings_of,
    templates,
)
from shared.auth import STAFF
from shared.clock import BRUSSELS, business_today
from shared.text import MONTHS

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25

LABELS = {
    "title": "Onderwerp",
    "body": "Tekst (Markdown)",
    "confirm": "Bevestiging",
    "scheduled_at": "Versturen op",
}
ISSUE_STATES = {
    "draft": "Ontwerp",
    "scheduled": "Ingepland",
    "sending": "Wordt verstuurd",
    "sent": "Verstuurd",
    "failed": "Mislukt",
}
DELIVERY_STATES = {
    "queued": "in de wachtrij",
    "sending": "bezig",
    "sent": "afgeleverd",
    "bounced": "geweigerd (bounce)",
    "skipped": "overgeslagen",
    "failed": "mislukt",
    "unconfirmed": "nog niet bevestigd",
}
SUBSCRIBER_STATES = (
    ("all", "alle abonnees"),
    ("active", "actief"),
    ("pending", "wacht op bevestiging"),
    ("unsubscribed", "uitgeschreven"),
    ("bounced", "adres geweigerd (bounce)"),
)
SUBSCRIBER_STATE_NAMES = {
    "active": "actief",
    "pending": "wacht op bevestiging",
    "unsubscribed": "uitgeschreven",
}
MESSAGES = {
    "title": "Geef een onderwerp van 1 tot 200 tekens, op één regel.",
    "body": "Schrijf de tekst van de nieuwsbrief (hoogstens 100 000 tekens).",
}
CONFIRM_MISSING = "Vink aan dat je de nieuwsbrief naar alle abonnees wilt versturen."
NOT_A_DRAFT = "Deze nieuwsbrief is al verstuurd en kan niet meer veranderen."
NO_ADDRESS = "Je account heeft geen e-mailadres: er kan geen testmail naartoe."
MAIL_DOWN = "De mailserver antwoordt nu niet; de testmail is niet verstuurd. Probeer het zo opnieuw."
SCHEDULE_MISSING = "Geef de dag en het uur waarop de nieuwsbrief vertrekt."
SCHEDULE_INVALID = "Kies een moment in de toekomst, hoogstens een jaar vooruit."
NOT_SCHEDULABLE = "Alleen een ontwerp kan ingepland worden; deze nieuwsbrief is ingepland of verstuurd."
NOT_SCHEDULED = "Deze nieuwsbrief is niet (meer) ingepland: ze wordt al verstuurd of is weer een ontwerp."
PREVIEW_SCHEMES = {"http", "https", "mailto"}
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.DOTALL | re.IGNORECASE)


newsletter_api = api_of("newsletter")


def _moment(value: object) -> str:
    """A moment as people here read it: Brussels time, '5 januari 2027 om 09:00'."""
    if not value:
        return "–"
    local = datetime.fromisoformat(str(value)).astimezone(BRUSSELS)
    return f"{local.day} {MONTHS[local.month - 1]} {local.year} om {local:%H:%M}"


templates.filters["tijdstip"] = _moment


def _refused(error: ServiceError) -> PageProblem:
    return refused(error, "De nieuwsbriefdienst", "Deze nieuwsbrief bestaat niet.")


def _errors(error: ServiceError) -> dict[str, str]:
    if error.status_code == 409:
        return {"_form": NOT_A_DRAFT}
    found = error.field_errors()
    return {field: MESSAGES.get(field, "Deze waarde is niet geldig.") for field in found} or {
        "_form": "Dit kon niet worden bewaard. Controleer je invoer."
    }


def _check(values: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The issue's fields as the API takes them, and the problems it would have with them, found here
    first so that the form answers in Dutch next to the field."""
    title, body = values.get("title", "").strip(), values.get("body", "")
    errors: dict[str, str] = {}
    if not title or len(title) > 200 or "\n" in title or "\r" in title:
        errors["title"] = MESSAGES["title"]
    if not body.strip() or len(body) > 100_000:
        errors["body"] = MESSAGES["body"]
    return {"title": title, "body": body}, errors


# --- the list -------------------------------------------------------------------------------------


@router.get("/nieuwsbrief")
def issues(request: Request, staff: Staff, offset: int = 0) -> HTMLResponse:
    try:
        page = newsletter_api(
            request, staff, "GET", "/issues", params={"limit": PAGE_SIZE, "offset": max(offset, 0)}
        )
        status = newsletter_api(request, staff, "GET", "/mail/status") if staff.role in STAFF else None
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "newsletter.html",
        "Nieuwsbrief",
        staff,
        page=page,
        status=status,
        issue_states=ISSUE_STATES,
        delivery_states=DELIVERY_STATES,
        may_write=staff.role in STAFF,
        query="",
    )


# --- writing --------------------------------------------------------------------------------------


def _new_form(
    request: Request, staff: StaffSession, values: dict[str, str], errors: dict[str, str]
) -> Response:
    return render(
        request,
        "newsletter_form.html",
        "Nieuwsbrief schrijven",
        staff,
        status_code=422 if errors else 200,
        values=values,
        errors=errors,
        labels=LABELS,
    )


@router.get("/nieuwsbrief/nieuw")
def new_issue(request: Request, staff: Staff) -> Response:
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen nieuwsbrief schrijven.")
    return _new_form(request, staff, {}, {})


@router.post("/nieuwsbrief/nieuw")
def create_issue(request: Request, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    body, errors = _check(form.values)
    if errors:
        return _new_form(request, form.staff, form.values, errors)
    try:
        created = newsletter_api(request, form.staff, "POST", "/issues", json=body)
    except ServiceError as exc:
        if exc.status_code == 422:
            return _new_form(request, form.staff, form.values, _errors(exc))
        raise _refused(exc) from None
    return RedirectResponse(f"/nieuwsbrief/{created['id']}?bewaard=1#voorbeeld", status_code=303)


def _preview(request: Request, staff: StaffSession, issue_id: str) -> tuple[Markup, str]:
    """The issue as the newsletter service renders it for subscribers (Markdown with raw HTML switched
    off, only safe links), its body shown inline; and the plain-text part of the mail."""
    settings = settings_of(request)
    html = download(settings, staff, "newsletter", f"/issues/{issue_id}/preview", {}).text
    text = download(settings, staff, "newsletter", f"/issues/{issue_id}/preview", {"format": "text"}).text
    found = _BODY.search(html)
    # The service already rendered the Markdown with raw HTML off and only safe links; the back office
    # does not take that on trust: an allow-list sanitiser (nh3, tags and http/https/mailto links only,
    # no style or script) cleans it again before it is marked safe, and the page's CSP runs no script.
    cleaned = nh3.clean(found.group(1) if found else "", url_schemes=PREVIEW_SCHEMES)
    return Markup(cleaned), text  # nosec B704 - sanitised by nh3 on the line above


def _issue_page(
    request: Request,
    staff: StaffSession,
    issue_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    scheduled_at: str = "",
) -> HTMLResponse:
    try:
        issue = newsletter_api(request, staff, "GET", f"/issues/{issue_id}")
        preview_html, preview_text = _preview(request, staff, issue_id)
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "newsletter_issue.html",
        issue["title"],
        staff,
        status_code=422 if errors else 200,
        issue=issue,
        values=values or issue,
        errors=errors or {},
        labels=LABELS,
        preview_html=preview_html,
        preview_text=preview_text,
        issue_states=ISSUE_STATES,
        delivery_states=DELIVERY_STATES,
        may_write=staff.role in STAFF,
        done=done,
        scheduled_at=scheduled_at,
    )


DONE = {
    "bewaard": "Bewaard. Hieronder zie je het voorbeeld.",
    "test": "De testmail is verstuurd naar {address}.",
    "verstuurd": "De nieuwsbrief wordt verstuurd. Vernieuw deze pagina om de verzending te volgen.",
    "ingepland": "De nieuwsbrief is ingepland.",
    "planning": "De planning is geannuleerd: de nieuwsbrief is weer een ontwerp.",
}


@router.get("/nieuwsbrief/abonnees")
def subscribers(
    request: Request, staff: Staff, q: str = "", state: str = "all", offset: int = 0
) -> HTMLResponse:
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag de abonnees niet inzien.")
    state = state if state in dict(SUBSCRIBER_STATES) else "all"
    params = {"q": q[:254], "state": state, "limit": PAGE_SIZE, "offset": max(offset, 0)}
    try:
        page = newsletter_api(request, staff, "GET", "/subscribers", params=params)
        status = newsletter_api(request, staff, "GET", "/mail/status")
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "newsletter_subscribers.html",
        "Abonnees",
        staff,
        page=page,
        q=q,
        state=state,
        states=SUBSCRIBER_STATES,
        state_names=SUBSCRIBER_STATE_NAMES,
        failures=status.get("failures", {}),
        query=urlencode({"q": q, "state": state}),
    )


# --- articles and good practices (the communications log) -----------------------------------------

LOG_LABELS = {
    "title": "Titel",
    "magazine": "Tijdschrift",
    "published_on": "Verschenen op",
    "url": "Adres (https://…)",
}
LOG_LABELS |= {f"p_{name}": label for name, label in LOG_LABELS.items()}
LOG_MESSAGES = {
    "title": "Geef een titel (hoogstens 500 tekens, op één regel).",
    "magazine": "Geef de naam van het tijdschrift (hoogstens 500 tekens).",
    "published_on": "Geef een geldige datum.",
    "url": "Geef een volledig adres dat met http:// of https:// begint.",
}
LOG_CONFLICT = {
    "artikel": "Dit artikel staat er al (zelfde titel, tijdschrift en dag).",
    "praktijk": "Er staat al een goede praktijk met dit adres.",
}


def _log_page(
    request: Request,
    staff: StaffSession,
    year: int,
    *,
    form: str = "",
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    if not 2000 <= year <= 2100:
        raise PageProblem(404, "Niet gevonden", "Kies een jaar tussen 2000 en 2100.")
    try:
        articles = newsletter_api(request, staff, "GET", "/articles", params={"year": year})
        practices = newsletter_api(request, staff, "GET", "/good-practices", params={"year": year})
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "newsletter_log.html",
        f"Artikels en goede praktijken {year}",
        staff,
        status_code=422 if errors else 200,
        year=year,
        articles=articles,
        practices=practices,
        form=form,
        values=values or {},
        errors=errors or {},
        labels=LOG_LABELS,
        may_write=staff.role in STAFF,
        done=done,
    )


@router.get("/nieuwsbrief/communicatie")
def communications(
    request: Request, staff: Staff, jaar: int | None = None, bewaard: str = ""
) -> HTMLResponse:
    year = jaar or business_today().year
    return _log_page(request, staff, year, done="Bewaard." if bewaard else "")


@router.post("/nieuwsbrief/communicatie/{kind}")
def record(request: Request, kind: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    """An article in a magazine, or a good practice published online."""
    if kind not in LOG_CONFLICT:
        raise PageProblem(404, "Niet gevonden", "Dit bestaat niet.")
    # the good practice's fields carry a prefix: both forms are on one page, and ids are unique
    prefix = "" if kind == "artikel" else "p_"
    fields = ("title", "published_on", "url") + (("magazine",) if kind == "artikel" else ())
    given = {name: form.values.get(prefix + name, "").strip() for name in fields}
    body = {name: value for name, value in given.items() if value}
    path = "/articles" if kind == "artikel" else "/good-practices"
    try:
        newsletter_api(request, form.staff, "POST", path, json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            errors = (
                {"_form": LOG_CONFLICT[kind]}
                if exc.status_code == 409
                else {
                    prefix + f: LOG_MESSAGES.get(f, "Deze waarde is niet geldig.") for f in exc.field_errors()
                }
            )
            return _log_page(
                request, form.staff, business_today().year, form=kind, values=form.values, errors=errors
            )
        raise _refused(exc) from None
    # the service took the date, so it reads as one; without it the record is of today
    year = date.fromisoformat(body["published_on"]).year if "published_on" in body else business_today().year
    return RedirectResponse(f"/nieuwsbrief/communicatie?jaar={year}&bewaard=1", status_code=303)


@router.get("/nieuwsbrief/{issue_id}")
def issue(request: Request, staff: Staff, issue_id: str, gedaan: str = "") -> HTMLResponse:
    done = DONE.get(gedaan, "").format(address=staff.subject)
    if "bewaard" in request.query_params:
        done = DONE["bewaard"]
    return _issue_page(request, staff, issue_id, done=done)


@router.post("/nieuwsbrief/{issue_id}/bewerken")
def update_issue(request: Request, issue_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    body, errors = _check(form.values)
    if errors:
        return _issue_page(request, form.staff, issue_id, values=form.values, errors=errors)
    try:
        newsletter_api(request, form.staff, "PATCH", f"/issues/{issue_id}", json=body)
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            return _issue_page(request, form.staff, issue_id, values=form.values, errors=_errors(exc))
        raise _refused(exc) from None
    return RedirectResponse(f"/nieuwsbrief/{issue_id}?bewaard=1#voorbeeld", status_code=303)


@router.post("/nieuwsbrief/{issue_id}/test")
def send_test(request: Request, issue_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    """The preview, mailed to the signed-in person alone: the newsletter service sends to subscribers
    only, so the back office mails its rendering through the same SMTP server itself."""
    address = form.staff.subject
    if "@" not in address:
        return _issue_page(request, form.staff, issue_id, errors={"_form": NO_ADDRESS})
    try:
        issue = newsletter_api(request, form.staff, "GET", f"/issues/{issue_id}")
        settings = settings_of(request)
        html = download(settings, form.staff, "newsletter", f"/issues/{issue_id}/preview", {}).text
        text = download(
            settings, form.staff, "newsletter", f"/issues/{issue_id}/preview", {"format": "text"}
        ).text
    except ServiceError as exc:
        raise _refused(exc) from None
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = address
    message["Subject"] = f"[Test] {issue['title']}"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html, subtype="html", charset="utf-8", cte="quoted-printable")
    message["Content-Language"] = "nl-BE"
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=15) as smtp:
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        return _issue_page(request, form.staff, issue_id, errors={"_form": MAIL_DOWN})
    return RedirectResponse(f"/nieuwsbrief/{issue_id}?gedaan=test", status_code=303)


@router.post("/nieuwsbrief/{issue_id}/versturen")
def send_issue(request: Request, issue_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    if form.values.get("confirm") != "ja":
        return _issue_page(request, form.staff, issue_id, errors={"confirm": CONFIRM_MISSING})
    try:
        newsletter_api(request, form.staff, "POST", f"/issues/{issue_id}/send")
    except ServiceError as exc:
        if exc.status_code == 409:
            return _issue_page(request, form.staff, issue_id, errors={"_form": NOT_A_DRAFT})
        raise _refused(exc) from None
    return RedirectResponse(f"/nieuwsbrief/{issue_id}?gedaan=verstuurd", status_code=303)


def _scheduled_at(typed: str) -> str | None:
    """A datetime-local field's value (Brussels time, to the minute or the second) as the API takes
    it: with its offset, so that the service never has to guess the time zone."""
    for shape in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(typed.strip(), shape).replace(tzinfo=BRUSSELS).isoformat()
        except ValueError:
            continue
    return None


@router.post("/nieuwsbrief/{issue_id}/inplannen")
def schedule_issue(request: Request, issue_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    moment = _scheduled_at(form.values.get("scheduled_at", ""))
    if moment is None:
        return _issue_page(
            request,
            form.staff,
            issue_id,
            errors={"scheduled_at": SCHEDULE_MISSING},
            scheduled_at=form.values.get("scheduled_at", "")[:40],
        )
    try:
        newsletter_api(
            request, form.staff, "POST", f"/issues/{issue_id}/schedule", json={"scheduled_at": moment}
        )
    except ServiceError as exc:
        if exc.status_code in (409, 422):
            errors = (
                {"_form": NOT_SCHEDULABLE} if exc.status_code == 409 else {"scheduled_at": SCHEDULE_INVALID}
            )
            typed = form.values.get("scheduled_at", "")[:40]
            return _issue_page(request, form.staff, issue_id, errors=errors, scheduled_at=typed)
        raise _refused(exc) from None
    return RedirectResponse(f"/nieuwsbrief/{issue_id}?gedaan=ingepland", status_code=303)


@router.post("/nieuwsbrief/{issue_id}/planning-annuleren")
def unschedule_issue(request: Request, issue_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    try:
        newsletter_api(request, form.staff, "POST", f"/issues/{issue_id}/unschedule")
    except ServiceError as exc:
        if exc.status_code == 409:
            return _issue_page(request, form.staff, issue_id, errors={"_form": NOT_SCHEDULED})
        raise _refused(exc) from None
    return RedirectResponse(f"/nieuwsbrief/{issue_id}?gedaan=planning", status_code=303)
