"""Tables on DynamoDB: conditional puts for claims and nonces, batched reads and writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

from backoffice.ports import (
    Absent,
    AllOf,
    AnyOf,
    Before,
    Condition,
    ConditionFailed,
    Equals,
    Item,
    TableSchema,
    Write,
)

BATCH_WRITE = 25
TRANSACT_MOST = 25


class DynamoTables:
    """`names` maps each logical table name (e.g. "ew-pings") to the deployed table's name."""

    def __init__(
        self, client: Any, schemas: Iterable[TableSchema], names: Mapping[str, str] | None = None
    ) -> None:
        self.client = client
        self.schemas = {schema.name: schema for schema in schemas}
        self.names = dict(names or {})

    def _table(self, table: str) -> tuple[TableSchema, str]:
        if table not in self.schemas:
            raise KeyError(f"unknown table {table!r}; known: {', '.join(sorted(self.schemas))}")
        return self.schemas[table], self.names.get(table, table)

    def get(self, table: str, pk: str, sk: str) -> Item | None:
        schema, name = self._table(table)
        response = self.client.get_item(
            TableName=name,
            Key=_encode({schema.partition_key: pk, schema.sort_key: sk}),
            ConsistentRead=True,
        )
        return _decode(response["Item"]) if "Item" in response else None

    def put(self, table: str, item: Mapping[str, Any], condition: Condition | None = None) -> None:
        schema, name = self._table(table)
        try:
            self.client.put_item(**_put_request(schema, name, item, condition))
        except self.client.exceptions.ConditionalCheckFailedException:
            raise ConditionFailed(f"{table} {schema.key_of(item)}: condition not met") from None

    def transact(self, writes: Sequence[Write]) -> None:
        targets = self._distinct_targets(writes)
        if not writes:  # DynamoDB refuses an empty transaction; writing nothing is done
            return
        puts = [
            {"Put": _put_request(schema, name, write.item, write.condition)}
            for (schema, name), write in zip(targets, writes, strict=True)
        ]
        try:
            self.client.transact_write_items(TransactItems=puts)
        except self.client.exceptions.TransactionCanceledException as cancelled:
            if not _condition_failed(cancelled.response):
                raise
            tables = ", ".join(sorted({write.table for write in writes}))
            raise ConditionFailed(f"transaction on {tables}: condition not met") from None

    def _distinct_targets(self, writes: Sequence[Write]) -> list[tuple[TableSchema, str]]:
        if len(writes) > TRANSACT_MOST:
            raise ValueError(f"a transaction takes at most {TRANSACT_MOST} writes")
        targets = [self._table(write.table) for write in writes]
        items = {
            (name, schema.key_of(write.item))
            for (schema, name), write in zip(targets, writes, strict=True)
        }
        if len(items) < len(writes):
            raise ValueError("a transaction writes each item once")
        return targets

    def put_many(self, table: str, items: Iterable[Mapping[str, Any]]) -> None:
        schema, name = self._table(table)
        requests = []
        for item in items:
            schema.key_of(item)
            requests.append({"PutRequest": {"Item": _encode(item)}})
        self._batch_write(name, requests)

    def delete_many(self, table: str, keys: Iterable[tuple[str, str]]) -> None:
        schema, name = self._table(table)
        requests = [
            {"DeleteRequest": {"Key": _encode({schema.partition_key: pk, schema.sort_key: sk})}}
            for pk, sk in keys
        ]
        self._batch_write(name, requests)

    def _batch_write(self, name: str, requests: list[dict[str, Any]]) -> None:
        for start in range(0, len(requests), BATCH_WRITE):
            pending = {name: requests[start : start + BATCH_WRITE]}
            for _ in range(8):
                unprocessed = self.client.batch_write_item(RequestItems=pending)
                pending = unprocessed.get("UnprocessedItems") or {}
                if not pending:
                    break
            if pending:
                raise RuntimeError(
                    f"DynamoDB left {len(pending[name])} writes to {name} unprocessed"
                )

    def query(self, table: str, pk: str) -> list[Item]:
        schema, name = self._table(table)
        return self._pages(
            "query",
            TableName=name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": schema.partition_key},
            ExpressionAttributeValues=_encode({":pk": pk}),
            ConsistentRead=True,
        )

    def scan(self, table: str) -> list[Item]:
        schema, name = self._table(table)
        items = self._pages("scan", TableName=name, ConsistentRead=True)
        return sorted(items, key=lambda i: (str(i[schema.partition_key]), str(i[schema.sort_key])))

    def _pages(self, operation: str, **request: Any) -> list[Item]:
        paginator = self.client.get_paginator(operation)
        return [_decode(raw) for page in paginator.paginate(**request) for raw in page["Items"]]


def _put_request(
    schema: TableSchema, name: str, item: Mapping[str, Any], condition: Condition | None
) -> dict[str, Any]:
    """PutItem's parameters, which are also a transaction's Put."""
    schema.key_of(item)
    request: dict[str, Any] = {"TableName": name, "Item": _encode(item)}
    if condition is not None:
        expression = _Expression(schema)
        request["ConditionExpression"] = expression.render(condition)
        request["ExpressionAttributeNames"] = expression.names
        if expression.values:
            request["ExpressionAttributeValues"] = _encode(expression.values)
    return request


def _condition_failed(response: Mapping[str, Any]) -> bool:
    """A cancelled transaction names a reason per write; other reasons (a conflicting
    transaction, throttling) are not a verdict on the conditions."""
    reasons = response.get("CancellationReasons") or []
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


class _Expression:
    """A Condition as a DynamoDB ConditionExpression with placeholder names and values."""

    def __init__(self, schema: TableSchema) -> None:
        self.schema = schema
        self.names: dict[str, str] = {}
        self.values: dict[str, Any] = {}

    def _name(self, field: str) -> str:
        placeholder = f"#n{len(self.names)}"
        self.names[placeholder] = field
        return placeholder

    def _value(self, value: Any) -> str:
        placeholder = f":v{len(self.values)}"
        self.values[placeholder] = value
        return placeholder

    def render(self, condition: Condition) -> str:
        match condition:
            case Absent():
                return f"attribute_not_exists({self._name(self.schema.partition_key)})"
            case Equals(field, value):
                return f"{self._name(field)} = {self._value(value)}"
            case Before(field, value):
                return f"{self._name(field)} < {self._value(value)}"
            case AllOf(parts):
                return "(" + " AND ".join(self.render(part) for part in parts) + ")"
            case AnyOf(parts):
                return "(" + " OR ".join(self.render(part) for part in parts) + ")"
        raise TypeError(f"not a condition: {condition!r}")


# DynamoDB's number limits, as boto3's TypeSerializer enforces them: a number DynamoDB would
# round or refuse is refused here, before the call.
_NUMBERS = Context(
    Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
)


def _encode(item: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _attribute(value) for key, value in item.items()}


def _attribute(value: Any) -> dict[str, Any]:
    """A value as DynamoDB's typed JSON, by the rules of boto3's TypeSerializer (whose import
    would bring boto3 into every cold start for these few lines)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if _is_number(value):
        return {"N": _number(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bytes | bytearray):
        return {"B": value}
    if isinstance(value, AbstractSet):
        if all(_is_number(v) for v in value):
            return {"NS": [_number(v) for v in value]}
        if all(isinstance(v, str) for v in value):
            return {"SS": list(value)}
        if all(isinstance(v, bytes | bytearray) for v in value):
            return {"BS": list(value)}
    elif isinstance(value, Mapping):
        return {"M": {k: _attribute(v) for k, v in value.items()}}
    elif isinstance(value, list | tuple):
        return {"L": [_attribute(v) for v in value]}
    raise TypeError(f'Unsupported type "{type(value)}" for value "{value}"')


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        raise TypeError("Float types are not supported. Use Decimal types instead.")
    return isinstance(value, int | Decimal)


def _number(value: int | Decimal) -> str:
    number = str(_NUMBERS.create_decimal(value))
    if number in ("Infinity", "NaN"):
        raise TypeError("Infinity and NaN not supported")
    return number


def _decode(raw: Mapping[str, Any]) -> Item:
    return {key: _plain(value) for key, value in raw.items()}


def _plain(value: Mapping[str, Any]) -> Any:
    """A typed value back to Python's, as boto3's TypeDeserializer reads it, except that
    numbers come back as the ports speak them (int, or float for a fraction) and binary as
    bytes; sets are left as read (sets of numbers hold Decimals)."""
    if not value:
        raise TypeError("Value must be a nonempty dictionary whose key is a valid dynamodb type.")
    kind, data = next(iter(value.items()))
    if kind == "S":
        return data
    if kind == "N":
        number = _NUMBERS.create_decimal(data)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "M":
        return {k: _plain(v) for k, v in data.items()}
    if kind == "L":
        return [_plain(v) for v in data]
    if kind == "BOOL" or kind == "B":
        return data
    if kind == "NULL":
        return None
    if kind == "SS" or kind == "BS":
        return set(data)
    if kind == "NS":
        return {_NUMBERS.create_decimal(n) for n in data}
    raise TypeError(f"Dynamodb type {kind} is not supported")
