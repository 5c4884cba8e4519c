"""The social inbox's two figures, each with its floor measured in the same run:

- webhooks per second through `backoffice serve` (real HTTP on 127.0.0.1, signed, verified,
  parsed, queued in SQLite) / floor: HMAC-SHA256 over the same bodies and `json.loads`;
- the labeler's cost per message (the queue drained: dedupe, labels, thread, routing with its
  transaction, audit) / floor: one SQLite transaction per message writing a row of its size,
  with the embedded backend's journal settings (WAL, synchronous=NORMAL).

    python bench/inbox.py [--messages 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import socket
import sqlite3
import sys
import tempfile
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tick import timed

from backoffice.cli.running import drain
from backoffice.cli.serve import make_server
from backoffice.cli.workspace import write_example
from backoffice.handlers.machine import local_ports
from backoffice.handlers.wiring import FixedClock, no_events, read_settings
from backoffice.services.social_inbox import SYSTEM

NOW = datetime(2026, 12, 3, 2, 0, tzinfo=UTC)  # Thursday 10:00 in Singapore
TEXTS = ("where is my order", "refund please, charged twice", "are you open on sunday", "hello")


def payloads(count: int) -> list[bytes]:
    bodies = []
    for n in range(count):
        ms = int((NOW + timedelta(seconds=n)).timestamp() * 1000)
        item = {
            "sender": {"id": f"c{n % 200}"},
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


def verify_floor(bodies: list[bytes], secret: str) -> None:
    for body in bodies:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        hmac.compare_digest(digest, digest)
        json.loads(body)


def transaction_floor(folder: Path, bodies: list[bytes]) -> None:
    db = sqlite3.connect(folder / "floor.db")
    db.execute("PRAGMA journal_mode=WAL")  # as the embedded backend's database
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT)")
    for n, body in enumerate(bodies):
        with db:
            db.execute("INSERT INTO t VALUES (?, ?)", (str(n), body.decode() * 4))
    db.close()


def one_run(count: int) -> tuple[float, float, float, float]:
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "inbox"
        write_example(SYSTEM, workspace, NOW.date())
        settings = read_settings(workspace)
        secret = settings.secret("meta_app_secret")
        bodies = payloads(count)
        server = make_server(workspace, settings, 0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            serve_time, _ = timed(lambda: post_all(server.server_port, bodies, secret), 1)
        finally:
            server.shutdown()
            server.server_close()
        verify_time, _ = timed(lambda: verify_floor(bodies, secret), 1)
        ports = local_ports(workspace, settings, SYSTEM, no_events, clock=FixedClock(NOW))
        label_time, outcomes = timed(lambda: drain(SYSTEM, ports, settings), 1)
        if sum(outcomes.values()) != count or outcomes.get("failed"):
            raise RuntimeError(f"the labeler did not take every message: {outcomes}")
        floor_time, _ = timed(lambda: transaction_floor(Path(folder), bodies), 1)
        return serve_time, verify_time, label_time, floor_time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    runs = sorted((one_run(args.messages) for _ in range(args.repeat)), key=lambda r: r[0])
    serve_time, verify_time, label_time, floor_time = runs[len(runs) // 2]
    n = args.messages
    print("| messages | webhooks/s (serve) / floor | labeler per message / floor |")
    print("|---:|---|---|")
    print(
        f"| {n} | {n / serve_time:,.0f}/s / {n / verify_time:,.0f}/s = "
        f"{serve_time / verify_time:.0f}x | {label_time / n * 1000:.2f} ms / "
        f"{floor_time / n * 1000:.2f} ms = {label_time / floor_time:.1f}x |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
