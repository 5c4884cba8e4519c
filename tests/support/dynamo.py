"""DynamoDB tables as the SAM templates declare them, and the moves rule read through a queue."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from backoffice.ports import TableSchema


def create_tables(client: Any, schemas: Iterable[TableSchema], prefix: str) -> None:
    for schema in schemas:
        client.create_table(
            TableName=f"{prefix}{schema.name}",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": schema.partition_key, "KeyType": "HASH"},
                {"AttributeName": schema.sort_key, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": schema.partition_key, "AttributeType": "S"},
                {"AttributeName": schema.sort_key, "AttributeType": "S"},
            ],
        )


def index_keys_checked(session: Any, template: Mapping[str, Any], prefix: str) -> None:
    """DynamoDB refuses an item that gives a key attribute of one of the table's secondary
    indexes another type than the index declares (None, a NULL, too): a PutItem with a
    ValidationException, a transaction's Put by cancelling the transaction with a
    ValidationError reason. moto checks neither a transaction nor an index it was not given, so
    every Put the session sends is checked against the indexes the template declares."""
    declared = _index_keys(template, prefix)

    def check(model: Any, params: Mapping[str, Any], **_: Any) -> Any:
        if model.name not in ("PutItem", "TransactWriteItems"):
            return None
        body = json.loads(params.get("body") or b"{}")
        puts = [body] if model.name == "PutItem" else [i.get("Put") for i in body["TransactItems"]]
        problems = [_mismatch(put, declared) if put else "" for put in puts]
        if not any(problems):
            return None
        if model.name == "PutItem":
            return _refused({"Error": {"Code": "ValidationException", "Message": problems[0]}})
        reasons = [
            {"Code": "ValidationError", "Message": p} if p else {"Code": "None"} for p in problems
        ]
        codes = ", ".join(r["Code"] for r in reasons)
        return _refused(
            {
                "Error": {
                    "Code": "TransactionCanceledException",
                    "Message": f"Transaction cancelled, please refer cancellation reasons for "
                    f"specific reasons [{codes}]",
                },
                "CancellationReasons": reasons,
            }
        )

    session.register("before-call.dynamodb", check)


def _index_keys(template: Mapping[str, Any], prefix: str) -> dict[str, list[tuple[str, str, str]]]:
    """Each table's (index, key attribute, its declared type), by the name the tests give it."""
    found: dict[str, list[tuple[str, str, str]]] = {}
    for resource in template["Resources"].values():
        if not isinstance(resource, Mapping) or resource["Type"] != "AWS::DynamoDB::Table":
            continue
        properties = resource["Properties"]
        types = {a["AttributeName"]: a["AttributeType"] for a in properties["AttributeDefinitions"]}
        indexes = [
            *properties.get("GlobalSecondaryIndexes", []),
            *properties.get("LocalSecondaryIndexes", []),
        ]
        found[prefix + properties["TableName"]] = [
            (index["IndexName"], key["AttributeName"], types[key["AttributeName"]])
            for index in indexes
            for key in index["KeySchema"]
        ]
    return found


def _mismatch(put: Mapping[str, Any], declared: Mapping[str, list[tuple[str, str, str]]]) -> str:
    for index, attribute, expected in declared.get(put["TableName"], []):
        value = put["Item"].get(attribute)
        actual = next(iter(value)) if value else expected  # an absent key: the index skips it
        if actual != expected:
            return (
                f"One or more parameter values were invalid: Type mismatch for Index Key "
                f"{attribute} Expected: {expected} Actual: {actual} IndexName: {index}"
            )
    return ""


def _refused(parsed: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    from botocore.awsrequest import AWSResponse

    metadata = {"HTTPStatusCode": 400, "HTTPHeaders": {}, "RetryAttempts": 0}
    return AWSResponse("https://dynamodb.invalid", 400, {}, None), {
        **parsed,
        "ResponseMetadata": metadata,
    }


def route_moves(events: Any, sqs: Any, rule: str, source: str, detail_types: list[str]) -> str:
    """The moves rule as the template declares it, delivering to a queue the test reads
    (instead of the dispatch function). Returns the queue's URL."""
    import json

    queue = sqs.create_queue(QueueName=f"{rule}-dispatch")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": [source], "detail-type": detail_types}
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "dispatch", "Arn": arn}])
    return str(queue)


def drain(sqs: Any, queue: str) -> list[dict[str, Any]]:
    """The events the bus rule delivered, as the dispatch function receives them."""
    import json

    out = []
    while batch := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            out.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return out
