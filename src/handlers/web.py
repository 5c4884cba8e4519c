"""Lambda Function URL requests and responses (payload 2.0), shared with `backoffice serve`."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

from attrs import frozen

from backoffice.core.settings import MissingSecret, Settings
from backoffice.handlers.logs import log
from backoffice.ports import Ports


@frozen
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    request_id: str

    def form(self) -> dict[str, str]:
        """An application/x-www-form-urlencoded body; the last value wins for repeated names."""
        parsed = parse_qs(self.body.decode("utf-8", errors="replace"), keep_blank_values=True)
        return {name: values[-1] for name, values in parsed.items()}


def request_from_event(event: Mapping[str, Any]) -> Request:
    http = event.get("requestContext", {}).get("http", {})
    raw = event.get("body") or ""
    body = base64.b64decode(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    query = event.get("queryStringParameters") or {}
    if not query and event.get("rawQueryString"):
        query = {k: v[-1] for k, v in parse_qs(event["rawQueryString"]).items()}
    return Request(
        method=str(http.get("method", "GET")).upper(),
        path=str(event.get("rawPath") or http.get("path") or "/"),
        query=dict(query),
        headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
        body=body,
        request_id=str(event.get("requestContext", {}).get("requestId") or uuid.uuid4().hex),
    )


def event_from_request(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, request_id: str
) -> dict[str, Any]:
    """The Function URL event a request to the local server stands for."""
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {k.lower(): v for k, v in headers.items()},
        "requestContext": {"http": {"method": method, "path": path}, "requestId": request_id},
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


def html_response(status: int, page: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {
            "content-type": "text/html; charset=utf-8",
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
        },
        "body": page,
    }


def text_response(status: int, text: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": text,
    }


def file_response(body: bytes, content_type: str, filename: str) -> dict[str, Any]:
    """A download (an .ics for "add to calendar")."""
    response = binary_response(body, content_type)
    response["headers"]["content-disposition"] = f'attachment; filename="{filename}"'
    return response


def binary_response(body: bytes, content_type: str) -> dict[str, Any]:
    """Bytes, base64 as Function URLs carry binary; never cached, never sniffed as another type."""
    return {
        "statusCode": 200,
        "headers": {
            "content-type": content_type,
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }


# --- routing -----------------------------------------------------------------------------------

Endpoint = Callable[[Request, Mapping[str, str], Ports, Settings], dict[str, Any]]


@frozen
class Route:
    """`pattern` is a path whose `{name}` segments match one segment each: /ar/r/{appt}/{code}."""

    method: str
    pattern: str
    endpoint: Endpoint

    def match(self, path: str) -> dict[str, str] | None:
        wanted, given = self.pattern.strip("/").split("/"), path.strip("/").split("/")
        if len(wanted) != len(given):
            return None
        params = {}
        for part, value in zip(wanted, given, strict=True):
            if part.startswith("{") and part.endswith("}"):
                if not value:
                    return None
                params[part[1:-1]] = value
            elif part != value:
                return None
        return params


def _answered(
    route: Route, request: Request, params: Mapping[str, str], ports: Ports, settings: Settings
) -> dict[str, Any]:
    try:
        return route.endpoint(request, params, ports, settings)
    except MissingSecret as missing:
        log("missing_secret", path=route.pattern, secret=missing.name)
        return text_response(503, f"Not set up yet: {missing}.")


def routed(
    routes: Sequence[Route], event: Mapping[str, Any], ports: Ports, settings: Settings
) -> dict[str, Any]:
    """The response of the route the request's method and path match; 404 or 405 otherwise."""
    request = request_from_event(event)
    allowed = []
    for route in routes:
        params = route.match(request.path)
        if params is None:
            continue
        if route.method == request.method:
            return _answered(route, request, params, ports, settings)
        allowed.append(route.method)
    if allowed:
        response = text_response(405, f"Use {' or '.join(sorted(set(allowed)))} here.")
        response["headers"]["allow"] = ", ".join(sorted(set(allowed)))
        return response
    return text_response(404, "Not found.")


def loggable(routes: Sequence[Route], path: str) -> str:
    """A path fit for a log line: the pattern of the route it matches, so a link's code in the
    path (/ar/r/A1/<code>) never reaches the log; an unknown path is only "(other)"."""
    for route in routes:
        if route.match(path) is not None:
            return route.pattern
    return "(other)"
