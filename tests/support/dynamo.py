"""DynamoDB tables as the SAM templates declare them: string partition and sort keys."""

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
