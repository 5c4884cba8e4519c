"""Small, readable HTML pages for people who follow a link from an email or a text message.

Rendered from templates (Jinja2, autoescaped: sheet text and strangers' text are data, never
markup). They work on a phone and need no JavaScript.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from backoffice.handlers import web
from backoffice.services.links import ActionResult, LinkPage


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("backoffice.handlers", "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
    )


def render(template: str, **context: Any) -> str:
    return str(_environment().get_template(template).render(**context))


def message(status: int, title: str, text: str) -> dict[str, Any]:
    return web.html_response(status, render("base.html", title=title, message=text))


def link_page(view: LinkPage, action_url: str) -> dict[str, Any]:
    """The confirmation page of a link: what it will do, and the form whose POST does it."""
    html = render(
        "link.html", title=view.title, message=view.message, form=view.form, action_url=action_url
    )
    return web.html_response(view.status, html)


def result(outcome: ActionResult) -> dict[str, Any]:
    return message(outcome.status, outcome.title, outcome.message)
