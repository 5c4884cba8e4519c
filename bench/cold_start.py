"""Cold start of each Lambda handler: a fresh interpreter imports the handler's module and wires
what its first call needs, with no network (moto in-process stands in for AWS where a client is
made). Median of 5 fresh processes each.

    python bench/cold_start.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "src/cli/examples/expiry-watcher/backoffice.toml"
HANDLERS = ("watcher", "dispatch", "digest", "summary", "ack_handler")

# What a first invocation pays before its own work: the module import and the lazy wiring, then
# boto3 and the clients the handler touches in its first call (one per AWS service it uses).
PROBE = """
import os, time
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
started = time.perf_counter()
import backoffice.handlers.expiry_watcher as handlers
handler = getattr(handlers, "{name}")
from backoffice.handlers import wiring
from backoffice.core.settings import load_settings
settings = load_settings(open("{example}").read())
wiring.aws_ports(settings, wiring.expiry_watcher_system())
wired = time.perf_counter()
for service in {clients}:
    wiring.aws_client(service)
clients = time.perf_counter()
print(wired - started, clients - started)
"""
CLIENTS = {
    "watcher": ("ssm", "s3", "dynamodb", "events"),
    "dispatch": ("ssm", "dynamodb", "s3", "secretsmanager", "ses"),
    "digest": ("ssm", "dynamodb", "s3", "ses"),
    "summary": ("ssm", "s3", "dynamodb", "bedrock-runtime", "ses"),
    "ack_handler": ("ssm", "secretsmanager", "dynamodb", "s3"),
}


def measure(name: str, runs: int = 5) -> tuple[float, float]:
    imports, totals = [], []
    for _ in range(runs):
        code = PROBE.format(name=name, clients=CLIENTS[name], example=EXAMPLE)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        imports.append(float(out[0]))
        totals.append(float(out[1]))
    return statistics.median(imports), statistics.median(totals)


def main() -> int:
    started = time.perf_counter()
    print("| handler | import and wire (ports built lazily) | + boto3 and the clients it uses |")
    print("|---|---:|---:|")
    for name in HANDLERS:
        imported, wired = measure(name)
        print(f"| {name} | {imported * 1000:.0f} ms | {wired * 1000:.0f} ms |")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
