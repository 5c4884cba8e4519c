"""`backoffice serve`: the public endpoints on 127.0.0.1, through the same handlers as Lambda.

One request at a time: the embedded backend's SQLite connection belongs to one thread, and a
small business's link clicks never queue for long.
"""

from __future__ import annotations

import base64
import json
import sys
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from backoffice.cli.systems import system_for
from backoffice.core.settings import Settings
from backoffice.handlers import web
from backoffice.handlers.wiring import local_ports, no_events

MAX_BODY = 64 * 1024


def make_server(workspace: Path, settings: Settings, port: int) -> HTTPServer:
    system = system_for(settings)
    ports = local_ports(workspace, settings, system.tables, system.sheet_file, no_events)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._handle("GET")

        def do_POST(self) -> None:
            self._handle("POST")

        def _handle(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length > MAX_BODY:
                self._reply(web.text_response(413, "Request too large."))
                return
            body = self.rfile.read(length) if length else b""
            path, _, query = self.path.partition("?")
            event = web.event_from_request(
                method, path, query, dict(self.headers.items()), body, uuid.uuid4().hex
            )
            self._reply(system.serve(event, ports, settings))

        def _reply(self, response: dict[str, Any]) -> None:
            body = str(response.get("body", "")).encode("utf-8")
            if response.get("isBase64Encoded"):
                body = base64.b64decode(body)
            self.send_response(int(response["statusCode"]))
            for name, value in response.get("headers", {}).items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            # Structured, and never the query string: it carries the link's token.
            line = {
                "method": self.command,
                "path": self.path.partition("?")[0],
                "status": args[1] if len(args) > 1 else None,
            }
            print(json.dumps(line), file=sys.stderr)

    return HTTPServer(("127.0.0.1", port), Handler)


def serve(workspace: Path, settings: Settings, port: int) -> None:
    server = make_server(workspace, settings, port)
    print(
        f"Serving {settings.system} links on http://127.0.0.1:{server.server_port} (Ctrl-C to stop)"
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
