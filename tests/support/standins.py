"""Local stand-ins for the services the live adapters talk to, on 127.0.0.1 in this process:

- an SMTP server (aiosmtpd): plain, STARTTLS or implicit TLS with a certificate made here by a
  test certificate authority, AUTH with one known user and password, and addresses or messages
  it can be told to refuse; it records each message it accepted (envelope and parsed message);
- Slack's Web API (http.server in a thread): chat.postMessage, chat.update, chat.postEphemeral,
  views.open and auth.test answered in the shapes Slack documents, every call recorded, and
  errors on request: `{"ok": false, "error": ...}` with HTTP 200 as Slack answers them, and 429
  with Retry-After.

Both are context managers, so a fixture can `with` them and they stop whatever the test did.
"""

from __future__ import annotations

import email
import json
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, HTTPServer
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def free_port() -> int:
    """A port nobody listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- certificates -------------------------------------------------------------------------------


class Certificates(NamedTuple):
    """PEM files: a test certificate authority, and a server certificate it signed for
    localhost and 127.0.0.1."""

    ca: Path
    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts the test CA, as an operator's would trust a real one."""
        return ssl.create_default_context(cafile=str(self.ca))


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(subject: str, key: Any, issuer: str, signer: Any, ca: bool) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
        builder = builder.add_extension(usage, critical=True)
    else:
        names = [x509.DNSName("localhost"), x509.IPAddress(IPv4Address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def make_certificates(folder: Path) -> Certificates:
    """A self-signed CA and a server certificate for localhost/127.0.0.1, written to `folder`."""
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _certificate("backoffice test CA", ca_key, "backoffice test CA", ca_key, ca=True)
    server = _certificate("localhost", server_key, "backoffice test CA", ca_key, ca=False)
    paths = Certificates(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.certificate.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


# --- SMTP ---------------------------------------------------------------------------------------

SMTP_USER = "office@example.com"
SMTP_PASSWORD = "correct horse battery staple"


class Received(NamedTuple):
    """One message the SMTP server accepted: the envelope and the parsed message."""

    mail_from: str
    recipients: list[str]
    message: EmailMessage


class Mailbox:
    """What the server received. Refuses the addresses in `refuse` at MAIL FROM or RCPT TO,
    answers 450 to those in `greylist`, and refuses every message at DATA with `refuse_data`."""

    def __init__(self, user: str = SMTP_USER, password: str = SMTP_PASSWORD) -> None:
        self.port = 0
        self.user, self.password = user, password
        self.messages: list[Received] = []
        self.sessions: list[dict[str, Any]] = []
        self.logins: list[tuple[str, str]] = []  # (mechanism, user) accepted
        self.refuse: set[str] = set()
        self.greylist: set[str] = set()
        self.refuse_data = ""  # e.g. "554 5.7.1 rejected as spam"
        self.raw: list[bytes] = []
        self.echo_password = False  # a careless server that quotes the password back

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "553 5.7.1 sender not allowed"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox here"
        if address in self.greylist:
            return "450 4.2.0 greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return self.refuse_data
        # Stored as a mail store does (maildir, mbox): SMTP's CRLF line ends become the host's.
        stored = envelope.content.replace(b"\r\n", b"\n")
        parsed = email.message_from_bytes(stored, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        self.raw.append(envelope.original_content)
        self.sessions.append(
            {"tls": session.ssl is not None, "authenticated": session.authenticated}
        )
        return "250 2.0.0 Ok: queued as 7F3A"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            self.user.encode(),
            self.password.encode(),
        )
        if ok:
            self.logins.append((mechanism, self.user))
        elif self.echo_password and isinstance(data, LoginPassword):
            quoted = f"535 5.7.8 {mechanism} {data.password.decode()} is wrong"
            return AuthResult(success=False, handled=False, message=quoted)
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 or 535


@contextmanager
def smtp_servers() -> Iterator[Callable[..., Mailbox]]:
    """Yields `launch(**options)`, which starts an aiosmtpd server on 127.0.0.1 and returns its
    Mailbox; every server launched stops when the block ends.

    Options: `login=True` asks for AUTH (as SMTP_USER / SMTP_PASSWORD); the others go to
    aiosmtpd's Controller: `tls_context=` offers STARTTLS (`require_starttls=True` insists),
    `ssl_context=` is implicit TLS, `auth_exclude_mechanism=`, `auth_require_tls=`..."""
    running: list[Controller] = []

    def launch(**options: Any) -> Mailbox:
        mailbox = Mailbox()
        if options.pop("login", False):
            options.update(authenticator=mailbox.authenticate, auth_required=True)
        controller = Controller(
            mailbox, hostname="127.0.0.1", port=free_port(), server_hostname="localhost", **options
        )
        controller.start()
        running.append(controller)
        mailbox.port = controller.port
        return mailbox

    try:
        yield launch
    finally:
        for controller in running:
            controller.stop()


@contextmanager
def smtp_server(**options: Any) -> Iterator[Mailbox]:
    """One server (options as for `smtp_servers`)."""
    with smtp_servers() as launch:
        yield launch(**options)


# --- Slack's Web API ----------------------------------------------------------------------------

SLACK_TOKEN = "xoxb-test"
TEAM_ID = "T0BACKOFF"
BOT_USER = "U0BOTUSER1"
BOT_ID = "B0BOTBOT01"
_SLACK_ID = re.compile(r"^[CGDUW][A-Z0-9]{8,}$")
SECTION_TEXT_LIMIT = 3000  # Block Kit: a section's text
BUTTON_TEXT_LIMIT = 75  # Block Kit: a button's label


class SlackCall(NamedTuple):
    """One request: its path (/api/<method>), its arguments (JSON or form) and its headers."""

    path: str
    args: dict[str, Any]
    headers: dict[str, str]

    @property
    def method(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class Answer(NamedTuple):
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


class SlackStandIn:
    """Slack's Web API as the adapters see it. It knows which messages it holds (an update of
    an unknown one is `message_not_found`), opens a DM for a member id (a post to U… comes back
    in a D… channel), answers `invalid_auth` to any token but its own, `channel_not_found` for a
    channel in `missing` (or not shaped like a Slack id), `invalid_blocks` for Block Kit that
    Slack refuses, and whatever it was told with `fail_next`. `rate_limited` calls are answered
    429 first, with `Retry-After: retry_after`."""

    def __init__(self, token: str = SLACK_TOKEN) -> None:
        self.token = token
        self.base_url = ""
        self.calls: list[SlackCall] = []
        # What Slack accepted (`calls` has every request, refused ones too):
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> message
        self.posts: list[tuple[str, str, str]] = []  # (channel as asked, channel, ts)
        self.updates: list[dict[str, Any]] = []  # channel, ts, text, blocks
        self.ephemeral: list[dict[str, Any]] = []  # channel, user, text, ts
        self.views: list[dict[str, Any]] = []  # trigger_id, view (as sent), id
        self.dms: dict[str, str] = {"U024BE7LH": "D0CA5BRP8"}  # member id -> DM channel
        self.missing: set[str] = set()
        self.rate_limited = 0
        self.retry_after = 0
        self._failures: dict[str, list[Answer]] = {}
        self._clock = 1_700_000_000_000_000  # microseconds: ts values are unique and ordered
        self._lock = threading.Lock()

    # --- what a test can arrange ----------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` (e.g. "chat.postMessage") with an error:
        HTTP 200 and `{"ok": false, "error": error}`, as Slack does, unless told otherwise."""
        answer = Answer(status, {"ok": False, "error": error}, headers or {})
        self._failures.setdefault(method, []).extend([answer] * times)

    def seed_message(self, channel: str, ts: str, text: str = "") -> None:
        """A message already in the channel (posted before this test started)."""
        self.messages[(channel, ts)] = {"type": "message", "text": text, "ts": ts, "blocks": []}

    def calls_of(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    # --- the API --------------------------------------------------------------------------------

    def answer(self, path: str, args: dict[str, Any], headers: dict[str, str]) -> Answer:
        with self._lock:
            self.calls.append(SlackCall(path, args, headers))
            if self.rate_limited:
                self.rate_limited -= 1
                return Answer(
                    429,
                    {"ok": False, "error": "ratelimited"},
                    {"Retry-After": str(self.retry_after)},
                )
            method = path.rsplit("/", 1)[-1]
            queued = self._failures.get(method)
            if queued:
                return queued.pop(0)
            token = args.get("token") or headers.get("Authorization", "").removeprefix("Bearer ")
            if not token:
                return _error("not_authed")
            if token != self.token:
                return _error("invalid_auth")
            handler = _METHODS.get(method)
            if handler is None:
                return _error("unknown_method")
            return handler(self, args)

    def _ts(self) -> str:
        self._clock += 100
        seconds, micros = divmod(self._clock, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def _channel(self, channel: str) -> str | None:
        """The channel a message to `channel` lands in (a member's DM), or None."""
        if channel in self.missing or not _SLACK_ID.match(channel or ""):
            return None
        if channel[0] in "UW":
            return self.dms.setdefault(channel, "D" + channel[1:])
        return channel

    def _post_message(self, args: dict[str, Any]) -> Answer:
        asked = str(args.get("channel", ""))
        channel = self._channel(asked)
        if channel is None:
            return _error("channel_not_found")
        blocks = _blocks(args.get("blocks"))
        if not args.get("text") and not blocks:
            return _error("no_text")
        if blocks is not None and (problems := _block_problems(blocks)):
            return Answer(200, {"ok": False, "error": "invalid_blocks", "errors": problems}, {})
        ts = self._ts()
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": args.get("text", ""),
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "team": TEAM_ID,
            "ts": ts,
            "blocks": blocks or [],
        }
        self.messages[(channel, ts)] = message
        self.posts.append((asked, channel, ts))
        return _ok({"channel": channel, "ts": ts, "message": message})

    def _update(self, args: dict[str, Any]) -> Answer:
        channel = self._channel(str(args.get("channel", "")))
        if channel is None:
            return _error("channel_not_found")
        ts = str(args.get("ts", ""))
        message = self.messages.get((channel, ts))
        if message is None:
            return _error("message_not_found")
        blocks = _blocks(args.get("blocks"))
        if not args.get("text") and not blocks:
            return _error("no_text")
        if blocks is not None and (problems := _block_problems(blocks)):
            return Answer(200, {"ok": False, "error": "invalid_blocks", "errors": problems}, {})
        message.update(text=args.get("text", ""), edited={"user": BOT_USER, "ts": self._ts()})
        if blocks is not None:  # Slack keeps the old blocks when none are given
            message["blocks"] = blocks
        self.updates.append(
            {"channel": channel, "ts": ts, "text": message["text"], "blocks": message["blocks"]}
        )
        return _ok(
            {
                "channel": channel,
                "ts": ts,
                "text": message["text"],
                "message": {"text": message["text"], "user": BOT_USER},
            }
        )

    def _post_ephemeral(self, args: dict[str, Any]) -> Answer:
        channel = self._channel(str(args.get("channel", "")))
        if channel is None:
            return _error("channel_not_found")
        user = str(args.get("user", ""))
        if not re.match(r"^[UW][A-Z0-9]+$", user):
            return _error("user_not_found")
        if not args.get("text") and not _blocks(args.get("blocks")):
            return _error("no_text")
        message_ts = self._ts()
        self.ephemeral.append(
            {"channel": channel, "user": user, "text": args.get("text", ""), "ts": message_ts}
        )
        return _ok({"message_ts": message_ts})

    def _views_open(self, args: dict[str, Any]) -> Answer:
        view = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                return _error("invalid_arguments")
        if not (args.get("trigger_id") or args.get("interactivity_pointer")):
            return _error("invalid_arguments")
        if not isinstance(view, dict) or view.get("type") != "modal" or "title" not in view:
            return _error("invalid_arguments")
        opened = {
            **view,
            "id": f"V0{len(self.views) + 1:08d}",
            "team_id": TEAM_ID,
            "state": {"values": {}},
            "hash": f"{self._clock}.abcdef",
            "app_id": "A0BACKOFF1",
            "bot_id": BOT_ID,
        }
        self.views.append({"trigger_id": args.get("trigger_id"), "view": view, "id": opened["id"]})
        return _ok({"view": opened})

    def _auth_test(self, args: dict[str, Any]) -> Answer:
        return _ok(
            {
                "url": "https://backoffice-test.slack.com/",
                "team": "Backoffice Test",
                "user": "backoffice",
                "team_id": TEAM_ID,
                "user_id": BOT_USER,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        )


_METHODS: dict[str, Callable[[SlackStandIn, dict[str, Any]], Answer]] = {
    "chat.postMessage": SlackStandIn._post_message,
    "chat.update": SlackStandIn._update,
    "chat.postEphemeral": SlackStandIn._post_ephemeral,
    "views.open": SlackStandIn._views_open,
    "auth.test": SlackStandIn._auth_test,
}


def _ok(body: dict[str, Any]) -> Answer:
    return Answer(200, {"ok": True, **body}, {})


def _error(error: str) -> Answer:
    return Answer(200, {"ok": False, "error": error}, {})


def _blocks(value: Any) -> list[dict[str, Any]] | None:
    """Blocks as sent: a list in a JSON body, a JSON string in a form."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [{"type": "unparseable"}]
    return list(value)


def _block_problems(blocks: list[dict[str, Any]]) -> list[str]:
    """The Block Kit rules a message from these adapters could break."""
    problems = []
    for index, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "section":
            text = (block.get("text") or {}).get("text", "")
            if not text or len(text) > SECTION_TEXT_LIMIT:
                where = f"[json-pointer:/blocks/{index}/text]"
                problems.append(f"must be 1-{SECTION_TEXT_LIMIT} characters {where}")
        elif kind == "actions":
            ids = [element.get("action_id") for element in block.get("elements", [])]
            if len(ids) != len(set(ids)):
                problems.append(f"action_id must be unique [json-pointer:/blocks/{index}]")
            for element in block.get("elements", []):
                label = (element.get("text") or {}).get("text", "")
                if not label or len(label) > BUTTON_TEXT_LIMIT:
                    problems.append(f"button text must be 1-{BUTTON_TEXT_LIMIT} characters")
        else:
            problems.append(f"unsupported block type {kind!r} [json-pointer:/blocks/{index}]")
    return problems


def _handler(slack: SlackStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
            if self.headers.get("content-type", "").startswith("application/json"):
                args = json.loads(body or "{}")
            else:
                args = {k: v[-1] for k, v in parse_qs(body).items()}
            answer = slack.answer(self.path, args, dict(self.headers.items()))
            data = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("content-type", "application/json; charset=utf-8")
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def slack_api(token: str = SLACK_TOKEN) -> Iterator[SlackStandIn]:
    """The stand-in, serving on 127.0.0.1 until the block ends. Point a WebClient at
    `base_url` with `token`."""
    slack = SlackStandIn(token)
    server = HTTPServer(("127.0.0.1", 0), _handler(slack))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.daemon = True
    thread.start()
    slack.base_url = f"http://127.0.0.1:{server.server_port}/api/"
    try:
        yield slack
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
