"""Local stand-ins for the platforms the channel adapters post to, on 127.0.0.1 in this process
(http.server in a thread), answering in each platform's documented shapes:

- Meta's Graph API: a Facebook Page's /feed and /photos, Instagram's /media, /media_publish and
  a media node's permalink; errors as `{"error": {"message", "type", "code", "error_subcode",
  "is_transient", "fbtrace_id"}}`, mostly with HTTP 400 as Graph sends them;
- an OAuth 2 token endpoint taking the refresh grant (RFC 6749 section 6), the client
  authenticated with HTTP Basic;
- a webhook receiver that checks the HMAC signature over the raw body and takes each
  idempotency key once;
- Slack's Web API (the stand-in of standins.py) with what posting a picture adds:
  files.getUploadURLExternal, the upload URL, files.completeUploadExternal, files.info, and
  chat.getPermalink.

Every request is recorded (`requests`), and each stand-in says what it took as a post
(`landed`: one dict per post, whose "id" is what the adapter should report). The same words
arrange failures on every one, each answered in its platform's own shape: `revoke()` the
token, `rate_limit_next()`, `break_next()` (a 5xx), `refuse_next()` (a refusal for good; returns
the platform's message), `delay_next(seconds)`, and `accept(token)` for a token the token
endpoint issued.
"""

from __future__ import annotations

import base64
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.parser import BytesParser
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from standins import SLACK_TOKEN, Answer, SlackStandIn

PAGE_ID = "104000000000001"
IG_USER_ID = "17841400000000001"
PAGE_TOKEN = "EAAGpage-token-0001"
CLIENT_ID = "backoffice-app"
CLIENT_SECRET = "app-secret-do-not-print"
REFRESH_TOKEN = "refresh-token-0001"
WEBHOOK_SECRET = "whsec-shared-key-0001"


class Part(NamedTuple):
    """One part of a multipart/form-data body."""

    filename: str | None
    content_type: str
    body: bytes


class Request(NamedTuple):
    method: str
    path: str  # without the query
    query: dict[str, str]
    headers: dict[str, str]  # names in lower case
    body: bytes

    @property
    def multipart(self) -> bool:
        return self.headers.get("content-type", "").startswith("multipart/form-data")

    @property
    def form(self) -> dict[str, str]:
        """The fields of an urlencoded or multipart body (a multipart file's as text too)."""
        if self.multipart:
            return {name: part.body.decode("utf-8", "replace") for name, part in self.parts.items()}
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    @property
    def parts(self) -> dict[str, Part]:
        head = f"Content-Type: {self.headers.get('content-type', '')}\r\n\r\n".encode()
        message = BytesParser(policy=default_policy).parsebytes(head + self.body)
        parts = {}
        for part in message.iter_parts():
            name = str(part.get_param("name", header="content-disposition"))
            body = part.get_payload(decode=True)
            parts[name] = Part(part.get_filename(), part.get_content_type(), bytes(body))
        return parts

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    @property
    def arguments(self) -> dict[str, str]:
        return {**self.query, **self.form}

    @property
    def bearer(self) -> str:
        return self.headers.get("authorization", "").removeprefix("Bearer ")


class Reply(NamedTuple):
    status: int
    body: Any  # JSON, or bytes as they are
    headers: dict[str, str] | None = None


class StandIn:
    """What every stand-in does: record each request, then answer it, after a delay or with a
    failure when a test asked for one (failures are answered whatever the request is)."""

    def __init__(self) -> None:
        self.base_url = ""
        self.requests: list[Request] = []
        self._landed: list[dict[str, Any]] = []
        self._next: list[Reply] = []
        self._delays: list[float] = []
        self._lock = threading.RLock()
        self._count = 0

    @property
    def landed(self) -> list[dict[str, Any]]:
        return self._landed

    def delay_next(self, seconds: float) -> None:
        self._delays.append(seconds)

    def answer_next(self, reply: Reply, times: int = 1) -> None:
        self._next.extend([reply] * times)

    def handle(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            delay = self._delays.pop(0) if self._delays else 0.0
            queued = self._next.pop(0) if self._next else None
        time.sleep(delay)
        with self._lock:
            return queued or self.respond(request)

    def respond(self, request: Request) -> Reply:
        raise NotImplementedError

    # What a platform's stand-in arranges, each in its platform's own words:

    def accept(self, token: str) -> None:
        raise NotImplementedError

    def revoke(self) -> None:
        raise NotImplementedError

    def rate_limit_next(self) -> None:
        raise NotImplementedError

    def break_next(self) -> None:
        raise NotImplementedError

    def refuse_next(self) -> str:
        raise NotImplementedError

    def _serial(self) -> int:
        self._count += 1
        return self._count


# --- Meta's Graph API ---------------------------------------------------------------------------


def graph_error(
    message: str,
    code: int,
    status: int = 400,
    kind: str = "OAuthException",
    subcode: int | None = None,
    transient: bool = False,
) -> Reply:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(is_transient=transient, fbtrace_id="AbCdEfGhIjK1LmNoPqRsTu")
    return Reply(status, {"error": error}, {"WWW-Authenticate": 'OAuth "Facebook Platform"'})


class GraphStandIn(StandIn):
    """One Facebook Page (PAGE_ID) and one Instagram professional account (IG_USER_ID),
    reached with any token in `tokens`. `echo_token` makes it quote a refused token back, as a
    careless platform might."""

    def __init__(self, version: str = "v21.0") -> None:
        super().__init__()
        self.version = version
        self.tokens = {PAGE_TOKEN}
        self.containers: dict[str, dict[str, str]] = {}  # container id -> image_url, caption
        self.media: dict[str, str] = {}  # media id -> permalink
        self.echo_token = False

    @property
    def feed_url(self) -> str:
        return f"{self.base_url}/{PAGE_ID}/feed"

    @property
    def ig_user_url(self) -> str:
        return f"{self.base_url}/{IG_USER_ID}"

    def accept(self, token: str) -> None:
        self.tokens.add(token)

    def revoke(self) -> None:
        self.tokens.clear()

    def rate_limit_next(self) -> None:
        self.answer_next(graph_error("(#4) Application request limit reached", 4, 403))

    def break_next(self) -> None:
        message = "An unexpected error has occurred. Please retry your request later."
        self.answer_next(graph_error(message, 2, 500, transient=True))

    def refuse_next(self) -> str:
        message = "(#100) The parameter message is too long"
        self.answer_next(graph_error(message, 100, kind="GraphMethodException"))
        return message

    def respond(self, request: Request) -> Reply:
        token = request.arguments.get("access_token") or request.bearer
        if token not in self.tokens:
            return self._bad_token(token)
        version, node, *edge = request.path.strip("/").split("/")
        route = self._routes().get((request.method, node, "/".join(edge)))
        if version != self.version or route is None:
            return self._no_such(node)
        return route(request)

    def _routes(self) -> dict[tuple[str, str, str], Callable[[Request], Reply]]:
        routes = {
            ("POST", PAGE_ID, "feed"): self._feed,
            ("POST", PAGE_ID, "photos"): self._photos,
            ("POST", IG_USER_ID, "media"): self._container,
            ("POST", IG_USER_ID, "media_publish"): self._publish,
        }
        return {**routes, **{("GET", media, ""): self._media_node for media in self.media}}

    def _bad_token(self, token: str) -> Reply:
        if not token:
            return graph_error("An active access token must be used to query this.", 2500)
        shown = f": {token}" if self.echo_token else ""
        message = f"Error validating access token: The session has been invalidated{shown}."
        return graph_error(message, 190, subcode=460)

    def _no_such(self, node: str) -> Reply:
        message = f"Unsupported request. Object with ID '{node}' does not exist."
        return graph_error(message, 100, kind="GraphMethodException", subcode=33)

    def _feed(self, request: Request) -> Reply:
        message = request.form.get("message", "")
        if not message:
            return graph_error("(#100) Missing message or attachment", 100)
        post_id = f"{PAGE_ID}_{9000 + self._serial()}"
        self._landed.append({"id": post_id, "edge": "feed", "message": message})
        return Reply(200, {"id": post_id})

    def _photos(self, request: Request) -> Reply:
        source = request.parts.get("source") if request.multipart else None
        if source is None or not source.filename:
            return graph_error("(#324) Requires upload file", 324)
        serial = self._serial()
        photo_id, post_id = f"{5000 + serial}", f"{PAGE_ID}_{9000 + serial}"
        caption = request.form.get("caption") or request.form.get("message", "")
        landed = {"id": post_id, "photo_id": photo_id, "edge": "photos", "caption": caption}
        self._landed.append({**landed, "source": source})
        return Reply(200, {"id": photo_id, "post_id": post_id})

    def _container(self, request: Request) -> Reply:
        form = request.form
        if not form.get("image_url"):
            return graph_error("The parameter image_url is required.", 100)
        container = f"1789{self._serial():011d}"
        self.containers[container] = {
            "image_url": form["image_url"],
            "caption": form.get("caption", ""),
        }
        return Reply(200, {"id": container})

    def _publish(self, request: Request) -> Reply:
        container = self.containers.pop(request.form.get("creation_id", ""), None)
        if container is None:
            return graph_error("Media ID is not available", 9007, subcode=2207006)
        media_id = f"1790{self._serial():011d}"
        self.media[media_id] = f"https://www.instagram.com/p/C{media_id[-6:]}xYz/"
        self._landed.append({"id": media_id, "edge": "media_publish", **container})
        return Reply(200, {"id": media_id})

    def _media_node(self, request: Request) -> Reply:
        media_id = request.path.rsplit("/", 1)[-1]
        return Reply(200, {"permalink": self.media[media_id], "id": media_id})


# --- an OAuth 2 token endpoint ------------------------------------------------------------------


class TokenEndpoint(StandIn):
    """Takes the refresh grant from one client (CLIENT_ID / CLIENT_SECRET) for the refresh
    tokens in `refresh_tokens`; each refresh issues a new access token (handed to `on_issue`,
    so a platform stand-in takes it) and, when `rotate`, a new refresh token."""

    def __init__(self) -> None:
        super().__init__()
        self.refresh_tokens = {REFRESH_TOKEN}
        self.issued: list[str] = []
        self.rotate = True
        self.expires_in = 5_184_000  # 60 days, as Meta's long-lived tokens
        self.on_issue: Callable[[str], None] = lambda token: None

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth/access_token"

    def respond(self, request: Request) -> Reply:
        if (request.method, request.path) != ("POST", "/oauth/access_token"):
            return Reply(404, {"error": "not_found"})
        if _basic(request) != (CLIENT_ID, CLIENT_SECRET):
            return _oauth_error(401, "invalid_client", "Client authentication failed.")
        form = request.form
        if form.get("grant_type") != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", "Only refresh_token is taken.")
        if form.get("refresh_token") not in self.refresh_tokens:
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid or revoked.")
        return self._issue(form["refresh_token"])

    def _issue(self, refresh_token: str) -> Reply:
        serial = self._serial()
        access_token = f"EAAGrefreshed-{serial:04d}"
        answer: dict[str, Any] = {"access_token": access_token, "token_type": "bearer"}
        answer["expires_in"] = self.expires_in
        if self.rotate:
            self.refresh_tokens.discard(refresh_token)
            answer["refresh_token"] = f"refresh-token-{1000 + serial}"
            self.refresh_tokens.add(answer["refresh_token"])
        self.issued.append(access_token)
        self.on_issue(access_token)
        return Reply(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})


def _basic(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    return user, password


def _oauth_error(status: int, error: str, description: str) -> Reply:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="token"'
    return Reply(status, {"error": error, "error_description": description}, headers)


# --- a webhook receiver -------------------------------------------------------------------------


class WebhookReceiver(StandIn):
    """The owner's endpoint: checks `X-Backoffice-Signature` against the HMAC of the raw body
    with its `secret` (401 when it does not match), and answers a key it already took with the
    answer it gave then, posting nothing."""

    path = "/hooks/backoffice"

    def __init__(self) -> None:
        super().__init__()
        self.secret = WEBHOOK_SECRET
        self.taken: dict[str, Reply] = {}

    @property
    def url(self) -> str:
        return f"{self.base_url}{self.path}"

    def accept(self, token: str) -> None:
        self.secret = token

    def revoke(self) -> None:
        self.secret = "whsec-rotated-by-the-owner"

    def rate_limit_next(self) -> None:
        self.answer_next(Reply(429, {"error": "slow down"}, {"Retry-After": "30"}))

    def break_next(self) -> None:
        self.answer_next(Reply(503, b"<html><body>Service Unavailable</body></html>"))

    def refuse_next(self) -> str:
        message = "text must be at most 280 characters"
        self.answer_next(Reply(422, {"error": message}))
        return message

    def respond(self, request: Request) -> Reply:
        if (request.method, request.path) != ("POST", self.path):
            return Reply(404, {"error": "no such hook"})
        expected = "sha256=" + hmac.new(self.secret.encode(), request.body, "sha256").hexdigest()
        given = request.headers.get("x-backoffice-signature", "")
        if not hmac.compare_digest(expected.encode(), given.encode()):
            return Reply(401, {"error": "bad signature"})
        key = request.headers.get("idempotency-key", "")
        if key in self.taken:
            return self.taken[key]
        return self._take(request, key)

    def _take(self, request: Request, key: str) -> Reply:
        serial = self._serial()
        post = {"id": f"evt_{serial:04d}", "url": f"https://hooks.example.test/posts/{serial}"}
        self._landed.append({**post, "body": request.json, "raw": request.body})
        self.taken[key] = Reply(200, post)
        return self.taken[key]


# --- Slack's Web API, with files ----------------------------------------------------------------


class SlackFiles(SlackStandIn):
    """standins.SlackStandIn with the methods a post with a picture and its link need."""

    def __init__(self, token: str = SLACK_TOKEN) -> None:
        super().__init__(token)
        self.upload_base = ""
        self.uploads: dict[str, dict[str, Any]] = {}  # file id -> filename, length, body
        self.shares: list[dict[str, Any]] = []  # channel, ts, file, comment

    def answer(self, path: str, args: dict[str, Any], headers: dict[str, str]) -> Answer:
        # The base class answers every check (token, failures, rate limit) and then
        # `unknown_method` for a method it does not know: those are the ones answered here.
        answer = super().answer(path, args, headers)
        method = _FILE_METHODS.get(path.rsplit("/", 1)[-1])
        if method is None or answer.body.get("error") != "unknown_method":
            return answer
        with self._lock:
            return method(self, args)

    def upload(self, file_id: str, body: bytes) -> Reply:
        file = self.uploads.get(file_id)
        if file is None:
            return Reply(404, b"Not Found")
        file["body"] = body
        return Reply(200, f"OK - {len(body)}".encode())

    def _upload_url(self, args: dict[str, Any]) -> Answer:
        if not args.get("filename") or not str(args.get("length", "")).isdigit():
            return _error("invalid_arguments")
        file_id = f"F0{len(self.uploads) + 1:09d}"
        self.uploads[file_id] = {"filename": args["filename"], "length": int(args["length"])}
        return _ok({"upload_url": f"{self.upload_base}/upload/v1/{file_id}", "file_id": file_id})

    def _complete(self, args: dict[str, Any]) -> Answer:
        files = json.loads(args.get("files") or "[]")
        channel = self._channel(str(args.get("channel_id", "")))
        if channel is None:
            return _error("channel_not_found")
        if not files or any("body" not in self.uploads.get(f["id"], {}) for f in files):
            return _error("file_not_found")
        for file in files:
            share = {"channel": channel, "ts": self._ts(), "file": file["id"]}
            self.shares.append({**share, "comment": args.get("initial_comment", "")})
        return _ok({"files": [{"id": f["id"], "title": f.get("title") or ""} for f in files]})

    def _file_info(self, args: dict[str, Any]) -> Answer:
        file_id = str(args.get("file", ""))
        if file_id not in self.uploads:
            return _error("file_not_found")
        name = self.uploads[file_id]["filename"]
        permalink = f"https://backoffice-test.slack.com/files/U0BOTUSER1/{file_id}/{name}"
        return _ok({"file": {"id": file_id, "name": name, "permalink": permalink}})

    def _permalink(self, args: dict[str, Any]) -> Answer:
        channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
        if (channel, ts) not in self.messages:
            return _error("message_not_found")
        link = f"https://backoffice-test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return _ok({"channel": channel, "permalink": link})


def _ok(body: dict[str, Any]) -> Answer:
    return Answer(200, {"ok": True, **body}, {})


def _error(error: str) -> Answer:
    return Answer(200, {"ok": False, "error": error}, {})


_FILE_METHODS: dict[str, Callable[[SlackFiles, dict[str, Any]], Answer]] = {
    "files.getUploadURLExternal": SlackFiles._upload_url,
    "files.completeUploadExternal": SlackFiles._complete,
    "files.info": SlackFiles._file_info,
    "chat.getPermalink": SlackFiles._permalink,
}


class SlackPlatform(StandIn):
    """Slack's Web API under /api/ and its upload URLs under /upload/v1/, on one server."""

    def __init__(self, token: str = SLACK_TOKEN) -> None:
        super().__init__()
        self.slack = SlackFiles(token)
        self.channel = "C0POSTS0001"

    @property
    def landed(self) -> list[dict[str, Any]]:
        posts = [
            {"id": f"{channel}:{ts}", "text": self.slack.messages[(channel, ts)]["text"]}
            for _, channel, ts in self.slack.posts
        ]
        shares = [{"id": f"{s['channel']}:{s['file']}", "text": s["comment"]} for s in self.shares]
        return posts + shares

    @property
    def shares(self) -> list[dict[str, Any]]:
        return self.slack.shares

    def accept(self, token: str) -> None:
        self.slack.token = token

    def revoke(self) -> None:
        self.slack.token = "xoxb-reinstalled-elsewhere"

    def rate_limit_next(self) -> None:
        self.slack.rate_limited, self.slack.retry_after = 1, 30

    def break_next(self) -> None:
        self.answer_next(Reply(500, {"ok": False, "error": "internal_error"}))

    def refuse_next(self) -> str:
        self.answer_next(Reply(200, {"ok": False, "error": "restricted_action"}))
        return "restricted_action"

    def respond(self, request: Request) -> Reply:
        if request.path.startswith("/upload/v1/"):
            return self.slack.upload(request.path.rsplit("/", 1)[-1], request.body)
        if request.headers.get("content-type", "").startswith("application/json"):
            args = request.json or {}
        else:
            args = request.arguments
        headers = {name.title(): value for name, value in request.headers.items()}
        answer = self.slack.answer(request.path, args, headers)
        return Reply(answer.status, answer.body, answer.headers)


# --- serving ------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    # A stand-in still asleep for a client that timed out, or a kept-alive connection, never
    # holds up the end of a test.
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # the client that timed out has gone: writing to it fails, as it should


def _handler(standin: StandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            url = urlsplit(self.path)
            request = Request(
                self.command,
                url.path,
                dict(parse_qsl(url.query, keep_blank_values=True)),
                {name.lower(): value for name, value in self.headers.items()},
                self.rfile.read(length),
            )
            self._send(standin.handle(request))

        def _send(self, reply: Reply) -> None:
            json_body = not isinstance(reply.body, bytes)
            data = json.dumps(reply.body).encode() if json_body else reply.body
            self.send_response(reply.status)
            kind = "application/json; charset=UTF-8" if json_body else "text/plain"
            self.send_header("Content-Type", kind)
            for name, value in (reply.headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serving(standin: StandIn, prefix: str = "") -> Iterator[str]:
    """Serve `standin` on 127.0.0.1 until the block ends; yields its origin (http://host:port)
    and sets its `base_url` (the origin and `prefix`)."""
    server = _Server(("127.0.0.1", 0), _handler(standin))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01})
    thread.daemon = True
    thread.start()
    origin = f"http://127.0.0.1:{server.server_port}"
    standin.base_url = origin + prefix
    try:
        yield origin
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def meta_graph() -> Iterator[GraphStandIn]:
    graph = GraphStandIn()
    with serving(graph, f"/{graph.version}"):
        yield graph


@contextmanager
def token_endpoint() -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint()
    with serving(endpoint):
        yield endpoint


@contextmanager
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    with serving(receiver):
        yield receiver


@contextmanager
def slack_platform(token: str = SLACK_TOKEN) -> Iterator[SlackPlatform]:
    """Point the adapter's `slack_base_url` at `platform.slack.base_url`."""
    platform = SlackPlatform(token)
    with serving(platform, "/api/") as origin:
        platform.slack.base_url = platform.base_url
        platform.slack.upload_base = origin
        yield platform
