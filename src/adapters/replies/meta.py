"""A teammate's reply through Meta's send APIs, one JSON POST to `{graph_base}/{business_id}/
messages` whatever the platform:

- Facebook: Messenger's Send API for the Page (business_id the Page id, the customer a PSID);
- Instagram: the same Send API for the Facebook Page linked to the professional account, at
  `me` (the Page the token is for: the webhook names the Instagram account, not the Page);
- WhatsApp: the Cloud API for the business phone number (business_id its phone number id, the
  customer a WhatsApp id), as text or as an approved template.

Graph answers errors as `{"error": {"message", "type", "code", "error_subcode", "error_data",
"fbtrace_id"}}`, mostly with HTTP 400 whatever the cause, so the code decides: refused for good
(ReplyRefused), or worth another try (ReplyBusy)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias
from urllib.parse import quote

import httpx
from attrs import field, frozen

from backoffice.ports.replies import Replied, Reply, ReplyRefused

GRAPH = "https://graph.facebook.com/v21.0"
# httpx has no deadline for a whole request: 10 s bounds each read, write and wait for a pooled
# connection, 5 s the connection itself.
TIMEOUT = httpx.Timeout(10.0, connect=5.0)

NAMES = {"facebook": "Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp"}

# The window: Messenger and Instagram's "This message is sent outside of allowed window" (code 10,
# 2018065 naming a permission that would have lifted it), WhatsApp's "Re-engagement message".
WINDOW_SUBCODES = frozenset({2018278, 2018065})
REENGAGEMENT = 131047
# "This person isn't available right now"; WhatsApp's "Message undeliverable".
UNREACHABLE_CODES = frozenset({551, 131026})
NO_MATCHING_USER = (100, 2018001)
TOKEN_CODES = frozenset({0, 102, 190})  # AuthException, API session, invalid or expired token
PERMISSION_CODES = frozenset({3, 10})  # with 200-299: the permission is missing or was removed
# App, user, Page and custom limits; WhatsApp's account, throughput, spam and pair limits.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80007, 130429, 131048, 131056})
# "Temporary issue, retry", Messenger's "Temporary send message failure", WhatsApp's "Something
# went wrong" and "Service unavailable".
TEMPORARY_CODES = frozenset({-2, -1, 1, 2, 1200, 131000, 131016})

SEND_API_WINDOW = (
    "its 24-hour window to answer has closed (a teammate may still answer with the HUMAN_AGENT "
    "tag up to 7 days after the customer's last message)"
)
TAGGED_WINDOW = (
    "the customer last wrote more than 7 days ago, too long even for the HUMAN_AGENT tag"
)
WHATSAPP_WINDOW = (
    "its 24-hour window since the customer's last message has closed: only an approved "
    "template reaches them until they write again"
)

Tokens: TypeAlias = Mapping[str, str] | Callable[[str], str]


class ReplyBusy(Exception):
    """Meta could not take the reply now (a rate limit, a 5xx, a timeout, no connection): the
    same reply may well go later. Meta's send APIs take no idempotency key, so a reply whose
    answer never came may have landed, and a retry may deliver it twice."""


def _client(http: httpx.Client | None) -> httpx.Client:
    return http if http is not None else httpx.Client(timeout=TIMEOUT)


def _base(url: str) -> str:
    return url.rstrip("/")


@frozen
class MetaReplies:
    """`tokens(platform)`, or `tokens[platform]`: a Page access token for facebook and
    instagram, the system user's token for whatsapp."""

    tokens: Tokens
    http: httpx.Client = field(default=None, converter=_client)
    graph_base: str = field(default=GRAPH, converter=_base)

    def send(self, reply: Reply) -> Replied:
        refusal = refusal_of(reply)
        if refusal:
            raise ReplyRefused(refusal)
        token = self._token(reply.platform)
        url = f"{self.graph_base}{send_path(reply)}"
        # In the header, which Graph takes as well as access_token: in the query string the
        # token would land in httpx's request log.
        headers = {"Authorization": f"Bearer {token}"}
        try:
            response = self.http.post(url, json=request_body(reply), headers=headers)
        except httpx.TransportError as error:
            raise _unanswered(reply.platform, error) from None
        return _replied(reply, response, token)

    def _token(self, platform: str) -> str:
        if isinstance(self.tokens, Mapping):
            token = self.tokens.get(platform, "")
        else:
            token = self.tokens(platform)
        if not token:
            raise ReplyRefused(f"{NAMES[platform]}: no access token is set up for replies")
        return token


def send_path(reply: Reply) -> str:
    """`/{id}/messages`; Instagram's at `me`, the Page its token was issued for (a webhook
    names the Instagram account, which the Send API does not take)."""
    node = "me" if reply.platform == "instagram" else reply.business_id
    return f"/{quote(node, safe='')}/messages"


def refusal_of(reply: Reply) -> str:
    """Why the reply cannot go as it is, without asking Meta; "" when it can."""
    if reply.platform not in NAMES:
        return f"replies go to {', '.join(NAMES)}, not to {reply.platform!r}"
    if reply.platform == "whatsapp":
        return _whatsapp_refusal(reply)
    return _messenger_refusal(reply)


def _messenger_refusal(reply: Reply) -> str:
    name = NAMES[reply.platform]
    if reply.template:
        return f"{name} has no message templates: send the reply as text"
    return "" if reply.text.strip() else f"{name}: the reply is empty"


def _whatsapp_refusal(reply: Reply) -> str:
    if reply.tag:
        return (
            "WhatsApp has no message tags: once its 24-hour window has closed only an approved "
            "template reaches the customer"
        )
    return "" if reply.template or reply.text.strip() else "WhatsApp: the reply is empty"


def request_body(reply: Reply) -> dict[str, Any]:
    """The JSON Meta documents for this reply."""
    if reply.platform == "whatsapp":
        return _whatsapp_body(reply)
    return _send_api_body(reply)


def _send_api_body(reply: Reply) -> dict[str, Any]:
    body: dict[str, Any] = {
        "recipient": {"id": reply.customer_id},
        "messaging_type": "MESSAGE_TAG" if reply.tag else "RESPONSE",
    }
    if reply.tag:
        body["tag"] = reply.tag
    body["message"] = {"text": reply.text}
    return body


def _whatsapp_body(reply: Reply) -> dict[str, Any]:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": reply.customer_id,
    }
    if reply.template:
        template = {"name": reply.template, "language": {"code": reply.language}}
        return {**body, "type": "template", "template": template}
    # A teammate's link stays a link: a preview would fetch whatever the customer pasted earlier.
    return {**body, "type": "text", "text": {"preview_url": False, "body": reply.text}}


def _unanswered(platform: str, error: Exception) -> ReplyBusy:
    """Says what kind of failure, never the request, whose headers hold the token."""
    name = NAMES[platform]
    return ReplyBusy(f"{name}: no answer from Meta ({type(error).__name__}); it may have landed")


def _replied(reply: Reply, response: httpx.Response, token: str) -> Replied:
    platform = reply.platform
    body = _json_object(response)
    if body is None:
        message = f"{NAMES[platform]}: Meta answered HTTP {response.status_code} without JSON"
        raise ReplyBusy(message)
    error = body.get("error")
    if response.is_success and not isinstance(error, dict):
        return Replied(_message_id(platform, body))
    raise failure(reply, response.status_code, error if isinstance(error, dict) else {}, token)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        answer = response.json()
    except ValueError:
        return None
    return answer if isinstance(answer, dict) else None


def _message_id(platform: str, body: dict[str, Any]) -> str:
    if platform == "whatsapp":
        messages = body.get("messages")
        first = messages[0] if isinstance(messages, list) and messages else {}
        message_id = first.get("id") if isinstance(first, dict) else None
    else:
        message_id = body.get("message_id")
    if not message_id:
        # Sent or not, there is nothing to point the conversation at: a retry is the lesser harm.
        raise ReplyBusy(f"{NAMES[platform]}: Meta answered without a message id")
    return str(message_id)


def failure(reply: Reply, status: int, error: dict[str, Any], token: str) -> Exception:
    """Meta's error said as the port says it, in the platform's words and never with the token
    (a careless answer may quote it)."""
    name = NAMES[reply.platform]
    said = _said(status, error).replace(token, "[token]") if token else _said(status, error)
    reason = _refused_because(reply, status, error)
    if reason:
        return ReplyRefused(f"{name} refused the reply: {reason}. Meta said: {said}")
    if _worth_retrying(status, error):
        return ReplyBusy(f"{name} is busy, try again later. Meta said: {said}")
    if 400 <= status < 500:
        return ReplyRefused(f"{name} refused the reply. Meta said: {said}")
    return ReplyBusy(f"{name} answered HTTP {status}. Meta said: {said}")


def _refused_because(reply: Reply, status: int, error: dict[str, Any]) -> str:
    code = error.get("code")
    if _window_closed(code, error):
        return _window_reason(reply)
    if code in UNREACHABLE_CODES or (code, error.get("error_subcode")) == NO_MATCHING_USER:
        return "the customer can't be reached there now (blocked the business, or left)"
    if code in TOKEN_CODES or status == 401:
        return "Meta no longer accepts the access token (expired or revoked): reconnect the account"
    if code in PERMISSION_CODES or (isinstance(code, int) and 200 <= code <= 299):
        return "the app is not allowed to send messages for this account: reconnect it"
    return ""


def _window_closed(code: Any, error: dict[str, Any]) -> bool:
    if code == REENGAGEMENT:
        return True
    # Instagram's subcode for it is not documented apart from Messenger's: its words are.
    outside = "outside of allowed window" in str(error.get("message", ""))
    return code == 10 and (error.get("error_subcode") in WINDOW_SUBCODES or outside)


def _window_reason(reply: Reply) -> str:
    if reply.platform == "whatsapp":
        return WHATSAPP_WINDOW
    return TAGGED_WINDOW if reply.tag else SEND_API_WINDOW


def _worth_retrying(status: int, error: dict[str, Any]) -> bool:
    code = error.get("code")
    limited = code in RATE_LIMIT_CODES or status == 429
    return limited or code in TEMPORARY_CODES or error.get("is_transient") is True or status >= 500


def _said(status: int, error: dict[str, Any]) -> str:
    """Meta's own words, with what its support asks for (the code and the fbtrace_id)."""
    message = str(error.get("message") or f"HTTP {status}")
    data = error.get("error_data")
    if isinstance(data, dict) and data.get("details"):
        message = f"{message}: {data['details']}"
    details = [f"code {error['code']}"] if "code" in error else []
    if "error_subcode" in error:
        details.append(f"subcode {error['error_subcode']}")
    if "fbtrace_id" in error:
        details.append(f"fbtrace_id {error['fbtrace_id']}")
    return f"{message} ({', '.join(details)})" if details else message
