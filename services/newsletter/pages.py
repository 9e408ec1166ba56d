"""The public pages people see (Dutch, nl-BE): subscribe, confirm, unsubscribe. Plain HTML with its
own small style sheet: no scripts, no external resources, readable on a phone, labelled fields."""

from __future__ import annotations

import html

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;font-size:1.0625rem;
line-height:1.5;color:#1a1a1a;background:#f4f4f4}
header{background:#00557f;color:#fff;padding:1rem}
header p{margin:0;font-weight:bold}
main{max-width:36rem;margin:0 auto;padding:1.5rem 1rem;background:#fff;min-height:60vh}
h1{font-size:1.5rem;line-height:1.25;margin-top:0}
label{display:block;font-weight:bold;margin-top:1rem}
.hint{display:block;font-weight:normal;color:#4d4d4d;font-size:.95rem}
input[type=email],input[type=text]{width:100%;font-size:1.0625rem;padding:.6rem;margin-top:.25rem;
border:2px solid #4d4d4d;border-radius:4px}
input[aria-invalid=true]{border-color:#b00020}
.error{color:#b00020;font-weight:bold;margin:.25rem 0 0}
button{margin-top:1.25rem;font-size:1.0625rem;padding:.7rem 1.4rem;border:0;border-radius:4px;
background:#00557f;color:#fff;cursor:pointer;min-height:44px}
button:hover{background:#003d5c}
:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
.hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}
a{color:#00557f}
footer{max-width:36rem;margin:0 auto;padding:1rem;font-size:.9rem;color:#4d4d4d}
"""


def page(title: str, body: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="nl">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{html.escape(title)} — VVSG digitale inclusie</title>
<style>{_STYLE}</style>
</head>
<body>
<header><p>VVSG — digitale inclusie</p></header>
<main id="inhoud">
<h1>{html.escape(title)}</h1>
{body}
</main>
<footer>Vereniging van Vlaamse Steden en Gemeenten — team digitale inclusie</footer>
</body>
</html>
"""


PRIVACY = (
    "<p>We gebruiken je e-mailadres alleen om je de nieuwsbrief digitale inclusie te sturen. "
    "Onderaan elke nieuwsbrief staat een link om je met één klik uit te schrijven.</p>"
)


def subscribe_form(
    email: str = "", first_name: str = "", error: str | None = None, name_error: str | None = None
) -> str:
    invalid = (
        ' aria-invalid="true" aria-describedby="email-hint email-error"'
        if error
        else (' aria-describedby="email-hint"')
    )
    error_html = f'<p class="error" id="email-error" role="alert">{html.escape(error)}</p>' if error else ""
    name_invalid = ' aria-invalid="true" aria-describedby="first_name-error"' if name_error else ""
    name_error_html = (
        f'<p class="error" id="first_name-error" role="alert">{html.escape(name_error)}</p>'
        if name_error
        else ""
    )
    body = f"""<p>Schrijf je in op de nieuwsbrief digitale inclusie van VVSG: nieuws, inspiratie en
activiteiten voor lokale besturen die werk maken van digitale inclusie.</p>
<form method="post" action="/nieuwsbrief" novalidate>
<label for="email">E-mailadres</label>
<span class="hint" id="email-hint">We sturen je eerst een mail om je inschrijving te bevestigen.</span>
<input type="email" id="email" name="email" autocomplete="email" required maxlength="254"
value="{html.escape(email)}"{invalid}>
{error_html}
<label for="first_name">Voornaam <span class="hint">(niet verplicht)</span></label>
<input type="text" id="first_name" name="first_name" autocomplete="given-name" maxlength="100"
value="{html.escape(first_name)}"{name_invalid}>
{name_error_html}
<div class="hp" aria-hidden="true"><label for="website">Laat dit veld leeg</label>
<input type="text" id="website" name="website" tabindex="-1" autocomplete="off"></div>
<button type="submit">Inschrijven</button>
</form>
{PRIVACY}"""
    return page("Inschrijven op de nieuwsbrief", body)


def check_your_mail(email: str) -> str:
    return page(
        "Bijna klaar: bevestig je inschrijving",
        f"<p>We stuurden een mail naar <strong>{html.escape(email)}</strong>. Klik op de link in die mail "
        "om je inschrijving te bevestigen. Pas daarna sturen we je de nieuwsbrief.</p>"
        "<p>Geen mail gekregen? Kijk ook even in je map met ongewenste berichten.</p>",
    )


def confirm_prompt(action: str) -> str:
    return page(
        "Inschrijving bevestigen",
        "<p>Bevestig hieronder dat je de nieuwsbrief digitale inclusie wil ontvangen.</p>"
        f'<form method="post" action="{html.escape(action)}"><button type="submit">'
        "Ja, ik schrijf me in</button></form>",
    )


def confirmed(already: bool) -> str:
    text = "Je was al ingeschreven." if already else "Bedankt! Je inschrijving is bevestigd."
    return page(
        "Je bent ingeschreven",
        f"<p>{text} Je ontvangt voortaan de nieuwsbrief digitale inclusie.</p>"
        "<p>Wil je hem toch niet meer? Onderaan elke nieuwsbrief staat een link om je uit te schrijven.</p>",
    )


def confirm_no_longer_valid(subscribe_url: str) -> str:
    return page(
        "Deze link is niet meer geldig",
        "<p>Je schreef je intussen uit. Wil je de nieuwsbrief toch weer ontvangen? "
        f'<a href="{html.escape(subscribe_url)}">Schrijf je opnieuw in</a>.</p>',
    )


def unsubscribe_prompt(action: str) -> str:
    return page(
        "Uitschrijven",
        "<p>Wil je de nieuwsbrief digitale inclusie niet meer ontvangen?</p>"
        f'<form method="post" action="{html.escape(action)}"><button type="submit">'
        "Schrijf me uit</button></form>",
    )


def unsubscribed(subscribe_url: str) -> str:
    return page(
        "Je bent uitgeschreven",
        "<p>Je ontvangt de nieuwsbrief digitale inclusie niet meer.</p>"
        f'<p>Toch een vergissing? <a href="{html.escape(subscribe_url)}">Schrijf je opnieuw in</a>.</p>',
    )


def bad_link() -> str:
    return page(
        "Deze link werkt niet",
        "<p>De link is onvolledig of niet geldig. Kopieer hem in zijn geheel uit de mail, of neem contact op "
        "met het team digitale inclusie van VVSG.</p>",
    )


ERROR_EMPTY = "Vul je e-mailadres in."
ERROR_NAME = "Je voornaam bevat een onzichtbaar stuurteken of een regeleinde. Typ hem opnieuw."
ERROR_INVALID = "Dit is geen geldig e-mailadres. Controleer het even, bijvoorbeeld: naam@gemeente.be."
