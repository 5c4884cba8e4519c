"""Every AWS call a handler makes on moto, checked against the role its SAM template gives that
function, with moto's own IAM policy evaluation: a permission missing from a template shows up
here instead of in the first real deploy."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from cfnlint.decode import decode
from moto.iam.access_control import IAMPolicy, PermissionResult

ACCOUNT = "123456789012"
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}


class Roles:
    """The template's functions and their role policies, with the stack's names filled in."""

    def __init__(
        self,
        template: Path,
        region: str,
        names: Mapping[str, str],
        parameters: Mapping[str, str],
        table_prefix: str = "",
        imports: Mapping[str, str] = {},
    ) -> None:
        self.template, problems = decode(str(template))
        assert not problems, problems
        self.region = region
        self.names = dict(names)  # logical id -> physical name, for tables and buckets
        self.parameters = dict(parameters)
        self.table_prefix = table_prefix  # the tests create the template's tables under it
        self.imports = dict(imports)  # export name -> value, for a stack importing another's
        self.calls: list[tuple[str, str, str, dict[str, str]]] = []
        self._function: str | None = None

    def moves_rule(self) -> tuple[str, str, list[str]]:
        """The bus rule that feeds dispatch: its name, event source and detail types, so the
        tests route exactly what the deployed rule would."""
        rule = self.template["Resources"]["MovesRule"]["Properties"]
        pattern = rule["EventPattern"]
        return rule["Name"], pattern["source"][0], list(pattern["detail-type"])

    def schedule_group(self) -> str:
        return str(self.template["Resources"]["OneOffGroup"]["Properties"]["Name"])

    def functions(self) -> list[str]:
        return [
            logical
            for logical, resource in self.template["Resources"].items()
            if isinstance(resource, Mapping) and resource["Type"] == "AWS::Serverless::Function"
        ]

    def queues(self) -> dict[str, dict[str, Any]]:
        """The SQS queues by logical id, their properties resolved (a RedrivePolicy names its
        dead-letter queue's ARN)."""
        return {
            logical: self._resolve(resource.get("Properties", {}))
            for logical, resource in self.template["Resources"].items()
            if isinstance(resource, Mapping) and resource["Type"] == "AWS::SQS::Queue"
        }

    def environment(self, function: str) -> dict[str, str]:
        """The variables the template sets for the function: the Globals', then its own."""
        found: dict[str, Any] = {}
        for properties in (
            self.template.get("Globals", {}).get("Function", {}),
            self.template["Resources"][function]["Properties"],
        ):
            found.update(properties.get("Environment", {}).get("Variables", {}))
        return {name: str(self._resolve(value)) for name, value in found.items()}

    def exports(self) -> dict[str, str]:
        """What the template's outputs export, for a stack that imports them."""
        return {
            str(self._resolve(output["Export"]["Name"])): str(self._resolve(output["Value"]))
            for output in self.template.get("Outputs", {}).values()
            if "Export" in output
        }

    def record(self, session: Any) -> None:
        """Watch every client the session makes (the wiring's one session)."""
        session.register("before-parameter-build", self._before_call)

    def watch_handlers(
        self,
        module: Any,
        monkeypatch: Any,
        enter: Callable[[str], AbstractContextManager[object]] | None = None,
    ) -> None:
        """Run each of the module's Lambda entry points as the template's function for it,
        inside `enter(function)` when given (its execution environment)."""
        for logical in self.functions():
            handler = self.template["Resources"][logical]["Properties"]["Handler"]
            path, _, name = handler.rpartition(".")
            if path == module.__name__:
                monkeypatch.setattr(module, name, self._as(logical, getattr(module, name), enter))

    def _as(
        self,
        function: str,
        handler: Any,
        enter: Callable[[str], AbstractContextManager[object]] | None,
    ) -> Any:
        def run(event: Any, context: Any = None) -> Any:
            with self.acting_as(function), enter(function) if enter else nullcontext():
                return handler(event, context)

        return run

    @contextmanager
    def acting_as(self, function: str) -> Iterator[None]:
        self._function = function
        try:
            yield
        finally:
            self._function = None

    def refused(self) -> list[str]:
        """Each call its function's role does not allow, as 'Function: action on resource'."""
        out = []
        for function, action, resource, conditions in self.calls:
            policies = [IAMPolicy(json.dumps(doc)) for doc in self._policies(function)]
            results = [p.is_action_permitted(action, resource, None, conditions) for p in policies]
            if PermissionResult.PERMITTED not in results or PermissionResult.DENIED in results:
                out.append(f"{function}: {action} on {resource}")
        return sorted(set(out))

    def _before_call(self, model: Any, params: Mapping[str, Any], **_: Any) -> None:
        if self._function is None:
            return
        for action, resource, conditions in self._requests(model, params):
            self.calls.append((self._function, action, resource, conditions))

    def _requests(
        self, model: Any, params: Mapping[str, Any]
    ) -> list[tuple[str, str, dict[str, str]]]:
        service = model.service_model.signing_name
        operation = model.name
        arn = f"arn:aws:{{}}:{self.region}:{ACCOUNT}:{{}}".format
        if service == "dynamodb":
            if operation in ("TransactWriteItems", "TransactGetItems"):
                # Authorised per item, as the item's own operation on its table (AWS's "Using
                # IAM with DynamoDB transactions"): a Put is dynamodb:PutItem.
                return [
                    (
                        f"dynamodb:{TRANSACT_ACTIONS[kind]}",
                        arn("dynamodb", f"table/{request['TableName']}"),
                        {},
                    )
                    for item in params["TransactItems"]
                    for kind, request in item.items()
                ]
            tables = params.get("RequestItems") or {params.get("TableName"): None}
            return [(f"dynamodb:{operation}", arn("dynamodb", f"table/{t}"), {}) for t in tables]
        if service == "s3":
            action = {"HeadObject": "GetObject"}.get(operation, operation)
            return [(f"s3:{action}", f"arn:aws:s3:::{params['Bucket']}/{params['Key']}", {})]
        if service == "ses":
            source = params.get("Source", "")
            domain = source.rpartition("@")[2]
            sending = {"ses:FromAddress": source}
            resources = [arn("ses", f"identity/{domain}")]
            if params.get("ConfigurationSetName"):  # IAM checks the set as a second resource
                resources.append(arn("ses", f"configuration-set/{params['ConfigurationSetName']}"))
            return [(f"ses:{operation}", resource, sending) for resource in resources]
        if service == "events":
            bus = next((e.get("EventBusName") for e in params.get("Entries", [])), "default")
            return [(f"events:{operation}", arn("events", f"event-bus/{bus or 'default'}"), {})]
        if service == "scheduler":
            schedule = arn("scheduler", f"schedule/{params['GroupName']}/{params['Name']}")
            role = params.get("Target", {}).get("RoleArn")
            calls = [(f"scheduler:{operation}", schedule, {})]
            return calls + ([("iam:PassRole", role, {})] if role else [])
        if service == "ssm":
            return [(f"ssm:{operation}", arn("ssm", f"parameter/{params['Name'].lstrip('/')}"), {})]
        if service == "sqs":
            # A batch is authorised as its one-message action (SendMessageBatch: sqs:SendMessage),
            # on the queue its URL names.
            queue = params.get("QueueName") or str(params.get("QueueUrl", "*")).rsplit("/", 1)[-1]
            resource = arn("sqs", queue) if queue != "*" else "*"
            return [(f"sqs:{operation.removesuffix('Batch')}", resource, {})]
        if service == "secretsmanager":
            secret = str(params["SecretId"])  # a name, or the ARN a template's Ref gives
            if not secret.startswith("arn:"):
                secret = arn("secretsmanager", f"secret:{secret}-AbCdEf")
            return [(f"secretsmanager:{operation}", secret, {})]
        if service == "bedrock":
            return [
                (
                    "bedrock:InvokeModel",
                    arn("bedrock", f"inference-profile/{params['modelId']}"),
                    {},
                )
            ]
        if service == "textract" and operation == "StartDocumentTextDetection":
            topic = params.get("NotificationChannel", {}).get("RoleArn")
            return [(f"textract:{operation}", "*", {})] + (
                [("iam:PassRole", topic, {})] if topic else []
            )
        return [(f"{service}:{operation}", params.get("TopicArn") or "*", {})]

    def _policies(self, function: str) -> list[Any]:
        properties = self.template["Resources"][function]["Properties"]
        role = self.template["Resources"][properties["Role"]["Fn::GetAtt"][0]]
        return [self._resolve(p["PolicyDocument"]) for p in role["Properties"]["Policies"]]

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self._resolve(v) for v in value]
        if not isinstance(value, Mapping):
            return value
        if "Ref" in value:
            return self._ref(value["Ref"])
        if "Fn::GetAtt" in value:
            return self._arn(value["Fn::GetAtt"][0])
        if "Fn::Sub" in value:
            return self._sub(value["Fn::Sub"])
        if "Fn::ImportValue" in value:
            return self.imports[self._resolve(value["Fn::ImportValue"])]
        return {k: self._resolve(v) for k, v in value.items()}

    def _sub(self, text: str) -> str:
        pseudo = {"AWS::Region": self.region, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"}
        while "${" in text:
            start = text.index("${")
            end = text.index("}", start)
            name = text[start + 2 : end]
            if name in pseudo:
                value = pseudo[name]
            elif name.endswith(".Arn"):
                value = self._arn(name.removesuffix(".Arn"))
            else:
                value = self._ref(name)
            text = text[:start] + value + text[end + 1 :]
        return text

    def _ref(self, name: str) -> str:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template.get("Parameters", {}):
            return str(self.template["Parameters"][name].get("Default", ""))
        resource = self.template["Resources"][name]
        props = resource.get("Properties", {})
        if resource["Type"] in ("AWS::SNS::Topic", "AWS::SecretsManager::Secret"):
            return self._arn(name)
        if resource["Type"] == "AWS::SQS::Queue":  # a queue's Ref is its URL
            url = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{props['QueueName']}"
            return self.names.get(name, url)
        if "BucketName" in props:
            return str(self._resolve(props["BucketName"]))
        if "TableName" in props:
            return self.names.get(name, self.table_prefix + props["TableName"])
        return self.names.get(name, name)

    def _arn(self, name: str) -> str:
        resource = self.template["Resources"][name]
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            return f"arn:aws:dynamodb:{self.region}:{ACCOUNT}:table/{self._ref(name)}"
        if kind == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{self._ref(name)}"
        if kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{ACCOUNT}:role/{self.names.get(name, name)}"
        if kind == "AWS::SNS::Topic":
            return f"arn:aws:sns:{self.region}:{ACCOUNT}:{props.get('TopicName', name)}"
        if kind == "AWS::SQS::Queue":
            return f"arn:aws:sqs:{self.region}:{ACCOUNT}:{props['QueueName']}"
        if kind == "AWS::SecretsManager::Secret":  # its ARN ends in a suffix AWS chooses
            default = (
                f"arn:aws:secretsmanager:{self.region}:{ACCOUNT}:secret:{props['Name']}-AbCdEf"
            )
            return self.names.get(name, default)
        if kind == "AWS::Logs::LogGroup":
            return f"arn:aws:logs:{self.region}:{ACCOUNT}:log-group:{props['LogGroupName']}:*"
        return f"arn:aws:{kind.split('::')[1].lower()}:{self.region}:{ACCOUNT}:{name}"
