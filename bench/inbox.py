"""The social inbox's two figures, each with its floor measured in the same run:

- webhooks per second through `backoffice serve` (real HTTP on 127.0.0.1, one keep-alive
  connection, signed, verified, parsed, queued in SQLite) / floor: a bare stdlib
  `ThreadingHTTPServer` (HTTP/1.1 keep-alive, the same client loop) whose handler verifies the
  HMAC over the raw body, parses the JSON and inserts the message in one SQLite transaction;
- the labeler's cost per message (the queue drained: dedupe, labels, thread, routing with its
  transaction, audit, a notice for each thread nobody can take) / floor: one SQLite transaction
  per message, read from a queue table, writing the rows the labeler must write for it (its
  dedupe mark, its thread, the audit row, and for a customer's first message the assignment
  and the teammate's counter) and taking it off the queue; per notice one transaction and one
  atomic write of its bytes.

Both floors use the embedded backend's journal settings (WAL, synchronous=NORMAL).

    python bench/inbox.py [--messages 500] [--repeat 3]
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import os
import socket
import sqlite3
import statistics
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from common import Figure, script, timed

from backoffice.cli.running import drain
from backoffice.cli.serve import make_server
from backoffice.cli.workspace import write_example
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import FixedClock, no_events, read_settings
from backoffice.services.social_inbox import SYSTEM

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Singapore
TEXTS = ("where is my order", "refund please, charged twice", "are you open on sunday", "hello")
CUSTOMERS = 200


def payloads(count: int) -> list[bytes]:
    bodies = []
    for n in range(count):
        ms = int((NOW + timedelta(seconds=n)).timestamp() * 1000)
        item = {
            "sender": {"id": f"c{n % CUSTOMERS}"},
            "recipient": {"id": "104000000000001"},
            "timestamp": ms,
            "message": {"mid": f"m_{n:06d}", "text": f"{TEXTS[n % len(TEXTS)]} #{n}"},
        }
        entry = {"id": "104000000000001", "time": ms, "messaging": [item]}
        bodies.append(json.dumps({"object": "page", "entry": [entry]}).encode())
    return bodies


def post_all(port: int, bodies: list[bytes], secret: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.connect()
    # As a platform's client does: no Nagle delay between a request's headers and its body.
    connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for body in bodies:
        signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {"content-type": "application/json", "x-hub-signature-256": signature}
        connection.request("POST", "/siu/webhook/facebook", body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"webhook answered {response.status}")
    connection.close()


def floor_database(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")  # as the embedded backend's database
    db.execute("PRAGMA synchronous=NORMAL")
    return db


class FloorHandler(BaseHTTPRequestHandler):
    """The least a webhook server does: the body read, its HMAC checked, its JSON parsed, the
    message stored in one transaction, 200."""

    protocol_version = "HTTP/1.1"
    server: FloorServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        digest = "sha256=" + hmac.new(self.server.secret, body, hashlib.sha256).hexdigest()
        ok = hmac.compare_digest(digest, self.headers.get("x-hub-signature-256", ""))
        if ok:
            message = json.loads(body)["entry"][0]["messaging"][0]
            with self.server.lock:
                db = self.server.db
                db.execute("BEGIN IMMEDIATE")
                db.execute("INSERT INTO queue (body) VALUES (?)", (json.dumps(message),))
                db.execute("COMMIT")
        answer = b'{"status": "ok"}' if ok else b"{}"
        self.send_response(200 if ok else 401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FloorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, secret: str, db: sqlite3.Connection) -> None:
        self.secret, self.db, self.lock = secret.encode(), db, threading.Lock()
        super().__init__(("127.0.0.1", 0), FloorHandler)


@contextlib.contextmanager
def serving(server: ThreadingHTTPServer) -> Iterator[int]:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()


def serve_floor(folder: Path, bodies: list[bytes], secret: str) -> float:
    db = floor_database(folder / "serve-floor.db")
    db.execute("CREATE TABLE queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT)")
    with serving(FloorServer(secret, db)) as port:
        took, _ = timed(lambda: post_all(port, bodies, secret), 1)
    db.close()
    return took


def queued_for_floor(folder: Path, bodies: list[bytes]) -> Path:
    """The labeler floor's database: its tables, and the webhooks' messages queued."""
    path = folder / "label-floor.db"
    db = floor_database(path)
    for name in ("dedupe", "threads", "assignments", "loads", "audit", "sends"):
        db.execute(f"CREATE TABLE {name} (pk TEXT, sk TEXT, item TEXT, PRIMARY KEY (pk, sk))")
    db.execute("CREATE TABLE queue (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT)")
    db.executemany("INSERT INTO queue (body) VALUES (?)", [(b.decode(),) for b in bodies])
    db.close()
    return path


def labeler_floor(path: Path, notices: list[bytes]) -> None:
    """Each queued message read, then one transaction: its rows written, it off the queue."""
    db = floor_database(path)
    seen: set[str] = set()
    while batch := db.execute("SELECT seq, body FROM queue ORDER BY seq LIMIT 10").fetchall():
        for seq, body in batch:
            message = json.loads(body)["entry"][0]["messaging"][0]
            customer = message["sender"]["id"]
            thread = {"thread_id": f"t-{customer}", "messages": [message], "topic": "orders"}
            rows = [
                ("dedupe", f"mid:{message['message']['mid']}", {"thread_id": thread["thread_id"]}),
                ("threads", thread["thread_id"], thread),
                ("audit", thread["thread_id"], {"action": "placed", "seq": seq}),
            ]
            if customer not in seen:
                seen.add(customer)
                rows.append(("assignments", thread["thread_id"], {"assignee": "mei"}))
                rows.append(("loads", "mei", {"open_threads": len(seen)}))
            db.execute("BEGIN IMMEDIATE")
            for table_name, pk, item in rows:
                db.execute(
                    f"INSERT OR REPLACE INTO {table_name} VALUES (?, ?, ?)",
                    (pk, str(seq), json.dumps(item, sort_keys=True)),
                )
            db.execute("DELETE FROM queue WHERE seq = ?", (seq,))
            db.execute("COMMIT")
    out = path.parent / "label-floor"
    out.mkdir()
    for n, body in enumerate(notices):
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO sends VALUES (?, ?, ?)", (str(n), "sent", json.dumps({"n": n})))
        db.execute("COMMIT")
        handle, temporary = tempfile.mkstemp(dir=out)
        with os.fdopen(handle, "wb") as written:
            written.write(body)
        os.replace(temporary, out / f"{n}.json")
    db.close()


def one_run(count: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "inbox"
        write_example(SYSTEM, workspace, NOW.date())
        settings = read_settings(workspace)
        secret = settings.secret("meta_app_secret")
        bodies = payloads(count)
        # The server's log lines are written, a line at a time as to a terminal, and not shown.
        with (
            open(os.devnull, "w", buffering=1) as hidden,
            contextlib.redirect_stdout(hidden),
            contextlib.redirect_stderr(hidden),
            serving(make_server(workspace, settings, 0)) as port,
        ):
            serve_time, _ = timed(lambda: post_all(port, bodies, secret), 1)
        serve_floor_time = serve_floor(Path(folder), bodies, secret)
        ports = local_ports(workspace, settings, SYSTEM, no_events, clock=FixedClock(NOW))
        label_time, outcomes = timed(lambda: drain(SYSTEM, ports, settings), 1)
        if sum(outcomes.values()) != count or outcomes.get("failed"):
            raise RuntimeError(f"the labeler did not take every message: {outcomes}")
        outbox = workspace / "outbox"
        notices = [p.read_bytes() for p in sorted(outbox.iterdir())] if outbox.exists() else []
        queued = queued_for_floor(Path(folder), bodies)
        label_floor, _ = timed(lambda: labeler_floor(queued, notices), 1)
        return {
            "serve": serve_time,
            "serve_floor": serve_floor_time,
            "label": label_time,
            "label_floor": label_floor,
            "notices": len(notices),
        }


def figures(repeat: int = 3, messages: int = 500) -> list[Figure]:
    runs = [one_run(messages) for _ in range(repeat)]

    def median(name: str) -> float:
        return statistics.median(run[name] for run in runs)

    serve, serve_floor_time = median("serve"), median("serve_floor")
    per_message = 1000 / messages  # seconds for all of them to ms for one
    return [
        Figure(
            SYSTEM.name,
            "webhooks through serve",
            serve * per_message,
            serve_floor_time * per_message,
            3.0,
            unit="ms",
            note=f"{messages} webhooks: {messages / serve:,.0f}/s, floor "
            f"{messages / serve_floor_time:,.0f}/s",
        ),
        Figure(
            SYSTEM.name,
            "labeler per message",
            median("label") * per_message,
            median("label_floor") * per_message,
            3.0,
            unit="ms",
            note=f"{messages} messages from {CUSTOMERS} customers, "
            f"{median('notices'):.0f} queued-thread notices",
        ),
    ]


if __name__ == "__main__":
    sys.exit(script(__doc__, figures, "messages", 500))
