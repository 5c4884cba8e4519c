"""Cold start of every Lambda handler the SAM templates name, in CPU time beside its floor.

Each sample is a fresh interpreter (`python -c`) doing what a cold first invocation does before
its own work: import the handler's module (and, for a Function URL, make its route table), read
the system's settings parameter and, when its first call needs one, a secret, wire its ports,
then build the adapters whose clients that call touches. Nothing leaves the machine: a stand-in
on 127.0.0.1 answers the settings and secret reads, both as SSM and Secrets Manager (the SDK's
endpoint pointed at it) and as the Parameters and Secrets Lambda Extension; other clients make
no call by being created.

The floor is the least a first call could pay for the same clients: `import botocore.session`
and creating them bare. With the extension, the SSM and Secrets Manager clients are not made,
so they leave its floor too. CPU time (`time.process_time`) is what Lambda bills and what a
busy machine stretches least; wall time is shown beside it.

Bytecode: by default the project's modules have their bytecode, as a bundle `make package`
built with the runtime's Python ships it (the pipeline's build does); `--source` compiles them
from source at each import, as a bundle built with another Python makes every cold start do.
The standard library and the dependencies use their bytecode either way (a private cache,
warmed first).

    python bench/cold_start.py [--repeat 5] [--source] [--only expiry_watcher.dispatch,...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).parents[1]
EXAMPLES = ROOT / "src/cli/examples"
TARGET_MS = 250.0
TOKEN = "bench-session-token"
SETTINGS, SECRETS = "ssm", "secretsmanager"

# The port, and a method of it, whose adapter makes each client (a method looked up builds it).
ADAPTERS = {
    "dynamodb": ("tables", "get"),
    "s3": ("blobs", "get"),
    "events": ("bus", "emit"),
    "ses": ("mailer", "send"),
    "sns": ("sms", "send"),
    "scheduler": ("scheduler", "book"),
    "sqs": ("queue", "send"),
    "bedrock-runtime": ("model", "complete"),
}

PROBE = """
import os, time
cpu, wall = time.process_time(), time.perf_counter()
import importlib
module = importlib.import_module("backoffice.handlers.{module}")
routes = getattr(getattr(module, "{name}"), "routes", ())  # a Function URL's, at its first request
system = importlib.import_module("backoffice.services.{module}").SYSTEM
from backoffice.handlers import wiring
for name in ("RULES_BUCKET", "DISPATCH_ARN", "SCHEDULER_ROLE_ARN", "INTAKE_QUEUE_URL"):
    os.environ.setdefault(wiring.var(system, name), "bench")
os.environ.setdefault(wiring.sheet_bucket_variable(system), "bench")
os.environ[wiring.var(system, "CONFIG_PARAMETER")] = "/bench/{module}"
ports, settings = wiring.system_ports(system)
if {secret!r}:
    settings.secret("link_secret")
for port, method in {adapters!r}:
    getattr(getattr(ports, port), method)
print(time.process_time() - cpu, time.perf_counter() - wall)
"""

FLOOR = """
import time
cpu, wall = time.process_time(), time.perf_counter()
import botocore.session
from botocore.config import Config
session = botocore.session.get_session()
for service in {clients!r}:
    session.create_client(service, config=Config(retries={{"mode": "standard"}}))
print(time.process_time() - cpu, time.perf_counter() - wall)
"""

# The AWS clients each handler's first call creates, in the order it creates them: the settings
# parameter (SSM) first, then what its use case reads and writes. A link or a Slack request
# needs its secret (Secrets Manager); a proposal or a notice goes out by mail (SES); intake and
# the summaries ask the model (Bedrock). Google's clients (drive-sync, calendar-sync) are not
# AWS clients and are not counted here.
_INTAKE = (SETTINGS, "s3", "dynamodb", "bedrock-runtime", SECRETS, "ses")
_SUMMARY = (SETTINGS, "s3", "dynamodb", "bedrock-runtime", "ses")
_DIGEST = (SETTINGS, "dynamodb", "s3", "ses")
_DRIVE_SYNC = (SETTINGS, "s3")
_CALENDAR_SYNC = (SETTINGS, "s3", "dynamodb", SECRETS, "ses")
_LINKS = (SETTINGS, SECRETS, "dynamodb", "s3")
_TICK = (SETTINGS, "s3", "dynamodb", "events")
_CONNECTOR = (SETTINGS, SECRETS, "sqs")
CLIENTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("expiry_watcher", "watcher"): _TICK,
    ("expiry_watcher", "dispatch"): (SETTINGS, "dynamodb", "s3", SECRETS, "ses"),
    ("expiry_watcher", "ack_handler"): _LINKS,
    ("expiry_watcher", "digest"): _DIGEST,
    ("expiry_watcher", "summary"): _SUMMARY,
    ("expiry_watcher", "drive_sync"): _DRIVE_SYNC,
    ("expiry_watcher", "calendar_sync"): _CALENDAR_SYNC,
    ("expiry_watcher", "intake_ses_parser"): _INTAKE,
    ("appointment_reminder", "reminder"): _TICK,
    ("appointment_reminder", "dispatch"): (SETTINGS, "s3", "dynamodb", SECRETS, "sns"),
    ("appointment_reminder", "reply_handler"): (SETTINGS, SECRETS, "s3", "dynamodb"),
    ("appointment_reminder", "summary"): _SUMMARY,
    ("appointment_reminder", "drive_sync"): _DRIVE_SYNC,
    ("appointment_reminder", "calendar_sync"): _CALENDAR_SYNC,
    ("appointment_reminder", "intake_ses_parser"): _INTAKE,
    ("onboarding_guide", "enroll"): (SETTINGS, SECRETS, "s3", "dynamodb"),
    ("onboarding_guide", "guide"): _TICK,
    ("onboarding_guide", "sender"): (SETTINGS, "s3", "dynamodb", SECRETS, "ses"),
    ("onboarding_guide", "done_handler"): _LINKS,
    ("onboarding_guide", "bounce_handler"): (SETTINGS, "s3", "dynamodb", "ses"),
    ("onboarding_guide", "digest"): _DIGEST,
    ("onboarding_guide", "summary"): _SUMMARY,
    ("onboarding_guide", "drive_sync"): _DRIVE_SYNC,
    ("onboarding_guide", "intake_ses_parser"): _INTAKE,
    ("social_scheduler", "scheduler"): (*_TICK, "scheduler"),
    ("social_scheduler", "sender"): (SETTINGS, "dynamodb", "s3", SECRETS, "ses"),
    ("social_scheduler", "approve_handler"): (*_LINKS, "scheduler"),
    ("social_scheduler", "intake_draft_helper"): (
        SETTINGS,
        SECRETS,
        "s3",
        "bedrock-runtime",
        "dynamodb",
        "ses",
    ),
    ("social_scheduler", "template_sync"): (SETTINGS, "s3", "dynamodb"),
    ("social_scheduler", "digest"): _DIGEST,
    ("social_scheduler", "recap"): _SUMMARY,
    ("social_scheduler", "drive_sync"): _DRIVE_SYNC,
    ("social_inbox", "labeler"): (SETTINGS, "dynamodb", "s3", "bedrock-runtime", SECRETS),
    ("social_inbox", "router"): (SETTINGS, "s3", "dynamodb", SECRETS),
    ("social_inbox", "reply_handler"): _LINKS,
    ("social_inbox", "sla_sweeper"): (SETTINGS, "s3", "dynamodb", SECRETS),
    ("social_inbox", "digest"): (SETTINGS, "dynamodb", "sqs", SECRETS),
    ("social_inbox", "drive_sync"): _DRIVE_SYNC,
    ("social_inbox", "ig_connector"): _CONNECTOR,
    ("social_inbox", "fb_connector"): _CONNECTOR,
    ("social_inbox", "wa_connector"): _CONNECTOR,
}

_HANDLER = re.compile(r"^\s*Handler:\s*backoffice\.handlers\.(\w+)\.(\w+)\s*$", re.MULTILINE)


def handlers() -> list[tuple[str, str]]:
    """Every handler a SAM template names, in the templates' order. One missing from CLIENTS
    is an error: a new handler is measured from the day it is deployed."""
    templates = [*sorted(ROOT.glob("deploy/*.yaml")), *sorted(ROOT.glob("deploy/stacks/*.yaml"))]
    named = [m.groups() for t in templates for m in _HANDLER.finditer(t.read_text())]
    found = list(dict.fromkeys((module, name) for module, name in named))
    unknown = [f"{m}.{n}" for m, n in found if (m, n) not in CLIENTS]
    if unknown:
        raise KeyError(f"CLIENTS does not say what these first calls touch: {unknown}")
    return found


# --- the stand-in for SSM, Secrets Manager and the extension ----------------------------------


def _settings_text(module: str) -> str:
    """The example's settings as the parameter holds them: its secrets live in Secrets
    Manager, not in the parameter."""
    lines, kept = (EXAMPLES / module.replace("_", "-") / "backoffice.toml").read_text(), []
    in_secrets = False
    for line in lines.splitlines(keepends=True):
        if line.startswith("["):
            in_secrets = line.strip() == "[secrets]"
        if not in_secrets:
            kept.append(line)
    return "".join(kept)


class _StandIn(BaseHTTPRequestHandler):
    """GET: the extension's two reads (its token checked); POST: SSM's GetParameter and
    Secrets Manager's GetSecretValue in the AWS JSON protocol. Parameter /bench/<module> is
    that system's example settings; every secret is the same made-up text."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if self.headers.get("X-Aws-Parameters-Secrets-Token") != TOKEN:
            self._answer(403, {"message": "no token"})
        elif url.path == "/systemsmanager/parameters/get":
            self._answer(200, self._parameter(query["name"]))
        elif url.path == "/secretsmanager/get":
            self._answer(200, self._secret(query["secretId"]))
        else:
            self._answer(404, {"message": url.path})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
        target = self.headers.get("X-Amz-Target", "")
        if target == "AmazonSSM.GetParameter":
            self._answer(200, self._parameter(body["Name"]))
        elif target == "secretsmanager.GetSecretValue":
            self._answer(200, self._secret(body["SecretId"]))
        else:
            self._answer(400, {"__type": "UnknownOperationException", "message": target})

    def _parameter(self, name: str) -> dict[str, Any]:
        value = _settings_text(name.removeprefix("/bench/"))
        return {"Parameter": {"Name": name, "Type": "SecureString", "Value": value, "Version": 1}}

    def _secret(self, secret_id: str) -> dict[str, Any]:
        return {"Name": secret_id, "SecretString": "bench-secret-value", "VersionId": "v1"}

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/x-amz-json-1.1")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def _stand_in() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


# --- measuring ----------------------------------------------------------------------------------


class _Runner:
    """Fresh interpreters with the environment of a Lambda function (no network: SSM and
    Secrets Manager are the stand-in) and a private bytecode cache."""

    def __init__(self, port: int, cache: Path, bytecode: bool) -> None:
        self.cache, self.bytecode = cache, bytecode
        self.base = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_SESSION_TOKEN": TOKEN,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_SSM": f"http://127.0.0.1:{port}",
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": f"http://127.0.0.1:{port}",
            "PYTHONPYCACHEPREFIX": str(cache),
        }
        for name in ("BACKOFFICE_BACKEND", "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"):
            self.base.pop(name, None)
        self.extension = {**self.base, "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": str(port)}

    def warm(self, codes: list[tuple[str, dict[str, str]]]) -> None:
        """One run of each, writing bytecode; then, unless measuring with it, the project's
        own is dropped again, so each sample compiles it as an import without it would."""
        for code, environment in codes:
            self._run(code, {**environment, "PYTHONDONTWRITEBYTECODE": ""})
        if not self.bytecode:
            shutil.rmtree(self.cache / str(_package()).lstrip("/"), ignore_errors=True)

    def sampled(self, code: str, environment: dict[str, str], runs: int) -> tuple[float, float]:
        """The median CPU and wall time, in ms, of `code` in `runs` fresh interpreters."""
        cpu, wall = [], []
        for _ in range(runs):
            spent = self._run(code, {**environment, "PYTHONDONTWRITEBYTECODE": "1"})
            cpu.append(spent[0] * 1000)
            wall.append(spent[1] * 1000)
        return statistics.median(cpu), statistics.median(wall)

    def _run(self, code: str, environment: dict[str, str]) -> tuple[float, float]:
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=environment
        )
        if done.returncode:
            raise RuntimeError(f"a sample failed:\n{code}\n{done.stderr}")
        out = done.stdout.split()
        return float(out[-2]), float(out[-1])


def _package() -> Path:
    """Where `backoffice` is imported from, as the import system names its files."""
    spec = importlib.util.find_spec("backoffice")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("backoffice is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def _probe(module: str, name: str) -> str:
    clients = CLIENTS[module, name]
    adapters = [ADAPTERS[c] for c in clients if c not in (SETTINGS, SECRETS)]
    return PROBE.format(module=module, name=name, secret=SECRETS in clients, adapters=adapters)


def _floor(clients: tuple[str, ...], extension: bool) -> str:
    bare = tuple(c for c in clients if not extension or c not in (SETTINGS, SECRETS))
    return FLOOR.format(clients=bare)


def measure_all(
    runs: int = 5, only: frozenset[str] = frozenset(), bytecode: bool = True
) -> list[dict[str, Any]]:
    """One row per handler: handler, cpu_ms, wall_ms, floor_cpu_ms (reading settings and
    secrets through SSM and Secrets Manager, as the templates deploy it), and the same with
    the Parameters and Secrets Lambda Extension (extension_cpu_ms, extension_wall_ms,
    extension_floor_cpu_ms); medians of `runs` fresh processes each."""
    chosen = [(m, n) for m, n in handlers() if not only or f"{m}.{n}" in only]
    with tempfile.TemporaryDirectory(prefix="cold-start-") as cache, _stand_in() as port:
        runner = _Runner(port, Path(cache), bytecode)
        variants = ((False, runner.base), (True, runner.extension))
        codes = [(_probe(m, n), env) for m, n in chosen for _, env in variants]
        floors = {(CLIENTS[h], ext): _floor(CLIENTS[h], ext) for h in chosen for ext, _ in variants}
        runner.warm([*codes, *((code, runner.base) for code in floors.values())])
        floor_ms = {key: runner.sampled(code, runner.base, runs) for key, code in floors.items()}
        rows = []
        for module, name in chosen:
            row: dict[str, Any] = {"handler": f"{module}.{name}", "clients": CLIENTS[module, name]}
            for extension, environment in variants:
                prefix = "extension_" if extension else ""
                cpu, wall = runner.sampled(_probe(module, name), environment, runs)
                row[f"{prefix}cpu_ms"], row[f"{prefix}wall_ms"] = cpu, wall
                row[f"{prefix}floor_cpu_ms"] = floor_ms[CLIENTS[module, name], extension][0]
            row["bytecode"] = "cached" if bytecode else "source"
            rows.append(row)
        return rows


def figures(repeat: int = 5) -> list[Any]:
    """The rows as bench/run.py's figures: a handler is within when its CPU time is at most
    250 ms, so its target is 250 ms over its floor."""
    from common import Figure

    return [
        Figure(
            "cold start",
            row["handler"] + suffix,
            row[f"{prefix}cpu_ms"],
            row[f"{prefix}floor_cpu_ms"],
            TARGET_MS / row[f"{prefix}floor_cpu_ms"],
            unit="ms CPU",
            note=f"target {TARGET_MS:.0f} ms CPU",
        )
        for row in measure_all(repeat)
        for prefix, suffix in (("", ""), ("extension_", " (extension)"))
    ]


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| handler | clients | CPU | floor | wall | with the extension: CPU | floor | "
        f"≤ {TARGET_MS:.0f} ms CPU |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        within = ["yes" if row[f"{p}cpu_ms"] <= TARGET_MS else "**no**" for p in ("", "extension_")]
        lines.append(
            f"| {row['handler']} | {', '.join(row['clients'])} | {row['cpu_ms']:.0f} ms | "
            f"{row['floor_cpu_ms']:.0f} ms | {row['wall_ms']:.0f} ms | "
            f"{row['extension_cpu_ms']:.0f} ms | {row['extension_floor_cpu_ms']:.0f} ms | "
            f"{within[0]} / {within[1]} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--source", action="store_true", help="the project's modules compiled")
    parser.add_argument("--only", default="", help="comma-separated module.handler names")
    parser.add_argument("--json", action="store_true", help="the rows as JSON")
    args = parser.parse_args()
    only = frozenset(n.strip() for n in args.only.split(",") if n.strip())
    started = time.perf_counter()
    rows = measure_all(args.repeat, only, not args.source)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(table(rows))
    within = [sum(r[f"{p}cpu_ms"] <= TARGET_MS for r in rows) for p in ("", "extension_")]
    print(
        f"\nwithin {TARGET_MS:.0f} ms CPU: {within[0]} of {len(rows)}, "
        f"{within[1]} with the extension ({'no' if args.source else 'cached'} bytecode for "
        f"the project's modules; {time.perf_counter() - started:.0f} s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
