"""DynamoDB tables as the SAM templates declare them, and the moves rule read through a queue."""

from __future__ import annotations

from collections.abc import Iterable
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
