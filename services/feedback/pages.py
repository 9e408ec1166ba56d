"""The public pages, reached through a personal link without logging in: the feedback form after an
activity (/feedback/{token}) and a user survey (/survey/{token}).

Plain HTML with its CSS inline (no scripts, nothing from elsewhere), in Dutch, built for phones and
for keyboard and screen-reader users: every question is a fieldset with a legend, errors are named in
a summary at the top and tied to their field with aria-describedby and aria-invalid."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from html import escape
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from services.feedback import domain, erasure, handlers, queries
from services.feedback.settings import FeedbackSettings
from services.feedback.tables import FbRequest, FbSession, FbSurvey
from shared import links
from shared.errors import Conflict
from shared.limits import public_rate_limit
from shared.text import MONTHS
from shared.uow import UnitOfWork
from shared.web import OutboxDep, SessionDep

# public: no login, so every client address gets a limited number of requests a minute
router = APIRouter(include_in_schema=False, dependencies=[Depends(public_rate_limit)])

# --- what people read (nl-BE), kept together for review and translation ----------------------------

SITE = "VVSG – digitale inclusie"
AGREE = ("helemaal niet akkoord", "niet akkoord", "neutraal", "akkoord", "helemaal akkoord")
QUESTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "satisfaction": (
        "Hoe tevreden ben je over deze activiteit?",
        ("heel ontevreden", "ontevreden", "neutraal", "tevreden", "heel tevreden"),
    ),
    "usefulness": (
        "Hoe nuttig was deze activiteit voor je werk?",
        ("helemaal niet nuttig", "weinig nuttig", "neutraal", "nuttig", "heel nuttig"),
    ),
    "motivated": ("Ik ben gemotiveerd om met digitale inclusie aan de slag te gaan.", AGREE),
    "able_to_act": ("Ik kan zelf acties rond digitale inclusie realiseren.", AGREE),
}
SHORT_NAMES = {
    "satisfaction": "tevredenheid",
    "usefulness": "nut",
    "motivated": "motivatie",
    "able_to_act": "zelf acties realiseren",
    "comment": "opmerkingen",
}
SCALE_HINT = "Kies een score van 1 tot 5."
SURVEY_SCALE = ("heel slecht", "slecht", "neutraal", "goed", "heel goed")
ERRORS = {
    "missing": "Je duidde nog geen score aan.",
    "out_of_range": "Een score moet tussen 1 en 5 liggen. Kies een van de vijf mogelijkheden.",
    "too_long": f"Je tekst is te lang: gebruik maximaal {domain.COMMENT_MAX} tekens.",
    "not_a_choice": "Kies een van de mogelijkheden.",
    "control_character": "Je tekst bevat een onzichtbaar stuurteken dat we niet kunnen bewaren. "
    "Typ de tekst opnieuw of plak hem zonder opmaak.",
    "missing_text": "Vul deze vraag in.",
    "missing_choice": "Kies een van de mogelijkheden.",
}
T = {
    "feedback_title": "Jouw feedback",
    "intro_session": "Bedankt om deel te nemen aan {subject}. Met jouw antwoorden maken we volgende "
    "activiteiten beter. Het invullen duurt ongeveer twee minuten.",
    "intro_trajectory": "Jullie bestuur werkte met VVSG aan een traject ondersteuning op maat. Hoe "
    "hebben jullie dat ervaren? Het invullen duurt ongeveer twee minuten.",
    "activity": "de activiteit",
    "required_note": "De vier vragen met een score zijn verplicht; de opmerkingen kies je zelf.",
    "comment_label": "Wil je nog iets kwijt? (niet verplicht)",
    "comment_hint": "Wat vond je goed, wat kan beter? Je opmerkingen lezen alleen de medewerkers "
    "digitale inclusie van VVSG.",
    "submit": "Verstuur mijn feedback",
    "summary_title": "Er ontbreekt nog iets",
    "summary_intro": "Pas het volgende aan en verstuur opnieuw:",
    "thanks_title": "Bedankt voor je feedback!",
    "thanks": "Je antwoorden zijn goed ontvangen. Ze helpen ons om onze werking te verbeteren.",
    "already_title": "Je hebt al geantwoord",
    "already": "Bedankt! Via deze link kwam al een antwoord binnen. Per link kan je één keer "
    "antwoorden, dus je hoeft niets meer te doen.",
    "expired_title": "Deze link is verlopen",
    "expired": "Je kon via deze link antwoorden tot en met {day}. Die termijn is voorbij, dus "
    "antwoorden kan niet meer. Wil je toch nog iets laten weten? Mail dan naar "
    "digitale.inclusie@vvsg.be.",
    "invalid_title": "Deze link werkt niet",
    "invalid": "We vinden geen vragenlijst bij deze link. Controleer of je de volledige link uit je "
    "e-mail gebruikt. Lukt het niet? Mail dan naar digitale.inclusie@vvsg.be.",
    "erased_title": "Deze link werkt niet meer",
    "erased": "De gegevens bij deze link zijn op vraag gewist. Antwoorden via deze link kan daarom niet "
    "meer. Vragen? Mail dan naar digitale.inclusie@vvsg.be.",
    "survey_intro": "Vertel ons wat je van onze hulpmiddelen vindt. Je antwoorden helpen ons om ze "
    "beter af te stemmen op wat lokale besturen nodig hebben.",
    "survey_required": "Vragen met (verplicht) moet je invullen.",
    "survey_submit": "Verstuur mijn antwoorden",
    "survey_closed_title": "Deze bevraging is afgesloten",
    "survey_closed": "De bevraging liep tot {day}. Antwoorden kan niet meer. Bedankt voor je interesse!",
    "about_tool": "Over het hulpmiddel",
    "required": "(verplicht)",
    "optional": "(niet verplicht)",
    "error_prefix": "Fout: ",
}

STYLE = """
:root{--ink:#1d1d1b;--muted:#4a4a4a;--accent:#00577a;--accent-soft:#e3f0f5;--error:#b00020;--line:#6b6b6b}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:1.0625rem/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;color:var(--ink);
background:#fff}
header{background:var(--accent);color:#fff;padding:.75rem 1rem}
header p{margin:0 auto;max-width:42rem;font-weight:600}
main{max-width:42rem;margin:0 auto;padding:1rem 1rem 3rem}
h1{font-size:1.6rem;line-height:1.25;margin:.75rem 0}
fieldset{border:1px solid var(--line);border-radius:.5rem;margin:0 0 1.25rem;padding:.75rem 1rem 1rem;
min-width:0}
legend{font-weight:600;padding:0 .25rem;font-size:1.1rem}
.hint{color:var(--muted);margin:.25rem 0 .5rem}
.error{color:var(--error);font-weight:600;margin:.25rem 0 .5rem}
.invalid{border:3px solid var(--error)}
.scale{display:flex;gap:.5rem;margin:0;padding:0;list-style:none}
.scale li{flex:1 1 0}
.scale label{display:flex;flex-direction:column;align-items:center;gap:.25rem;height:100%;min-height:44px;
padding:.5rem .25rem;border:2px solid var(--line);border-radius:.4rem;cursor:pointer;text-align:center;
font-size:.9rem}
.scale label:has(input:checked){border-color:var(--accent);background:var(--accent-soft)}
.scale .number{font-size:1.2rem;font-weight:700}
input[type=radio]{width:1.3rem;height:1.3rem;margin:0;accent-color:var(--accent)}
.choices{margin:0;padding:0;list-style:none}
.choices label{display:flex;align-items:center;gap:.5rem;min-height:44px}
label.block{display:block;font-weight:600;font-size:1.1rem;margin:0 0 .25rem}
textarea{display:block;width:100%;min-height:8rem;font:inherit;padding:.5rem;border:2px solid var(--line);
border-radius:.4rem}
textarea[aria-invalid=true]{border-color:var(--error)}
button{font:inherit;font-weight:600;min-height:48px;padding:.6rem 1.5rem;border:0;border-radius:.4rem;
background:var(--accent);color:#fff;cursor:pointer}
:focus-visible{outline:4px solid #fd0;outline-offset:0;box-shadow:0 0 0 7px #0b0c0c}
.summary{border:3px solid var(--error);border-radius:.4rem;padding:.75rem 1rem;margin:0 0 1.5rem}
.summary h2{margin:0 0 .5rem;font-size:1.2rem}
.summary a{color:var(--error);font-weight:600}
.notice{border-left:6px solid var(--accent);padding:.5rem 1rem;background:var(--accent-soft)}
@media (max-width:34rem){
 .scale{flex-direction:column}
 .scale label{flex-direction:row;justify-content:flex-start;text-align:left;gap:.75rem;padding:.5rem .75rem}
 button{width:100%}
}
@media (prefers-reduced-motion:reduce){*{transition:none!important}}
"""

HEADERS = {
    # the token is in the address: never send it on as a referrer, never cache or index the page
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
    # Content-Security-Policy, nosniff and the rest: shared.security, for every page of every service
}


def dutch_date(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _page(title: str, body: str, status_code: int = 200, has_errors: bool = False) -> HTMLResponse:
    full_title = (T["error_prefix"] if has_errors else "") + f"{title} – {SITE}"
    html = (
        '<!doctype html>\n<html lang="nl-BE">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="robots" content="noindex, nofollow">\n'
        f"<title>{escape(full_title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f'<header><p>{escape(SITE)}</p></header>\n<main id="inhoud">\n{body}\n</main>\n</body>\n</html>\n'
    )
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


def _message(title: str, text: str, status_code: int) -> HTMLResponse:
    return _page(title, f'<h1>{escape(title)}</h1>\n<p class="notice">{escape(text)}</p>', status_code)


def _summary(errors: Mapping[str, str], targets: Mapping[str, str], names: Mapping[str, str]) -> str:
    if not errors:
        return ""
    items = "".join(
        f'<li><a href="#{targets[key]}">{escape(names[key].capitalize())}: {escape(message)}</a></li>'
        for key, message in errors.items()
    )
    return (
        '<div class="summary" role="alert" aria-labelledby="fouten-titel" tabindex="-1" autofocus>'
        f'<h2 id="fouten-titel">{escape(T["summary_title"])}</h2>'
        f"<p>{escape(T['summary_intro'])}</p><ul>{items}</ul></div>"
    )


def _attributes(described: str | None, required: bool, invalid: bool, framed: bool = True) -> str:
    parts = []
    if described:
        parts.append(f'aria-describedby="{described}"')
    if required:
        parts.append('aria-required="true"')
    if invalid:
        parts.append('aria-invalid="true"' + (' class="invalid"' if framed else ""))
    return (" " + " ".join(parts)) if parts else ""


def _scale(
    name: str,
    legend: str,
    labels: tuple[str, ...],
    chosen: int | None,
    error: str | None,
    required: bool = True,
) -> str:
    hint_id, error_id = f"{name}-hint", f"{name}-error"
    described = f"{hint_id} {error_id}" if error else hint_id
    options = []
    for n in range(1, 6):
        checked = " checked" if chosen == n else ""
        options.append(
            f'<li><label for="{name}-{n}"><input type="radio" id="{name}-{n}" name="{name}" value="{n}"'
            f'{checked}><span class="number">{n}</span> <span>{escape(labels[n - 1])}</span></label></li>'
        )
    error_html = f'<p class="error" id="{error_id}">{escape(error)}</p>' if error else ""
    return (
        f'<fieldset role="radiogroup"{_attributes(described, required, error is not None)}>'
        f"<legend>{escape(legend)}</legend>"
        f'<p class="hint" id="{hint_id}">{escape(SCALE_HINT)} 1 = {escape(labels[0])}, '
        f"5 = {escape(labels[4])}.</p>{error_html}"
        f'<ul class="scale">{"".join(options)}</ul></fieldset>'
    )


def _textarea(name: str, label: str, hint: str, value: str, error: str | None, required: bool = False) -> str:
    hint_id, error_id = f"{name}-hint", f"{name}-error"
    ids = [hint_id] if hint else []
    if error:
        ids.append(error_id)
    hint_html = f'<p class="hint" id="{hint_id}">{escape(hint)}</p>' if hint else ""
    error_html = f'<p class="error" id="{error_id}">{escape(error)}</p>' if error else ""
    attributes = _attributes(" ".join(ids) or None, required, error is not None, framed=False)
    return (
        f'<div class="field"><label class="block" for="{name}">{escape(label)}</label>{hint_html}{error_html}'
        f'<textarea id="{name}" name="{name}" rows="6" maxlength="{domain.COMMENT_MAX}"{attributes}>'
        f"{escape(value)}</textarea></div>"
    )


# --- the feedback form --------------------------------------------------------------------------


def _feedback_form(intro: str, form: Mapping[str, str], answer: domain.Answer | None) -> str:
    errors = {k: ERRORS[v] for k, v in (answer.errors.items() if answer else ())}
    targets = {k: f"{k}-1" for k in QUESTIONS} | {"comment": "comment"}
    fields = []
    for name, (legend, labels) in QUESTIONS.items():
        chosen = answer.ratings.get(name) if answer else None
        fields.append(_scale(name, legend, labels, chosen, errors.get(name)))
    fields.append(
        _textarea(
            "comment", T["comment_label"], T["comment_hint"], form.get("comment", ""), errors.get("comment")
        )
    )
    body = (
        _summary(errors, targets, SHORT_NAMES)
        + f"<h1>{escape(T['feedback_title'])}</h1><p>{intro}</p>"
        + f'<p class="hint">{escape(T["required_note"])}</p>'
        + f'<form method="post" novalidate>{"".join(fields)}'
        + f'<button type="submit">{escape(T["submit"])}</button></form>'
    )
    return body


def _subject_intro(session: Session, request: FbRequest) -> str:
    if request.subject_type == "support_trajectory":
        return escape(T["intro_trajectory"])
    row = session.get(FbSession, request.subject_id)
    if row is not None and row.title:
        day = row.held_on or (row.starts_at.date() if row.starts_at else None)
        subject = f"<strong>{escape(row.title)}</strong>" + (f" van {escape(dutch_date(day))}" if day else "")
    else:
        subject = escape(T["activity"])
    return T["intro_session"].format(subject=subject)


def _settings(request: Request) -> FeedbackSettings:
    settings: FeedbackSettings = request.app.state.settings
    return settings


SettingsDep = Annotated[FeedbackSettings, Depends(_settings)]


def _invalid() -> HTMLResponse:
    return _message(T["invalid_title"], T["invalid"], 404)


def _expired(request: FbRequest, settings: FeedbackSettings) -> HTMLResponse:
    last = domain.business_date(domain.expires_at(request.requested_at, settings.feedback_link_valid_days))
    return _message(T["expired_title"], T["expired"].format(day=dutch_date(last)), 410)


def _erased() -> HTMLResponse:
    return _message(T["erased_title"], T["erased"], 410)


def _already(status_code: int) -> HTMLResponse:
    return _message(T["already_title"], T["already"], status_code)


def _open_feedback_request(
    session: Session, settings: FeedbackSettings, token: str, to_answer: bool = False
) -> FbRequest | Response:
    try:
        request = queries.request_from_token(session, settings, "feedback", token)
    except links.BadLink:
        return _invalid()
    if erasure.is_erased(session, request.member_id, lock=to_answer):
        return _erased()
    if request.subject_type == "survey":  # a survey invitation mailed as a feedback link
        return RedirectResponse(queries.survey_link(settings, request.id), status_code=303)
    return request


@router.get("/feedback/{token}")
def feedback_page(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    request = _open_feedback_request(session, settings, token)
    if isinstance(request, Response):
        return request
    if queries.answered(session, request):
        return _already(200)
    if domain.is_expired(request.requested_at, settings.feedback_link_valid_days):
        return _expired(request, settings)
    return _page(T["feedback_title"], _feedback_form(_subject_intro(session, request), {}, None))


async def _form(request: Request) -> dict[str, str]:
    """The submitted form (application/x-www-form-urlencoded), read without python-multipart."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


FormDep = Annotated[dict[str, str], Depends(_form)]


@router.post("/feedback/{token}")
def submit_feedback(
    token: str, form: FormDep, session: SessionDep, settings: SettingsDep, outbox: OutboxDep
) -> Response:
    request = _open_feedback_request(session, settings, token, to_answer=True)
    if isinstance(request, Response):
        return request
    if queries.answered(session, request):
        return _already(409)
    if domain.is_expired(request.requested_at, settings.feedback_link_valid_days):
        return _expired(request, settings)
    answer = domain.read_answer(form)
    if not answer.ok:
        body = _feedback_form(_subject_intro(session, request), form, answer)
        return _page(T["feedback_title"], body, 422, has_errors=True)
    uow = UnitOfWork(session, outbox, handlers.PUBLIC)
    command = handlers.AnswerFeedback(request_id=request.id, ratings=answer.ratings, comment=answer.comment)
    try:
        uow.commit(handlers.answer_feedback(command, uow))
    except (handlers.AlreadyAnswered, Conflict):  # a second tab or a double click won the race
        uow.rollback()
        return _already(409)
    return _message(T["thanks_title"], T["thanks"], 200)


# --- user surveys -------------------------------------------------------------------------------


def _open_survey_request(
    session: Session, settings: FeedbackSettings, token: str, to_answer: bool = False
) -> tuple[FbRequest, FbSurvey] | Response:
    try:
        request = queries.request_from_token(session, settings, "survey", token)
    except links.BadLink:
        return _invalid()
    survey = session.get(FbSurvey, request.subject_id) if request.subject_type == "survey" else None
    if survey is None:
        return _invalid()
    if erasure.is_erased(session, request.member_id, lock=to_answer):
        return _erased()
    return request, survey


def _survey_form(survey: FbSurvey, form: Mapping[str, str], errors: Mapping[str, str]) -> str:
    questions = queries.questions_of(survey)
    targets: dict[str, str] = {}
    names: dict[str, str] = {}
    fields = []
    for number, q in enumerate(questions, start=1):
        names[q.key] = f"vraag {number}"
        about = f"{T['about_tool']} {q.tool_title}: " if q.tool_title else ""
        legend = f"{about}{q.text} {T['required'] if q.required else T['optional']}"
        error = errors.get(q.key)
        if q.kind == "rating":
            targets[q.key] = f"{q.key}-1"
            chosen, _ = domain.parse_rating(form.get(q.key))
            fields.append(_scale(q.key, legend, SURVEY_SCALE, chosen, error, q.required))
        elif q.kind == "choice":
            targets[q.key] = f"{q.key}-1"
            error_id = f"{q.key}-error"
            options = []
            for i, option in enumerate(q.options, start=1):
                checked = " checked" if form.get(q.key) == option else ""
                options.append(
                    f'<li><label for="{q.key}-{i}"><input type="radio" id="{q.key}-{i}" name="{q.key}" '
                    f'value="{escape(option)}"{checked}><span>{escape(option)}</span></label></li>'
                )
            attributes = _attributes(error_id if error else None, q.required, error is not None)
            error_html = f'<p class="error" id="{error_id}">{escape(error)}</p>' if error else ""
            fields.append(
                f'<fieldset role="radiogroup"{attributes}><legend>{escape(legend)}</legend>{error_html}'
                f'<ul class="choices">{"".join(options)}</ul></fieldset>'
            )
        else:
            targets[q.key] = q.key
            fields.append(_textarea(q.key, legend, "", form.get(q.key, ""), error, q.required))
    intro = escape(survey.introduction) if survey.introduction else escape(T["survey_intro"])
    return (
        _summary(errors, targets, names)
        + f'<h1>{escape(survey.title)}</h1><p>{intro}</p><p class="hint">{escape(T["survey_required"])}</p>'
        + f'<form method="post" novalidate>{"".join(fields)}'
        + f'<button type="submit">{escape(T["survey_submit"])}</button></form>'
    )


def _survey_error(kind: domain.ErrorCode, question: domain.SurveyQuestion) -> str:
    if kind == "missing":
        return ERRORS["missing" if question.kind == "rating" else f"missing_{question.kind}"]
    return ERRORS[kind]


def _survey_closed(survey: FbSurvey) -> HTMLResponse:
    day = survey.closed_on or datetime.now(UTC).date()
    return _message(T["survey_closed_title"], T["survey_closed"].format(day=dutch_date(day)), 410)


@router.get("/survey/{token}")
def survey_page(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    opened = _open_survey_request(session, settings, token)
    if isinstance(opened, Response):
        return opened
    request, survey = opened
    if queries.answered(session, request):
        return _already(200)
    if survey.closed_on is not None:
        return _survey_closed(survey)
    return _page(survey.title, _survey_form(survey, {}, {}))


@router.post("/survey/{token}")
def submit_survey(
    token: str, form: FormDep, session: SessionDep, settings: SettingsDep, outbox: OutboxDep
) -> Response:
    opened = _open_survey_request(session, settings, token, to_answer=True)
    if isinstance(opened, Response):
        return opened
    request, survey = opened
    if queries.answered(session, request):
        return _already(409)
    if survey.closed_on is not None:
        return _survey_closed(survey)
    questions = {q.key: q for q in queries.questions_of(survey)}
    answers, codes = domain.read_survey_answer(list(questions.values()), form)
    if codes:
        errors = {key: _survey_error(code, questions[key]) for key, code in codes.items()}
        return _page(survey.title, _survey_form(survey, form, errors), 422, has_errors=True)
    uow = UnitOfWork(session, outbox, handlers.PUBLIC)
    try:
        uow.commit(handlers.answer_survey(handlers.AnswerSurvey(request_id=request.id, answers=answers), uow))
    except (handlers.AlreadyAnswered, Conflict):
        uow.rollback()
        return _already(409)
    return _message(T["thanks_title"], T["thanks"], 200)
