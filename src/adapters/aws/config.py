"""Settings from Parameter Store and secrets from Secrets Manager, read once per environment."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from attrs import evolve

from backoffice.core.settings import Settings, load_settings


class LazySecrets(Mapping[str, str]):
    """Secrets fetched on first use, then kept: a handler that signs no link and verifies no
    Slack request never creates a Secrets Manager client."""

    def __init__(
        self, known: Mapping[str, str], ids: Mapping[str, str], client: Callable[[], Any]
    ) -> None:
        self._values = dict(known)
        self._ids = {name: ref for name, ref in ids.items() if name not in known}
        self._client = client

    def __getitem__(self, name: str) -> str:
        if name not in self._values:
            if name not in self._ids:
                raise KeyError(name)
            client = self._client()
            try:
                response = client.get_secret_value(SecretId=self._ids[name])
            except client.exceptions.ResourceNotFoundException:
                raise KeyError(name) from None  # declared by a stack, never given a value yet
            self._values[name] = response["SecretString"]
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**self._ids, **self._values})

    def __len__(self) -> int:
        return len({**self._ids, **self._values})

    def __repr__(self) -> str:
        return f"LazySecrets({sorted(self)})"  # names only, never values


def load_aws_settings(
    ssm: Any, secrets_client: Callable[[], Any], parameter: str, secret_ids: Mapping[str, str]
) -> Settings:
    """The same TOML as a workspace's backoffice.toml, kept in one SecureString parameter;
    each secret (name -> Secrets Manager id) is read from Secrets Manager when first needed."""
    text = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    settings = load_settings(text, parameter)
    return evolve(settings, secrets=LazySecrets(settings.secrets, secret_ids, secrets_client))
