"""The Markdown of a newsletter issue: only http/https/mailto links and http(s) images survive, raw
HTML is shown as text, whatever trick hides a script URL (issue 11 item 3)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest

from services.newsletter import mail


class _Attributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.extend((tag, name, value or "") for name, value in attrs)


def _attributes(page: str) -> list[tuple[str, str, str]]:
    parser = _Attributes()
    parser.feed(page)  # decodes entities in attribute values, as a browser does
    return parser.found


@pytest.mark.parametrize(
    "body",
    [
        "[klik](javascript:alert(1))",
        "![x](javascript:alert(1))",
        "[klik](JaVaScRiPt:alert(1))",
        "[klik](<javascript:alert(1)>)",
        "[klik]( javascript:alert(1) 'titel')",
        "[klik](java&#115;cript:alert(1))",
        "[klik](java&#x09;script:alert(1))",
        "[klik](java\tscript:alert(1))",
        "[klik](\\javascript:alert(1))",
        "[klik][1]\n\n[1]: javascript:alert(1)",
        "![x][1]\n\n[1]: javascript:alert(1)",
        "[klik](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        "![x](data:image/svg+xml;base64,PHN2Zz4=)",
        "[klik](vbscript:msgbox(1))",
        "[klik](file:///etc/passwd)",
        "![x](mailto:a@b.be)",
        "<javascript:alert(1)>",
        "<a href=javascript:alert(1)>klik</a>",
        '<a href="javascript:alert(1)">klik</a>',
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "<div onclick=alert(1)>x</div>",
        "<svg onload=alert(1)>",
        "<iframe src=javascript:alert(1)></iframe>",
    ],
)
def test_no_markdown_trick_makes_an_active_url_or_element(body: str) -> None:
    page = mail.render_markdown(f"Voor\n\n{body}\n\nNa")
    attributes = _attributes(page)
    assert [a for a in attributes if a[1] in ("href", "src")] == []
    assert [a for a in attributes if a[1].startswith("on")] == []
    assert "<script" not in page and "<iframe" not in page and "<svg" not in page
    assert "Voor" in page and "Na" in page


def test_safe_links_and_images_are_kept_and_an_unsafe_one_keeps_its_label() -> None:
    page = mail.render_markdown(
        "[VVSG](https://www.vvsg.be) [oud](http://example.org) <mailto:info@vvsg.be>"
        " ![logo](https://www.vvsg.be/logo.png) [**klik** hier](javascript:alert(1)) ![foto](javascript:x)"
    )
    assert ("a", "href", "https://www.vvsg.be") in _attributes(page)
    assert ("a", "href", "http://example.org") in _attributes(page)
    assert ("a", "href", "mailto:info@vvsg.be") in _attributes(page)
    assert ("img", "src", "https://www.vvsg.be/logo.png") in _attributes(page)
    assert "<span><strong>klik</strong> hier</span>" in page
    assert "[afbeelding: foto]" in page


def test_the_text_part_spells_out_safe_links_only() -> None:
    text = mail.markdown_as_text("[VVSG](https://www.vvsg.be) en [klik](javascript:alert(1)) en ![x](data:x)")
    assert text == "VVSG (https://www.vvsg.be) en klik en x"


def test_the_preview_and_the_mail_carry_no_script_url() -> None:
    config = mail.MailConfig(
        mail_from="Digitale inclusie VVSG <digitale.inclusie@vvsg.be>",
        newsletter_public_url="https://nieuwsbrief.example",
        feedback_public_url="https://feedback.example",
        link_secret="s" * 40,
        feedback_link_valid_days=30,
    )
    body = "[klik](javascript:alert(1)) ![x](javascript:alert(2))"
    preview = mail.preview_html(config, "Titel", body)
    assert "javascript:" not in preview
    message = mail.newsletter(
        config,
        issue_id=uuid.uuid4(),
        title="Titel",
        body=body,
        subscriber_id=uuid.uuid4(),
        recipient=mail.Recipient("an@gemeente.be"),
        now=datetime.now(UTC),
    )
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    assert "javascript:" not in str(html_part.get_content())  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "body",
    [
        '<https://x.be" onmouseover="alert(1)>',
        '[a](https://x.be"onclick="alert(1))',
        '[a](https://x.be "t" onclick="alert(1)")',
        '![a](https://x.be/a.png" onerror="alert(1))',
    ],
)
def test_a_safe_url_cannot_break_out_of_its_attribute(body: str) -> None:
    attributes = _attributes(mail.render_markdown(body))
    assert [name for _, name, _ in attributes if name.startswith("on")] == []
    assert all(value.startswith("https://x.be") for _, name, value in attributes if name in ("href", "src"))
