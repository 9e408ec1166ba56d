"""Feedback: per held session the response rate, the averages and the comments, with paper forms typed
in; and the user surveys — open one, invite, follow and export the answers, close it. The sessions come
from the events service, everything else from the feedback service's API."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.backoffice.services import ServiceError, call
from services.backoffice.session import StaffSession
from services.backoffice.web import Form, PageProblem, Staff, api_of, posted, refused, render, settings_of
from shared.auth import STAFF
from shared.clock import business_today
from shared.spreadsheet import safe_text

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 25

QUESTIONS = {
    "satisfaction": "Tevredenheid",
    "usefulness": "Nut voor het werk",
    "motivated": "Gemotiveerd om aan de slag te gaan",
    "able_to_act": "Kan zelf acties realiseren",
}
SCORES = tuple((str(n), str(n)) for n in range(1, 6))
PAPER_LABELS = {**QUESTIONS, "comment": "Opmerkingen", "received_on": "Ontvangen op"}
SURVEY_LABELS = {
    "title": "Titel",
    "topic": "Onderwerp",
    "introduction": "Inleiding",
    "questions": "Vragen",
    "member_ids": "Leden (id's)",
    "confirm": "Bevestiging",
}
QUESTION_KINDS = {"rating": "score van 1 tot 5", "text": "open antwoord", "choice": "keuze"}
PAPER_EMPTY = "Vul minstens één score of een opmerking in."
DATE_PROBLEM = "Geef een geldige datum die niet in de toekomst ligt."
QUESTIONS_HINT = (
    "Eén vraag per regel. Zonder meer: een score van 1 tot 5. 'Open: …' voor een open antwoord. "
    "'Keuze: vraag | optie | optie' voor een keuze uit minstens twee opties."
)
CLOSE_CONFIRM = "Vink aan dat je de bevraging wilt afsluiten."
NOBODY_FOUND = "Er zijn (nog) geen actieve leden bij een lokaal bestuur of samenwerkingsverband gekend."
NO_ONE = "Kies wie je uitnodigt: vink de leden bij lokale besturen aan of geef id's van leden."


feedback_api = api_of("feedback")


def _refused(error: ServiceError) -> PageProblem:
    return refused(error, "De feedbackdienst", "Dit bestaat niet (of de feedbackdienst kent het nog niet).")


def _rate(summary: dict[str, Any] | None) -> str:
    """The share of the feedback requests that were answered; paper forms are counted apart."""
    if not summary or not summary["requests"]:
        return "–"
    return f"{round(100 * summary['answered_requests'] / summary['requests'])} %"


# --- sessions -------------------------------------------------------------------------------------


@router.get("/feedback")
def sessions(request: Request, staff: Staff, jaar: int | None = None, pagina: int = 0) -> HTMLResponse:
    """The year's held sessions, the most recent first, a page at a time (their summaries in one call)."""
    year = jaar or business_today().year
    if not 2000 <= year <= 2100:
        raise PageProblem(404, "Niet gevonden", "Kies een jaar tussen 2000 en 2100.")
    settings = settings_of(request)
    page = max(pagina, 0)
    held: dict[str, Any] = {"items": [], "total": 0}
    try:
        query = {"status": "held", "year": year, "limit": 1}
        total = call(settings, staff, "events", "GET", "/sessions", params=query)["total"]
        # the events service lists oldest first: this page is a window counted from the end
        end = total - PAGE_SIZE * page
        start = max(end - PAGE_SIZE, 0)
        if end > 0:
            query |= {"offset": start, "limit": end - start}
            held = call(settings, staff, "events", "GET", "/sessions", params=query)
    except ServiceError as exc:
        raise _refused(exc) from None
    summaries: dict[str, Any] = {}
    if held["items"]:
        # one request for the page's sessions; one the feedback service has not read yet is left out
        ids = [session["id"] for session in held["items"]]
        try:
            found = feedback_api(request, staff, "GET", "/sessions/summaries", params={"ids": ids})
        except ServiceError as exc:
            raise _refused(exc) from None
        summaries = {summary["session_id"]: summary for summary in found}
    rows = []
    for session in reversed(held["items"]):
        summary = summaries.get(session["id"])
        rows.append((session, summary, _rate(summary)))
    return render(
        request,
        "feedback.html",
        "Feedback",
        staff,
        year=year,
        rows=rows,
        questions=QUESTIONS,
        older=page + 1 if end - PAGE_SIZE > 0 else None,
        newer=page - 1 if page > 0 else None,
    )


def _session_page(
    request: Request,
    staff: StaffSession,
    session_id: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    try:
        summary = feedback_api(request, staff, "GET", f"/sessions/{session_id}/summary")
        comments = (
            feedback_api(request, staff, "GET", f"/sessions/{session_id}/comments")["comments"]
            if staff.role in STAFF
            else None
        )
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "feedback_session.html",
        f"Feedback: {summary['title'] or 'sessie'}",
        staff,
        status_code=422 if errors else 200,
        summary=summary,
        rate=_rate(summary),
        comments=comments,
        questions=QUESTIONS,
        scores=SCORES,
        values=values or {},
        errors=errors or {},
        labels=PAPER_LABELS,
        may_write=staff.role in STAFF,
        done=done,
    )


@router.get("/feedback/sessies/{session_id}")
def session(request: Request, staff: Staff, session_id: str, bewaard: str = "") -> HTMLResponse:
    return _session_page(
        request, staff, session_id, done="Het papieren formulier is bewaard." if bewaard else ""
    )


@router.post("/feedback/sessies/{session_id}/papier")
def paper_form(request: Request, session_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    values = form.values
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in QUESTIONS:
        raw = values.get(name, "")
        if raw:
            if raw not in dict(SCORES):
                errors[name] = "Kies een score van 1 tot 5."
            else:
                body[name] = int(raw)
    if values.get("comment", "").strip():
        body["comment"] = values["comment"].strip()
    if values.get("received_on", "").strip():
        try:
            received = date.fromisoformat(values["received_on"].strip())
        except ValueError:
            errors["received_on"] = DATE_PROBLEM
        else:
            if received > business_today():
                errors["received_on"] = DATE_PROBLEM
            body["received_on"] = received.isoformat()
    if not errors and not any(name in body for name in (*QUESTIONS, "comment")):
        errors["_form"] = PAPER_EMPTY
    if errors:
        return _session_page(request, form.staff, session_id, values=values, errors=errors)
    try:
        feedback_api(request, form.staff, "POST", f"/sessions/{session_id}/responses", json=body)
    except ServiceError as exc:
        if exc.status_code == 422:
            found = exc.field_errors()
            errors = {
                name: DATE_PROBLEM if name == "received_on" else "Deze waarde is niet geldig."
                for name in found
                if name in PAPER_LABELS
            } or {"_form": PAPER_EMPTY}
            return _session_page(request, form.staff, session_id, values=values, errors=errors)
        raise _refused(exc) from None
    return RedirectResponse(f"/feedback/sessies/{session_id}?bewaard=1", status_code=303)


# --- surveys --------------------------------------------------------------------------------------


@router.get("/feedback/bevragingen")
def surveys(request: Request, staff: Staff) -> HTMLResponse:
    try:
        found = feedback_api(request, staff, "GET", "/surveys")
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request, "feedback_surveys.html", "Bevragingen", staff, surveys=found, may_write=staff.role in STAFF
    )


def parse_questions(text: str) -> tuple[list[dict[str, Any]], str]:
    """The questions typed one a line, as the feedback service takes them; or what is wrong with them."""
    questions: list[dict[str, Any]] = []
    for number, raw in enumerate((line.strip() for line in text.splitlines() if line.strip()), start=1):
        head, _, rest = raw.partition(":")
        kind = head.strip().lower()
        if kind == "open" and rest.strip():
            questions.append({"text": rest.strip()[:200], "kind": "text", "required": False})
        elif kind == "keuze":
            text_and_options = [part.strip() for part in rest.split("|")]
            options = [option[:200] for option in text_and_options[1:] if option]
            if not text_and_options[0] or len(options) < 2:
                return [], f"Vraag {number}: een keuzevraag heeft een vraag en minstens twee opties."
            questions.append({"text": text_and_options[0][:200], "kind": "choice", "options": options})
        else:
            questions.append({"text": raw[:200], "kind": "rating"})
    if not questions:
        return [], "Geef minstens één vraag."
    if len(questions) > 50:
        return [], "Een bevraging heeft hoogstens 50 vragen."
    return questions, ""


def _survey_form(
    request: Request, staff: StaffSession, values: dict[str, str], errors: dict[str, str]
) -> HTMLResponse:
    return render(
        request,
        "feedback_survey_form.html",
        "Bevraging openen",
        staff,
        status_code=422 if errors else 200,
        values=values,
        errors=errors,
        labels=SURVEY_LABELS,
        hint=QUESTIONS_HINT,
    )


@router.get("/feedback/bevragingen/nieuw")
def new_survey(request: Request, staff: Staff) -> HTMLResponse:
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag geen bevraging openen.")
    return _survey_form(request, staff, {}, {})


@router.post("/feedback/bevragingen/nieuw")
def open_survey(request: Request, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    values = form.values
    errors: dict[str, str] = {}
    for name in ("title", "topic"):
        if not values.get(name, "").strip():
            errors[name] = "Vul dit veld in."
        elif len(values[name].strip()) > 200:
            errors[name] = "Dit is te lang (hoogstens 200 tekens)."
    questions, problem = parse_questions(values.get("questions", ""))
    if problem:
        errors["questions"] = problem
    if len(values.get("introduction", "")) > 2000:
        errors["introduction"] = "Dit is te lang (hoogstens 2000 tekens)."
    if errors:
        return _survey_form(request, form.staff, values, errors)
    body = {
        "title": values["title"].strip(),
        "topic": values["topic"].strip(),
        "introduction": values.get("introduction", "").strip() or None,
        "questions": questions,
    }
    try:
        created = feedback_api(request, form.staff, "POST", "/surveys", json=body)
    except ServiceError as exc:
        if exc.status_code == 422:
            found = exc.field_errors()
            return _survey_form(
                request,
                form.staff,
                values,
                {n: "Deze waarde is niet geldig." for n in found if n in SURVEY_LABELS}
                or {"questions": "De vragen zijn niet geldig."},
            )
        raise _refused(exc) from None
    return RedirectResponse(f"/feedback/bevragingen/{created['id']}?gedaan=geopend", status_code=303)


DONE = {
    "geopend": "De bevraging is geopend. Nodig nu de leden uit.",
    "gesloten": "De bevraging is afgesloten.",
}


def _survey_page(
    request: Request,
    staff: StaffSession,
    survey_id: str,
    *,
    errors: dict[str, str] | None = None,
    done: str = "",
) -> HTMLResponse:
    try:
        survey = feedback_api(request, staff, "GET", f"/surveys/{survey_id}")
        answers = (
            feedback_api(request, staff, "GET", f"/surveys/{survey_id}/answers")
            if staff.role in STAFF
            else None
        )
    except ServiceError as exc:
        raise _refused(exc) from None
    return render(
        request,
        "feedback_survey.html",
        survey["title"],
        staff,
        status_code=422 if errors else 200,
        survey=survey,
        answers=answers,
        kinds=QUESTION_KINDS,
        errors=errors or {},
        labels=SURVEY_LABELS,
        may_write=staff.role in STAFF,
        done=done,
    )


@router.get("/feedback/bevragingen/{survey_id}")
def survey(
    request: Request, staff: Staff, survey_id: str, gedaan: str = "", uitgenodigd: int = -1
) -> HTMLResponse:
    done = DONE.get(gedaan, "")
    if uitgenodigd >= 0:
        done = f"{uitgenodigd} leden uitgenodigd; ze krijgen hun persoonlijke link per mail."
    return _survey_page(request, staff, survey_id, done=done)


@router.post("/feedback/bevragingen/{survey_id}/uitnodigen")
def invite(request: Request, survey_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    ids = [part for part in form.values.get("member_ids", "").replace(",", " ").split() if part]
    everyone = form.values.get("local_government_members") == "ja"
    if not ids and not everyone:
        return _survey_page(request, form.staff, survey_id, errors={"member_ids": NO_ONE})
    body = {"member_ids": ids, "local_government_members": everyone}
    try:
        invited = feedback_api(request, form.staff, "POST", f"/surveys/{survey_id}/invitations", json=body)
    except ServiceError as exc:
        if exc.status_code == 422:
            problem = (
                NOBODY_FOUND
                if not ids
                else "Geef de id's van leden (zoals op de pagina van het lid), gescheiden door spaties."
            )
            return _survey_page(request, form.staff, survey_id, errors={"member_ids": problem})
        if exc.status_code == 409:
            return _survey_page(
                request, form.staff, survey_id, errors={"_form": "Deze bevraging is al afgesloten."}
            )
        raise _refused(exc) from None
    count = len(invited["invited"])
    return RedirectResponse(f"/feedback/bevragingen/{survey_id}?uitgenodigd={count}", status_code=303)


@router.post("/feedback/bevragingen/{survey_id}/sluiten")
def close(request: Request, survey_id: str, form: Form = Depends(posted(*STAFF))) -> Response:  # noqa: B008
    if form.values.get("confirm") != "ja":
        return _survey_page(request, form.staff, survey_id, errors={"confirm": CLOSE_CONFIRM})
    try:
        feedback_api(request, form.staff, "POST", f"/surveys/{survey_id}/close", json={})
    except ServiceError as exc:
        if exc.status_code == 409:
            return _survey_page(
                request, form.staff, survey_id, errors={"_form": "Deze bevraging is al afgesloten."}
            )
        raise _refused(exc) from None
    return RedirectResponse(f"/feedback/bevragingen/{survey_id}?gedaan=gesloten", status_code=303)


@router.get("/feedback/bevragingen/{survey_id}/antwoorden.csv")
def export(request: Request, staff: Staff, survey_id: str) -> Response:
    """The answers as CSV (one row per answer, one column per question; never who gave them)."""
    if staff.role not in STAFF:
        raise PageProblem(403, "Geen toegang", "Je rol mag de antwoorden niet inzien.")
    try:
        found = feedback_api(request, staff, "GET", f"/surveys/{survey_id}")
        answers = feedback_api(request, staff, "GET", f"/surveys/{survey_id}/answers")
    except ServiceError as exc:
        raise _refused(exc) from None
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";")
    # every cell, the questions staff typed included, as text a spreadsheet never runs
    writer.writerow(["ontvangen op", *(safe_text(q["text"]) for q in found["questions"])])
    for answer in answers:
        cells = [safe_text(str(answer["answers"].get(q["key"], ""))) for q in found["questions"]]
        writer.writerow([answer["received_on"], *cells])
    return Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="bevraging-{found["id"]}.csv"'},
    )
