"""Lambda Function URL requests and responses (payload 2.0), shared with `backoffice serve`."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from attrs import frozen


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
    """A download (an .ics for "add to calendar"), base64 as Function URLs carry binary."""
    return {
        "statusCode": 200,
        "headers": {
            "content-type": content_type,
            "content-disposition": f'attachment; filename="{filename}"',
            "cache-control": "no-store",
            "x-content-type-options": "nosniff",
        },
        "body": base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": True,
    }
