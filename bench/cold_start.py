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

EXAMPLES = Path(__file__).parents[1] / "src/cli/examples"

# What a first invocation pays before its own work: the module import and the lazy wiring, then
# boto3 and the clients the handler touches in its first call (one per AWS service it uses).
PROBE = """
import os, time
os.environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_DEFAULT_REGION="us-east-1")
started = time.perf_counter()
import backoffice.handlers.{module} as handlers
handler = getattr(handlers, "{name}")
from backoffice.handlers import wiring
from backoffice.core.settings import load_settings
settings = load_settings(open("{example}").read())
wiring.aws_ports(settings, handlers.SYSTEM)
wired = time.perf_counter()
for service in {clients}:
    wiring.aws_client(service)
clients = time.perf_counter()
print(wired - started, clients - started)
"""
CLIENTS = {
    ("expiry_watcher", "watcher"): ("ssm", "s3", "dynamodb", "events"),
    ("expiry_watcher", "dispatch"): ("ssm", "dynamodb", "s3", "secretsmanager", "ses"),
    ("expiry_watcher", "digest"): ("ssm", "dynamodb", "s3", "ses"),
    ("expiry_watcher", "summary"): ("ssm", "s3", "dynamodb", "bedrock-runtime", "ses"),
    ("expiry_watcher", "ack_handler"): ("ssm", "secretsmanager", "dynamodb", "s3"),
    ("appointment_reminder", "reminder"): ("ssm", "s3", "dynamodb", "events"),
    ("appointment_reminder", "dispatch"): ("ssm", "s3", "dynamodb", "secretsmanager", "sns"),
    ("appointment_reminder", "reply_handler"): ("ssm", "secretsmanager", "s3", "dynamodb"),
}


def measure(module: str, name: str, runs: int = 5) -> tuple[float, float]:
    imports, totals = [], []
    example = EXAMPLES / module.replace("_", "-") / "backoffice.toml"
    for _ in range(runs):
        code = PROBE.format(
            module=module, name=name, clients=CLIENTS[module, name], example=example
        )
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
    for module, name in CLIENTS:
        imported, wired = measure(module, name)
        print(f"| {module}.{name} | {imported * 1000:.0f} ms | {wired * 1000:.0f} ms |")
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
