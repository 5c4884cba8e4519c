"""Settings from Parameter Store and secrets from Secrets Manager, read once per environment:
through the AWS Parameters and Secrets Lambda Extension when the function has it, else through
the SDK's clients, which are then made only if needed."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import ProxyHandler, Request, build_opener

from attrs import evolve

from backoffice.core.settings import Settings, load_settings

PORT_VARIABLE = "PARAMETERS_SECRETS_EXTENSION_HTTP_PORT"
TOKEN_HEADER = "X-Aws-Parameters-Secrets-Token"
Log = Callable[..., None]  # (event, **fields): names and reasons only, never a value read


class ExtensionFailed(Exception):
    """The extension gave no usable answer; the message says why, never what was asked for."""


class ParametersSecretsExtension:
    """The extension's HTTP interface on localhost. It answers with the JSON of GetParameter and
    GetSecretValue, fetched with the function's own role and cached in the execution
    environment, so a cold start needs no SSM or Secrets Manager client (each costs a service
    model to load). It refuses a request that does not carry the environment's session token.

    Once it cannot be reached at all, it is not asked again in this environment; a refusal of
    one name (an HTTP error) only sends that read to the SDK."""

    def __init__(self, port: str, token: str, timeout: float = 2.0) -> None:
        self.base = f"http://localhost:{port}"
        self.token = token
        self.timeout = timeout
        self.reachable = True
        # Only localhost is ever asked: a proxy from the environment must not see the token.
        self._opener = build_opener(ProxyHandler({}))

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> ParametersSecretsExtension | None:
        """The extension when the function's configuration names its port, else None."""
        port = environ.get(PORT_VARIABLE, "").strip()
        return cls(port, environ.get("AWS_SESSION_TOKEN", "")) if port else None

    def parameter(self, name: str) -> str:
        found = self._get("/systemsmanager/parameters/get", name=name, withDecryption="true")
        return _field(found, "Parameter", "Value")

    def secret(self, secret_id: str) -> str:
        return _field(self._get("/secretsmanager/get", secretId=secret_id), "SecretString")

    def _get(self, path: str, **query: str) -> Any:
        if not self.reachable:
            raise ExtensionFailed("not reachable earlier in this environment")
        request = Request(
            f"{self.base}{path}?{urlencode(query)}", headers={TOKEN_HEADER: self.token}
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read()
        except HTTPError as error:
            raise ExtensionFailed(f"HTTP {error.code}") from None
        except OSError as error:  # refused, reset, timed out: no extension listening
            self.reachable = False
            raise ExtensionFailed(type(error).__name__) from None
        try:
            return json.loads(body)
        except ValueError:
            raise ExtensionFailed("the answer is not JSON") from None


def _field(document: Any, *path: str) -> str:
    found = document
    for key in path:
        found = found.get(key) if isinstance(found, Mapping) else None
    if not isinstance(found, str):
        raise ExtensionFailed(f"the answer has no {'.'.join(path)}")
    return found


def _read(
    extension: ParametersSecretsExtension | None,
    ask: Callable[[ParametersSecretsExtension], str],
    log: Log,
    kind: str,
    name: str,
) -> str | None:
    """The extension's answer, or None (logged, without any value) when the SDK must answer."""
    if extension is None:
        return None
    try:
        return ask(extension)
    except ExtensionFailed as failed:
        log("parameters_secrets_extension_failed", read=kind, name=name, reason=str(failed))
        return None


class LazySecrets(Mapping[str, str]):
    """Secrets fetched on first use, then kept: a handler that signs no link and verifies no
    Slack request never reads one, nor creates a Secrets Manager client."""

    def __init__(
        self,
        known: Mapping[str, str],
        ids: Mapping[str, str],
        client: Callable[[], Any],
        extension: ParametersSecretsExtension | None = None,
        log: Log = lambda event, **fields: None,
    ) -> None:
        self._values = dict(known)
        self._ids = {name: ref for name, ref in ids.items() if name not in known}
        self._client = client
        self._extension = extension
        self._log = log

    def __getitem__(self, name: str) -> str:
        if name not in self._values:
            if name not in self._ids:
                raise KeyError(name)
            ref = self._ids[name]
            value = _read(self._extension, lambda e: e.secret(ref), self._log, "secret", ref)
            self._values[name] = self._fetched(name, ref) if value is None else value
        return self._values[name]

    def _fetched(self, name: str, ref: str) -> str:
        client = self._client()
        try:
            response = client.get_secret_value(SecretId=ref)
        except client.exceptions.ResourceNotFoundException:
            raise KeyError(name) from None  # declared by a stack, never given a value yet
        return str(response["SecretString"])

    def __iter__(self) -> Iterator[str]:
        return iter({**self._ids, **self._values})

    def __len__(self) -> int:
        return len({**self._ids, **self._values})

    def __repr__(self) -> str:
        return f"LazySecrets({sorted(self)})"  # names only, never values


def load_aws_settings(
    ssm: Callable[[], Any],
    secrets_client: Callable[[], Any],
    parameter: str,
    secret_ids: Mapping[str, str],
    extension: ParametersSecretsExtension | None = None,
    log: Log = lambda event, **fields: None,
) -> Settings:
    """The same TOML as a workspace's backoffice.toml, kept in one SecureString parameter;
    each secret (name -> Secrets Manager id) is read when first needed. The clients are made
    only when the extension is absent or fails."""
    text = _read(extension, lambda e: e.parameter(parameter), log, "parameter", parameter)
    if text is None:
        text = ssm().get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    settings = load_settings(text, parameter)
    secrets = LazySecrets(settings.secrets, secret_ids, secrets_client, extension, log)
    return evolve(settings, secrets=secrets)
