"""Settings from Parameter Store and secrets from Secrets Manager, read once per environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from attrs import evolve

from backoffice.core.settings import Settings, load_settings


def load_aws_settings(
    ssm: Any, secrets_client: Any, parameter: str, secret_ids: Mapping[str, str]
) -> Settings:
    """The same TOML as a workspace's backoffice.toml, kept in one SecureString parameter;
    each secret (name -> Secrets Manager id) joins the settings' secrets, never a log line."""
    text = ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    settings = load_settings(text, parameter)
    secrets = dict(settings.secrets)
    for name, secret_id in secret_ids.items():
        secrets[name] = secrets_client.get_secret_value(SecretId=secret_id)["SecretString"]
    return evolve(settings, secrets=secrets)
