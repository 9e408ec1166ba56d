"""The public pages' common frame: how their templates are loaded and the base template they extend.

The events service's agenda and the newsletter service's practices, articles and tools pages are one
public site to a reader. They share `shared/templates/public/base.html` (style sheet, menu, footer),
found after each service's own templates, so that a fix to the frame is made once."""

from __future__ import annotations

from pathlib import Path

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
