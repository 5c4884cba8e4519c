"""`backoffice serve`: the public endpoints on 127.0.0.1, through the same handlers as Lambda.

Each connection is answered on its own thread with a socket timeout, so an idle or slow client
holds only its own thread; a request that cannot be read is answered 4xx with the reason and
nothing else happens. The embedded backend keeps one SQLite connection per thread.
"""

from __future__ import annotations

import base64
import json
import socket
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from backoffice.cli.workspace import require_documents
from backoffice.core.settings import Settings
from backoffice.handlers import web
from backoffice.handlers.factories import Http, http_of
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import no_events
from backoffice.ports import Ports
from backoffice.services.registry import system_named

MAX_BODY = 64 * 1024
TIMEOUT_SECONDS = 10  # for a request to arrive whole; a link's page needs far less


class ServeError(Exception):
    """The server could not start; the message says why in one line."""


class Server(ThreadingHTTPServer):
    """The listening socket and what its requests are answered with."""

    daemon_threads = True

    def __init__(
        self, host: str, port: int, endpoint: Http, ports: Ports, settings: Settings
    ) -> None:
        self.endpoint, self.ports, self.settings = endpoint, ports, settings
        super().__init__((host, port), Handler)


class Handler(BaseHTTPRequestHandler):
    timeout = TIMEOUT_SECONDS
    protocol_version = "HTTP/1.1"
    # A request line that cannot be parsed still gets a status line, as plain text.
    default_request_version = "HTTP/1.0"
    error_content_type = "text/plain; charset=utf-8"
    error_message_format = "%(code)d %(message)s: %(explain)s\n"
    server: Server

    def setup(self) -> None:
        super().setup()
        # The status line and headers go out before the body: without this, Nagle holds the
        # body until the client acknowledges the headers, 40 ms a request on Linux.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _handle(self, method: str) -> None:
        body, refusal = self._body()
        if refusal is not None:
            self.close_connection = True
            self._reply(refusal)
            return
        path, _, query = self.path.partition("?")
        event = web.event_from_request(
            method, path, query, dict(self.headers.items()), body, uuid.uuid4().hex
        )
        server = self.server
        try:
            response = server.endpoint.answer(event, server.ports, server.settings)
        except Exception as error:  # logged without the request: it may carry a token
            _log({"event": "error", "path": self._loggable(), "error": type(error).__name__})
            response = web.text_response(500, "Something went wrong; it was logged.")
        self._reply(response)

    def _body(self) -> tuple[bytes, dict[str, Any] | None]:
        """The request body, or the response that refuses it."""
        if "chunked" in self.headers.get("transfer-encoding", "").lower():
            return b"", web.text_response(411, "Send the body with a Content-Length.")
        declared = self.headers.get("content-length") or "0"
        if not declared.strip().isdigit():
            return b"", web.text_response(400, "Content-Length must be a whole number.")
        length = int(declared)
        if length > MAX_BODY:
            return b"", web.text_response(413, f"Request too large (at most {MAX_BODY} bytes).")
        try:
            body = self.rfile.read(length) if length else b""
        except (TimeoutError, ConnectionError):
            return b"", web.text_response(408, "The request did not arrive in time.")
        if len(body) < length:
            return b"", web.text_response(400, "The body is shorter than its Content-Length.")
        return body, None

    def _reply(self, response: dict[str, Any]) -> None:
        body = str(response.get("body", "")).encode("utf-8")
        if response.get("isBase64Encoded"):
            body = base64.b64decode(body)
        try:
            self.send_response(int(response["statusCode"]))
            for name, value in response.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (ConnectionError, TimeoutError):
            self.close_connection = True  # the client went away; nothing to tell it

    def _loggable(self) -> str:
        path = getattr(self, "path", "").partition("?")[0]
        return web.loggable(self.server.endpoint.routes, path)

    def log_message(self, format: str, *args: Any) -> None:
        # Structured, and never the query string or a link's code: they carry tokens.
        status = args[1] if len(args) > 1 else None
        _log({"method": getattr(self, "command", None), "path": self._loggable(), "status": status})


def make_server(workspace: Path, settings: Settings, port: int, host: str = "127.0.0.1") -> Server:
    system = system_named(settings.system)
    require_documents(workspace, system)  # before listening: a missing file is said at once
    ports = local_ports(workspace, settings, system, no_events)
    try:
        return Server(host, port, http_of(system), ports, settings)
    except OverflowError:
        raise ServeError(f"--port {port} is not a port number (1 to 65535)") from None
    except OSError as error:
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None


def _log(line: dict[str, Any]) -> None:
    print(json.dumps(line, default=str), file=sys.stderr)


def serve(workspace: Path, settings: Settings, port: int, host: str = "127.0.0.1") -> None:
    server = make_server(workspace, settings, port, host)
    print(f"Serving {settings.system} links on http://{host}:{server.server_port} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    finally:
        server.server_close()
