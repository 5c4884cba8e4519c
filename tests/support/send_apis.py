"""A local stand-in for Meta's send APIs, on 127.0.0.1 in this process (platforms.serving),
answering in the shapes Meta documents:

- Messenger's Send API, for a Facebook Page (PAGE_ID) and for the Page linked to an Instagram
  professional account (IG_PAGE_ID): `POST /v21.0/{page-id}/messages` with the JSON
  `{"recipient": {"id"}, "messaging_type", "tag"?, "message": {"text"}}`, answered
  `{"recipient_id", "message_id"}`;
- WhatsApp's Cloud API, for one business phone number (PHONE_NUMBER_ID): `POST
  /v21.0/{phone-number-id}/messages` with `{"messaging_product": "whatsapp", "recipient_type",
  "to", "type": "text" | "template", ...}`, answered `{"messaging_product", "contacts",
  "messages": [{"id": "wamid..."}]}`.

Each business takes its own token, in the Authorization header or as `access_token`, as Graph
does; a body that strays from the documented fields is refused with code 100. Every request is
recorded (`requests`) and every message taken is in `landed` (its "id" is what the adapter
should report). Errors come as Graph's `{"error": {...}}`, WhatsApp's with `error_data` and no
subcode (v16.0 on):

- `close_window(customer, hours_ago)`: the customer last wrote that long ago (everyone else an
  hour ago). Text goes within 24 hours, a HUMAN_AGENT-tagged message within 7 days, a WhatsApp
  template whenever; otherwise "outside of allowed window" (code 10, subcode 2018278) or
  "Re-engagement message" (131047);
- `revoke()` every token (code 190; `echo_token` quotes the refused one back, as a careless
  platform might), `rate_limit_next()`, `break_next()` (a 5xx), and `delay_next(seconds)` and
  `answer_next(reply)` as every stand-in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from platforms import Reply as Answer
from platforms import Request, StandIn, graph_error, serving

PAGE_ID = "105000000000002"
IG_PAGE_ID = "105000000000003"  # the Facebook Page linked to the Instagram professional account
PHONE_NUMBER_ID = "106540352242922"
PAGE_TOKEN = "EAAGmessenger-page-token-0001"
IG_PAGE_TOKEN = "EAAGinstagram-page-token-0002"
WHATSAPP_TOKEN = "EAAGsystem-user-token-0003"
PSID = "6043000000000001"
IGSID = "17841400000000099"
WA_ID = "16505551234"

BUSINESSES = {PAGE_ID: "facebook", IG_PAGE_ID: "instagram", PHONE_NUMBER_ID: "whatsapp"}
TOKENS = {PAGE_ID: PAGE_TOKEN, IG_PAGE_ID: IG_PAGE_TOKEN, PHONE_NUMBER_ID: WHATSAPP_TOKEN}
WINDOW_HOURS = 24.0
HUMAN_AGENT_HOURS = 7 * 24.0
TRACE = "AbCdEfGhIjK1LmNoPqRsTu"

OUTSIDE_WINDOW = (
    "(#10) This message is sent outside of allowed window. Learn more about the new policy "
    "here: https://developers.facebook.com/docs/messenger-platform/policy-overview"
)


def whatsapp_error(code: int, title: str, details: str, status: int = 400) -> Answer:
    error = {
        "message": f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": TRACE,
    }
    return Answer(status, {"error": error})


def parameter_error(message: str) -> Answer:
    return graph_error(f"(#100) {message}", 100)


class SendApis(StandIn):
    def __init__(self, version: str = "v21.0") -> None:
        super().__init__()
        self.version = version
        self.tokens = dict(TOKENS)
        self.hours_since: dict[str, float] = {}  # customer -> hours since they last wrote
        self.echo_token = False
        self._failures: list[str] = []  # "rate" | "broken", answered in the platform's shape

    def close_window(self, customer: str, hours_ago: float = 8 * 24.0) -> None:
        self.hours_since[customer] = hours_ago

    def revoke(self) -> None:
        self.tokens.clear()

    def rate_limit_next(self) -> None:
        self._failures.append("rate")

    def break_next(self) -> None:
        self._failures.append("broken")

    def respond(self, request: Request) -> Answer:
        version, business, *edge = request.path.strip("/").split("/")
        if business == "me":  # Graph's `me`: the Page the token was issued for
            token = request.query.get("access_token") or request.bearer
            found = next((b for b, t in self.tokens.items() if t == token), None)
            if found is None:
                return self._bad_token("instagram", token)
            business = found
        platform = BUSINESSES.get(business)
        if (request.method, version, edge) != ("POST", self.version, ["messages"]) or not platform:
            message = f"Unsupported post request. Object with ID '{business}' does not exist."
            return graph_error(message, 100, kind="GraphMethodException", subcode=33)
        token = request.query.get("access_token") or request.bearer
        if token != self.tokens.get(business):
            return self._bad_token(platform, token)
        if self._failures:
            return _FAILURES[self._failures.pop(0)](platform)
        body = _json(request)
        if platform == "whatsapp":
            return self._whatsapp(body)
        return self._send_api(platform, body)

    def _bad_token(self, platform: str, token: str) -> Answer:
        shown = f" ({token})" if self.echo_token else ""
        if platform == "whatsapp":
            message = f"Error validating access token: Session has expired{shown}."
            return graph_error(message, 190, status=401, subcode=463)
        message = f"Error validating access token: The session has been invalidated{shown}."
        return graph_error(message, 190, subcode=460)

    # --- Messenger's Send API (Facebook and Instagram) --------------------------------------

    def _send_api(self, platform: str, body: Any) -> Answer:
        problem = _send_api_problem(body)
        if problem:
            return parameter_error(problem)
        customer, tag = body["recipient"]["id"], body.get("tag", "")
        allowed = HUMAN_AGENT_HOURS if tag else WINDOW_HOURS
        if self.hours_since.get(customer, 1.0) > allowed:
            return graph_error(OUTSIDE_WINDOW, 10, subcode=2018278)
        serial = self._serial()
        message_id = f"m_AG5Hz2U{serial:06d}" if platform == "facebook" else f"aWdfZAG{serial:09d}"
        text = body["message"]["text"]
        landed = {"id": message_id, "platform": platform, "to": customer, "text": text}
        self._landed.append({**landed, "tag": tag})
        return Answer(200, {"recipient_id": customer, "message_id": message_id})

    # --- WhatsApp's Cloud API ---------------------------------------------------------------

    def _whatsapp(self, body: Any) -> Answer:
        problem = _whatsapp_problem(body)
        if problem:
            return parameter_error(problem)
        customer, kind = body["to"], body["type"]
        if kind == "text" and self.hours_since.get(customer, 1.0) > WINDOW_HOURS:
            details = "Message failed to send because more than 24 hours have passed since the "
            details += "customer last replied to this number."
            return whatsapp_error(131047, "Re-engagement message", details)
        message_id = f"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBI{self._serial():06d}AA=="
        landed = {"id": message_id, "platform": "whatsapp", "to": customer, "type": kind}
        self._landed.append({**landed, "text": body.get("text"), "template": body.get("template")})
        message: dict[str, str] = {"id": message_id}
        if kind == "template":
            message["message_status"] = "accepted"
        contact = {"input": customer, "wa_id": customer.lstrip("+")}
        answer = {"messaging_product": "whatsapp", "contacts": [contact], "messages": [message]}
        return Answer(200, answer)


def _json(request: Request) -> Any:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return None
    try:
        return request.json
    except ValueError:
        return None


def _send_api_problem(body: Any) -> str:
    """What Meta would refuse in a Send API body ("" when nothing)."""
    if not isinstance(body, dict):
        return "The request body must be a JSON object"
    unknown = sorted(set(body) - {"recipient", "messaging_type", "tag", "message"})
    if unknown:
        return f"Param {unknown[0]} is not allowed here"
    recipient = body.get("recipient")
    if not isinstance(recipient, dict) or set(recipient) != {"id"}:
        return "The parameter recipient is required, as {id}"
    kind, tag = body.get("messaging_type"), body.get("tag")
    if kind not in {"RESPONSE", "UPDATE", "MESSAGE_TAG"}:
        return "Param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"
    if (kind == "MESSAGE_TAG") != ("tag" in body) or tag not in {None, "HUMAN_AGENT"}:
        return "Param tag must be HUMAN_AGENT, with messaging_type MESSAGE_TAG and only then"
    message = body.get("message")
    if not isinstance(message, dict) or set(message) != {"text"} or not message["text"]:
        return "Param message[text] must be a non-empty UTF-8 encoded string"
    return ""


def _whatsapp_problem(body: Any) -> str:
    if not isinstance(body, dict):
        return "The request body must be a JSON object"
    kind = body.get("type") if isinstance(body.get("type"), str) else ""
    unknown = sorted(set(body) - {"messaging_product", "recipient_type", "to", "type", kind})
    if unknown:
        return f"Param {unknown[0]} is not allowed here"
    if body.get("messaging_product") != "whatsapp" or not body.get("to"):
        return "The parameters messaging_product (whatsapp) and to are required"
    if body.get("recipient_type", "individual") != "individual":
        return "Param recipient_type must be individual"
    if kind == "text":
        return _text_problem(body.get("text"))
    if kind == "template":
        return _template_problem(body.get("template"))
    return "Param type must be text or template here"


def _text_problem(text: Any) -> str:
    if not isinstance(text, dict) or not set(text) <= {"preview_url", "body"}:
        return "Param text must be {preview_url, body}"
    if not isinstance(text.get("body"), str) or not text["body"]:
        return "Param text[body] is required"
    return "" if isinstance(text.get("preview_url", False), bool) else "preview_url is a boolean"


def _template_problem(template: Any) -> str:
    if not isinstance(template, dict) or not set(template) <= {"name", "language", "components"}:
        return "Param template must be {name, language, components}"
    language = template.get("language")
    if not template.get("name") or not isinstance(language, dict) or not language.get("code"):
        return "Param template needs a name and language[code]"
    return ""


def _rate_limited(platform: str) -> Answer:
    if platform == "whatsapp":
        details = "Cloud API message throughput has been reached."
        return whatsapp_error(130429, "Rate limit hit", details, status=429)
    return graph_error("(#613) Calls to this API have exceeded the rate limit.", 613)


def _broken(platform: str) -> Answer:
    if platform == "whatsapp":
        details = "Message failed to send due to an unknown error."
        return whatsapp_error(131000, "Something went wrong", details, status=500)
    message = "An unexpected error has occurred. Please retry your request later."
    return graph_error(message, 2, 500, transient=True)


_FAILURES = {"rate": _rate_limited, "broken": _broken}


@contextmanager
def send_api() -> Iterator[SendApis]:
    """Point the adapter's `graph_base` at `api.base_url`."""
    api = SendApis()
    with serving(api, f"/{api.version}"):
        yield api
