"""Settings and secrets through the AWS Parameters and Secrets Lambda Extension, against a real
HTTP server on 127.0.0.1 answering as the extension documents (GET, the session token in
X-Aws-Parameters-Secrets-Token, the JSON of GetParameter and GetSecretValue), and the fall back
to SSM and Secrets Manager (moto) whenever it refuses, fails or is not there."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from conftest import REGION, aws

from backoffice.adapters.aws.config import (
    TOKEN_HEADER,
    ParametersSecretsExtension,
    load_aws_settings,
)

EXAMPLE = Path(__file__).parents[2] / "src/cli/examples/expiry-watcher/backoffice.toml"
PARAMETER = "/ew/config/backoffice.toml"
SECRET_ID = "ew/links/secret"
TOKEN = "session-token-of-this-environment"


def settings_text(admin: str) -> str:
    text = EXAMPLE.read_text().replace('link_secret = "{link_secret}"\n', "")
    return text.replace('admin = "ops@example.com"', f'admin = "{admin}"')


class Extension(ThreadingHTTPServer):
    """What the extension would answer, and every request it was sent."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Answer)
        self.parameters = {PARAMETER: settings_text("extension@example.com")}
        self.secrets = {SECRET_ID: "link-secret-from-the-extension"}
        self.failing: int | None = None  # answer every request with this status
        self.requests: list[dict[str, Any]] = []

    @property
    def port(self) -> str:
        return str(self.server_address[1])


class _Answer(BaseHTTPRequestHandler):
    server: Extension

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.requests.append({"path": url.path, "query": query, "headers": self.headers})
        if self.server.failing:
            return self._send(self.server.failing, {"message": "failing on purpose"})
        if self.headers.get(TOKEN_HEADER) != TOKEN:  # the extension's SSRF check
            return self._send(403, {"message": "invalid or missing token"})
        if url.path == "/systemsmanager/parameters/get" and query["name"] in self.server.parameters:
            name = query["name"]
            value = self.server.parameters[name]
            return self._send(
                200,
                {"Parameter": {"Name": name, "Type": "SecureString", "Value": value, "Version": 1}},
            )
        if url.path == "/secretsmanager/get" and query["secretId"] in self.server.secrets:
            name = query["secretId"]
            return self._send(200, {"Name": name, "SecretString": self.server.secrets[name]})
        return self._send(400, {"__type": "ResourceNotFoundException"})

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def extension() -> Iterator[Extension]:
    server = Extension()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sdk() -> Iterator[dict[str, Any]]:
    """SSM and Secrets Manager on moto, holding other values than the extension's, and counts
    of the clients the code under test makes."""
    with aws():
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=PARAMETER, Value=settings_text("sdk@example.com"), Type="SecureString"
        )
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=SECRET_ID, SecretString="link-secret-from-secrets-manager"
        )
        made: dict[str, Any] = {"ssm": 0, "secretsmanager": 0}

        def client(service: str) -> Any:
            made[service] += 1
            return boto3.client(service, region_name=REGION)

        made["client"] = client
        yield made


class Logs(list[dict[str, Any]]):
    def __call__(self, event: str, **fields: Any) -> None:
        self.append({"event": event, **fields})


def load(sdk: dict[str, Any], extension: ParametersSecretsExtension | None, log: Logs) -> Any:
    return load_aws_settings(
        lambda: sdk["client"]("ssm"),
        lambda: sdk["client"]("secretsmanager"),
        PARAMETER,
        {"link_secret": SECRET_ID, "slack_bot_token": "ew/slack/bot-token"},
        extension,
        log,
    )


def test_settings_and_secrets_come_from_the_extension_without_a_client(
    extension: Extension, sdk: dict[str, Any]
) -> None:
    log = Logs()
    reader = ParametersSecretsExtension(extension.port, TOKEN)
    settings = load(sdk, reader, log)
    assert settings.admin == "extension@example.com"
    assert settings.secret("link_secret") == "link-secret-from-the-extension"
    assert settings.secret("link_secret") == "link-secret-from-the-extension"  # kept
    assert (sdk["ssm"], sdk["secretsmanager"], log) == (0, 0, [])
    parameter, secret = extension.requests
    assert parameter["path"] == "/systemsmanager/parameters/get"
    assert parameter["query"] == {"name": PARAMETER, "withDecryption": "true"}
    assert secret["path"] == "/secretsmanager/get"
    assert secret["query"] == {"secretId": SECRET_ID}
    assert {r["headers"][TOKEN_HEADER] for r in extension.requests} == {TOKEN}


def test_a_refused_token_falls_back_to_the_sdk_and_logs_no_value(
    extension: Extension, sdk: dict[str, Any]
) -> None:
    log = Logs()
    settings = load(sdk, ParametersSecretsExtension(extension.port, "a stale token"), log)
    assert settings.admin == "sdk@example.com"
    assert settings.secret("link_secret") == "link-secret-from-secrets-manager"
    assert (sdk["ssm"], sdk["secretsmanager"]) == (1, 1)
    assert log == [
        {
            "event": "parameters_secrets_extension_failed",
            "read": "parameter",
            "name": PARAMETER,
            "reason": "HTTP 403",
        },
        {
            "event": "parameters_secrets_extension_failed",
            "read": "secret",
            "name": SECRET_ID,
            "reason": "HTTP 403",
        },
    ]
    logged = json.dumps(log)
    assert "link-secret" not in logged and "@example.com" not in logged


def test_a_failing_extension_falls_back_for_that_read_only(
    extension: Extension, sdk: dict[str, Any]
) -> None:
    log = Logs()
    reader = ParametersSecretsExtension(extension.port, TOKEN)
    extension.failing = 500
    settings = load(sdk, reader, log)
    assert settings.admin == "sdk@example.com"
    extension.failing = None  # an HTTP error says the extension is there: ask it again
    assert settings.secret("link_secret") == "link-secret-from-the-extension"
    assert (sdk["ssm"], sdk["secretsmanager"]) == (1, 0)
    assert [entry["reason"] for entry in log] == ["HTTP 500"]


def test_a_secret_no_one_gave_a_value_is_missing_either_way(
    extension: Extension, sdk: dict[str, Any]
) -> None:
    settings = load(sdk, ParametersSecretsExtension(extension.port, TOKEN), Logs())
    with pytest.raises(KeyError):
        settings.secret("slack_bot_token")  # the extension: 400; Secrets Manager: not found
    assert sdk["secretsmanager"] == 1


def test_no_extension_listening_means_the_sdk_for_the_rest_of_the_environment(
    extension: Extension, sdk: dict[str, Any]
) -> None:
    port = extension.port
    extension.shutdown()
    extension.server_close()
    log = Logs()
    settings = load(sdk, ParametersSecretsExtension(port, TOKEN, timeout=1), log)
    assert settings.secret("link_secret") == "link-secret-from-secrets-manager"
    assert settings.admin == "sdk@example.com"
    assert [entry["read"] for entry in log] == ["parameter", "secret"]
    assert log[1]["reason"] == "not reachable earlier in this environment"


def test_the_extension_is_used_only_when_the_function_names_its_port() -> None:
    assert ParametersSecretsExtension.from_environment({"AWS_SESSION_TOKEN": TOKEN}) is None
    reader = ParametersSecretsExtension.from_environment(
        {"PARAMETERS_SECRETS_EXTENSION_HTTP_PORT": "2773", "AWS_SESSION_TOKEN": TOKEN}
    )
    assert reader is not None
    assert (reader.base, reader.token) == ("http://localhost:2773", TOKEN)


def test_without_the_extension_the_sdk_reads_as_before(sdk: dict[str, Any]) -> None:
    settings = load(sdk, None, Logs())
    assert settings.admin == "sdk@example.com"
    assert settings.secret("link_secret") == "link-secret-from-secrets-manager"
    assert (sdk["ssm"], sdk["secretsmanager"]) == (1, 1)
