"""Meta's Graph API (Facebook Pages and Instagram): one request, and its error said as the port
says it. Graph answers errors as `{"error": {"message", "type", "code", "error_subcode",
"is_transient", "fbtrace_id"}}`, mostly with HTTP 400 whatever the cause, so the code decides."""

from __future__ import annotations

from typing import Any

import httpx

from backoffice.adapters.posting.platform import ChannelBusy, json_object, unreachable, where
from backoffice.ports.posting import PostRefused, Publication, TokenRejected

TOKEN_CODES = frozenset({190, 102})  # OAuthException: invalid, expired or revoked; API session
RATE_LIMIT_CODES = frozenset({4, 9, 17, 32, 613})  # app, publishing, user, page, custom limits
TEMPORARY_CODES = frozenset({-2, -1, 1, 2})  # "temporary issue, wait and retry"

Files = dict[str, tuple[str, bytes, str]]


def graph_post(
    http: httpx.Client,
    url: str,
    publication: Publication,
    data: dict[str, str],
    files: Files | None = None,
) -> dict[str, Any]:
    """POST form fields (multipart when there are files); the answer's JSON object."""
    try:
        response = http.post(url, data=data, files=files or None)
    except httpx.TransportError as error:
        raise unreachable(publication, error) from None
    return graph_answer(response, publication)


def graph_get(
    http: httpx.Client, url: str, publication: Publication, token: str, fields: str
) -> dict[str, Any]:
    # The token goes in the Authorization header, which Graph accepts too: in the query string
    # it would land in httpx's request log.
    headers = {"Authorization": f"Bearer {token}"}
    try:
        response = http.get(url, params={"fields": fields}, headers=headers)
    except httpx.TransportError as error:
        raise unreachable(publication, error) from None
    return graph_answer(response, publication)


def graph_answer(response: httpx.Response, publication: Publication) -> dict[str, Any]:
    body = json_object(response)
    error = body.get("error")
    if response.is_success and not isinstance(error, dict):
        return body
    raise graph_failure(response.status_code, error if isinstance(error, dict) else {}, publication)


def graph_failure(status: int, error: dict[str, Any], publication: Publication) -> Exception:
    code = error.get("code")
    said = _said(status, error)
    if code in TOKEN_CODES or status == 401:
        return TokenRejected(f"{where(publication)}: Meta refused the token: {said}")
    if _worth_retrying(status, code, error):
        return ChannelBusy(f"{where(publication)}: Meta is busy: {said}")
    if 400 <= status < 500:
        return PostRefused(f"{where(publication)}: Meta refused the post: {said}")
    return ChannelBusy(f"{where(publication)}: Meta answered HTTP {status}: {said}")


def _worth_retrying(status: int, code: Any, error: dict[str, Any]) -> bool:
    limited = code in RATE_LIMIT_CODES or status == 429
    return limited or code in TEMPORARY_CODES or error.get("is_transient") is True or status >= 500


def _said(status: int, error: dict[str, Any]) -> str:
    """Meta's own words, with what its support asks for (the code and the fbtrace_id)."""
    message = str(error.get("message") or f"HTTP {status}")
    if error.get("error_user_msg"):
        message = f"{message} {error['error_user_msg']}"
    details = [f"code {error['code']}"] if "code" in error else []
    if "error_subcode" in error:
        details.append(f"subcode {error['error_subcode']}")
    if "fbtrace_id" in error:
        details.append(f"fbtrace_id {error['fbtrace_id']}")
    return f"{message} ({', '.join(details)})" if details else message
