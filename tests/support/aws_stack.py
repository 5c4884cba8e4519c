"""One system deployed on moto as its SAM template draws it: the environment the template sets,
the tables, buckets, parameter, secrets and the bus rule, with every AWS call checked against
the calling function's role. Both systems' end-to-end tests stand on it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from dynamo import create_tables, route_moves
from iam import ACCOUNT, Roles

from backoffice.handlers import wiring
from backoffice.services.system import System

ROOT = Path(__file__).parents[2]
TABLE_PREFIX = "prod-"


def bucket_names(system: System) -> dict[str, str]:
    """The template's logical bucket ids and the names the tests create them under."""
    stem = system.sheet.file.rsplit(".", 1)[0]
    return {
        f"{stem.capitalize()}Bucket": f"{system.prefix}-{stem}-source",
        "RulesBucket": f"{system.prefix}-rules-source",
        "SourcePdfsBucket": f"{system.prefix}-source-pdfs",
        "RenderCacheBucket": f"{system.prefix}-render-cache",
        "SchedulerInvokeRole": f"{system.prefix}-scheduler",
        "TextractPublishRole": "textract",
    }


def environment(system: System, region: str, extra: Mapping[str, str]) -> dict[str, str]:
    """What the template sets for every function (the parts these tests need)."""
    names = bucket_names(system)
    p = system.prefix
    return {
        wiring.var(system, "RULES_BUCKET"): names["RulesBucket"],
        wiring.sheet_bucket_variable(system): names[next(iter(names))],
        wiring.var(system, "RENDER_CACHE_BUCKET"): names["RenderCacheBucket"],
        wiring.var(
            system, "DISPATCH_ARN"
        ): f"arn:aws:lambda:{region}:{ACCOUNT}:function:{p}-dispatch",
        wiring.var(system, "SCHEDULER_ROLE_ARN"): f"arn:aws:iam::{ACCOUNT}:role/{p}-scheduler",
        wiring.var(system, "SCHEDULE_GROUP"): f"{p}-deferred",
        wiring.var(system, "CONFIG_PARAMETER"): f"/{p}/config/backoffice.toml",
        **{
            wiring.table_variable(system, s.name): TABLE_PREFIX + s.name for s in system.storage.all
        },
        **extra,
    }


def clear_caches() -> None:
    """Each test deploys afresh: nothing the wiring built for the last one is kept."""
    for cached in (wiring.system_ports, wiring.language_model, wiring.aws_client, wiring._session):
        clear = getattr(cached, "cache_clear", None)  # a test may have replaced the function
        if clear is not None:
            clear()


@contextmanager
def deployed(
    system: System,
    handlers: Any,
    monkeypatch: pytest.MonkeyPatch,
    *,
    region: str,
    sender: str,
    settings_text: str,
    documents: Mapping[str, bytes],
    secrets: Mapping[str, str],
    extra_environment: Mapping[str, str] = {},
) -> Iterator[dict[str, Any]]:
    """The stack, ready: yields the clients and the queue the moves rule delivers to."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        **environment(system, region, extra_environment),
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("BACKOFFICE_BACKEND", raising=False)
    names = bucket_names(system)
    template = ROOT / "deploy" / f"{system.name}.yaml"
    with mock_aws():
        clear_caches()
        roles = Roles(template, region, names, {"SenderEmail": sender}, TABLE_PREFIX)
        roles.record(wiring._session())
        roles.watch_handlers(handlers, monkeypatch)
        boto3.client("scheduler", region_name=region).create_schedule_group(
            Name=roles.schedule_group()
        )
        dynamodb = boto3.client("dynamodb", region_name=region)
        create_tables(dynamodb, system.storage.all, TABLE_PREFIX)
        s3 = _buckets(system, region, names, documents)
        if "RenderCacheBucket" in roles.template["Resources"]:  # unversioned, as declared
            s3.create_bucket(Bucket=names["RenderCacheBucket"], **_location(region))
        boto3.client("ssm", region_name=region).put_parameter(
            Name=f"/{system.prefix}/config/backoffice.toml",
            Value=settings_text,
            Type="SecureString",
        )
        secrets_manager = boto3.client("secretsmanager", region_name=region)
        for name, value in secrets.items():
            secrets_manager.create_secret(Name=name, SecretString=value)
        boto3.client("ses", region_name=region).verify_email_identity(EmailAddress=sender)
        sqs = boto3.client("sqs", region_name=region)
        queue = route_moves(boto3.client("events", region_name=region), sqs, *roles.moves_rule())
        yield {"queue": queue, "sqs": sqs, "s3": s3, "dynamodb": dynamodb, "roles": roles}
        clear_caches()
        refused = roles.refused()
        assert refused == [], f"calls the template's roles do not allow: {refused}"


def _buckets(
    system: System, region: str, names: Mapping[str, str], documents: Mapping[str, bytes]
) -> Any:
    """The versioned source buckets, holding the sheet's mirror (and the system's folders beside
    it, as the wiring routes them) and the rules and voice docs."""
    s3 = boto3.client("s3", region_name=region)
    sheet_bucket, rules_bucket = names[next(iter(names))], names["RulesBucket"]
    for bucket in (rules_bucket, sheet_bucket):
        s3.create_bucket(Bucket=bucket, **_location(region))
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    beside_sheet = tuple(f"{folder}/" for folder in system.folders)
    for key, body in documents.items():
        by_sheet = key == system.sheet.file or key.startswith(beside_sheet)
        s3.put_object(Bucket=sheet_bucket if by_sheet else rules_bucket, Key=key, Body=body)
    return s3


def _location(region: str) -> dict[str, Any]:
    if region == "us-east-1":
        return {}
    return {"CreateBucketConfiguration": {"LocationConstraint": region}}
