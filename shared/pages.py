"""The public pages' common frame: how their templates are loaded and the base template they extend.

The events service's agenda and the newsletter service's practices, articles and tools pages are one
public site to a reader. They share `shared/templates/public/base.html` (style sheet, menu, footer),
found after each service's own templates, so that a fix to the frame is made once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape

SHARED_TEMPLATES = Path(__file__).parent / "templates"


def page_templates(folder: Path) -> Environment:
    """A service's templates in `folder`, then the shared ones; everything escaped, every name defined."""
    return Environment(
        loader=ChoiceLoader([FileSystemLoader(folder), FileSystemLoader(SHARED_TEMPLATES)]),
        autoescape=select_autoescape(["html", "xml"], default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(
    templates: Environment,
    name: str,
    *,
    site: str,
    title: str,
    section: str,
    nav: Sequence[tuple[str, str, str]],
    description: str = "",
    canonical: str = "",
    feeds: Sequence[tuple[str, str, str]] = (),
    follow: Sequence[tuple[str, str]] = (),
    follow_intro: str = "",
    **context: Any,
) -> str:
    """A page in the frame: what the base template asks for, with its defaults (no description, no
    canonical address, no feeds, no footer links), then the page's own `context`."""
    return templates.get_template(name).render(
        site=site,
        title=title,
        section=section,
        nav=nav,
        description=description,
        canonical=canonical,
        feeds=feeds,
        follow=follow,
        follow_intro=follow_intro,
        **context,
    )
