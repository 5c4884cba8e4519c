"""One system deployed on moto as its SAM template draws it: the environment the template sets,
the tables, buckets, parameter, secrets, queues and the bus rule, with every AWS call checked
against the calling function's role, in its own stack's template (a system's other stacks are
deploy/stacks/<system>-*.yaml). Every system's end-to-end tests stand on it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from dynamo import create_tables, index_keys_checked, route_moves
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
    """The stack, ready: yields the clients, the queue the moves rule delivers to (when the
    template has the rule), the template's own SQS queues by logical id (`queues`), and the
    Roles of the system's other stacks by file stem (`stacks`)."""
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
        session = wiring._session()
        roles.record(session)
        index_keys_checked(session, roles.template, TABLE_PREFIX)
        environments = _Environments()
        roles.watch_handlers(handlers, monkeypatch, environments.of(roles, own=False))
        resources = roles.template["Resources"]
        if "OneOffGroup" in resources:
            boto3.client("scheduler", region_name=region).create_schedule_group(
                Name=roles.schedule_group()
            )
        dynamodb = boto3.client("dynamodb", region_name=region)
        create_tables(dynamodb, system.storage.all, TABLE_PREFIX)
        s3 = _buckets(system, region, names, documents)
        if "RenderCacheBucket" in resources:  # unversioned, as declared
            s3.create_bucket(Bucket=names["RenderCacheBucket"], **_location(region))
        boto3.client("ssm", region_name=region).put_parameter(
            Name=f"/{system.prefix}/config/backoffice.toml",
            Value=settings_text,
            Type="SecureString",
        )
        secrets_manager = boto3.client("secretsmanager", region_name=region)
        arns = {
            name: secrets_manager.create_secret(Name=name, SecretString=value)["ARN"]
            for name, value in secrets.items()
        }
        boto3.client("ses", region_name=region).verify_email_identity(EmailAddress=sender)
        sqs = boto3.client("sqs", region_name=region)
        queue = None
        if "MovesRule" in resources:
            events = boto3.client("events", region_name=region)
            queue = route_moves(events, sqs, *roles.moves_rule())
        queues = _queues(sqs, roles, monkeypatch)
        stacks = {}
        for path in sorted((ROOT / "deploy" / "stacks").glob(f"{system.name}-*.yaml")):
            other = Roles(path, region, names, {}, TABLE_PREFIX, imports=roles.exports())
            if other.functions():
                _name_secrets(other, arns)
                other.record(session)
                other.watch_handlers(handlers, monkeypatch, environments.of(other, own=True))
                stacks[path.stem] = other
        yield {
            "queue": queue,
            "queues": queues,
            "sqs": sqs,
            "s3": s3,
            "dynamodb": dynamodb,
            "roles": roles,
            "stacks": stacks,
        }
        clear_caches()
        refused = sorted(r for each in (roles, *stacks.values()) for r in each.refused())
        assert refused == [], f"calls the templates' roles do not allow: {refused}"


class _Environments:
    """Each function in an execution environment of its own, as Lambda runs it: its ports and
    settings are built afresh when another function runs (so each function's own calls for the
    settings and secrets are checked), and a second stack's functions run with the variables
    their template sets (the main stack's are `environment`'s, set for the whole test)."""

    def __init__(self) -> None:
        self.current: tuple[int, str] | None = None

    def of(self, roles: Roles, own: bool) -> Callable[[str], AbstractContextManager[object]]:
        @contextmanager
        def entered(function: str) -> Iterator[None]:
            if self.current != (id(roles), function):
                self.current = (id(roles), function)
                for cached in (wiring.system_ports, wiring.language_model):
                    clear = getattr(cached, "cache_clear", None)  # a test may replace them
                    if clear is not None:
                        clear()
            variables = roles.environment(function) if own else {}
            saved = {name: os.environ.get(name) for name in variables}
            os.environ.update(variables)
            try:
                yield
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value

        return entered


def _queues(sqs: Any, roles: Roles, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The template's SQS queues as declared (a redrive policy to its dead-letter queue), by
    logical id, and the Globals' variables that name one (a queue's Ref is its URL)."""
    declared = roles.queues()
    urls = {}
    for logical, properties in declared.items():
        attributes = {
            key: str(properties[key])
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds")
            if key in properties
        }
        created = sqs.create_queue(QueueName=properties["QueueName"], Attributes=attributes)
        urls[logical] = str(created["QueueUrl"])
    for logical, properties in declared.items():  # every dead-letter queue exists by now
        if "RedrivePolicy" in properties:
            policy = json.dumps(properties["RedrivePolicy"])
            sqs.set_queue_attributes(QueueUrl=urls[logical], Attributes={"RedrivePolicy": policy})
    roles.names.update(urls)
    variables = roles.template.get("Globals", {}).get("Function", {}).get("Environment", {})
    for name, value in variables.get("Variables", {}).items():
        if isinstance(value, Mapping) and value.get("Ref") in urls:
            monkeypatch.setenv(name, urls[value["Ref"]])
    return urls


def _name_secrets(roles: Roles, arns: Mapping[str, str]) -> None:
    """A stack's secrets are the ones the test created under their names: a Ref to one is the
    ARN Secrets Manager gave it."""
    for logical, resource in roles.template["Resources"].items():
        if isinstance(resource, Mapping) and resource["Type"] == "AWS::SecretsManager::Secret":
            name = resource["Properties"]["Name"]
            if name in arns:
                roles.names[logical] = arns[name]


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
