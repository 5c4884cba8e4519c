"""A system's signed links over HTTP: GET shows the confirmation page, POST acts. The same
endpoints serve every system; its description says where its links point and what they offer."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from backoffice.core.settings import Settings
from backoffice.handlers import metrics, pages, slack_actions
from backoffice.handlers.logs import log
from backoffice.handlers.web import Request, Route
from backoffice.ports import Ports
from backoffice.services.answers import LINK_SECRET
from backoffice.services.links import LinkAnswer, action_of
from backoffice.services.system import Links, System


def routes(system: System) -> list[Route]:
    """GET and POST on every path the system's links point to, and Slack's interactivity."""
    found = []
    for path in dict.fromkeys(links.path for links in system.link_sets):
        found += [
            Route("GET", path, partial(_open, system, path)),
            Route("POST", path, partial(_act, system, path)),
        ]
    return [*found, Route("POST", slack_actions.PATH, partial(_slack, system))]


def link_set(system: System, path: str, token: str, settings: Settings) -> Links:
    """The links on `path` that offer the token's action (several sets may share a path)."""
    sets = [links for links in system.link_sets if links.path == path]
    if len(sets) > 1:
        offering = system.offering(action_of(settings.secret(LINK_SECRET), token) or "")
        return offering if offering in sets else sets[0]
    return sets[0]


def _slack(
    system: System, request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    return slack_actions.handle(system, request, ports, settings)


def _open(
    system: System,
    path: str,
    request: Request,
    params: Mapping[str, str],
    ports: Ports,
    settings: Settings,
) -> dict[str, Any]:
    token = request.query.get("t", "")
    view = link_set(system, path, token, settings).open(system, ports, settings, token)
    if view.status >= 400:
        metrics.count_refused_token(settings.secret(LINK_SECRET), token, ports.clock.now())
    return pages.link_page(view, path)


def _act(
    system: System,
    path: str,
    request: Request,
    params: Mapping[str, str],
    ports: Ports,
    settings: Settings,
) -> dict[str, Any]:
    form = request.form()
    token = form.get("t", "")
    answer = LinkAnswer(
        token=token,
        request_id=request.request_id,
        value=form.get("date", ""),
        fields=_fields(form),
    )
    outcome = link_set(system, path, token, settings).act(system, ports, settings, answer)
    if not outcome.accepted:
        log("link_refused", path=path, status=outcome.status, request_id=request.request_id)
        metrics.count_refused_token(settings.secret(LINK_SECRET), token, ports.clock.now())
    return pages.result(outcome)


def _fields(form: Mapping[str, str]) -> dict[str, str]:
    """An edited proposal's columns: everything the form posted but the token and the date."""
    return {k: v for k, v in form.items() if k not in ("t", "date")}
