"""Every adapter of a port, built fresh for each test. The contract suites run against all of
them, so a fake cannot drift from the embedded backend or from AWS (moto, in process)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

import pytest
from dynamo import create_tables

from backoffice.adapters.csv_sheet import CsvSheet
from backoffice.adapters.fake import FakeBlobs, FakeScheduler, FakeSheet, FakeTables
from backoffice.adapters.local.scheduling import LocalScheduler
from backoffice.adapters.local.storage import FolderBlobs
from backoffice.adapters.local.tables import SqliteTables
from backoffice.ports import TableSchema

SCHEMAS = (TableSchema("ew-pings", "item_id", "chain_index"), TableSchema("t2", "p", "s"))
SHEET = [
    ["Item ID", "Name", "Expires On", "Notes"],
    ["A", "Licence", "2026-12-01", "x"],
    ["B", "Lease"],
    ["C", "Permit", "2027-01-01", "=1+1", "extra"],
]
REGION = "us-east-1"

Factory = Callable[[Path], AbstractContextManager[Any]]


@contextmanager
def aws() -> Iterator[None]:
    """moto in process, with credentials that can never reach a real account."""
    import os

    from moto import mock_aws

    saved = {
        k: os.environ.get(k)
        for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
    }
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION=REGION
    )
    try:
        with mock_aws():
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def dynamo_tables(tmp: Path) -> Iterator[Any]:
    import boto3

    from backoffice.adapters.aws.tables import DynamoTables

    with aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_tables(client, SCHEMAS, "deployed-")
        yield DynamoTables(client, SCHEMAS, {s.name: f"deployed-{s.name}" for s in SCHEMAS})


@contextmanager
def s3_blobs(tmp: Path) -> Iterator[Any]:
    import boto3

    from backoffice.adapters.aws.storage import S3Blobs

    with aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="ew-rules-source")
        client.put_bucket_versioning(
            Bucket="ew-rules-source", VersioningConfiguration={"Status": "Enabled"}
        )
        yield S3Blobs(client, "ew-rules-source")


@contextmanager
def eventbridge_scheduler(tmp: Path) -> Iterator[Any]:
    import boto3

    from backoffice.adapters.aws.scheduling import EventBridgeScheduler

    with aws():
        client = boto3.client("scheduler", region_name=REGION)
        yield RecordingScheduler(
            EventBridgeScheduler(
                client,
                "default",
                "arn:aws:lambda:us-east-1:123456789012:function:ew-dispatch",
                "arn:aws:iam::123456789012:role/ew-scheduler",
                "America/New_York",
            )
        )


class RecordingScheduler:
    """EventBridge Scheduler fires by itself; the contract's `due` reads what it holds."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def book(self, *args: Any) -> None:
        self.inner.book(*args)

    def cancel(self, name: str) -> None:
        self.inner.cancel(name)

    @property
    def booked(self) -> dict[str, Any]:
        from backoffice.adapters.aws.scheduling import booked

        return booked(self.inner)

    def due(self, now: Any) -> list[tuple[str, dict[str, Any]]]:
        ready = sorted((at, name) for name, (at, _) in self.booked.items() if at <= now)
        out = []
        for _, name in ready:
            payload = self.booked[name][1]
            self.inner.cancel(name)
            out.append((name, payload))
        return out


def _sheet_text() -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(SHEET)
    return out.getvalue().encode()


def _csv_sheet(tmp: Path) -> CsvSheet:
    (tmp / "registry.csv").write_bytes(_sheet_text())
    return CsvSheet(FolderBlobs(tmp), "registry.csv")


@contextmanager
def s3_sheet(tmp: Path) -> Iterator[Any]:
    with s3_blobs(tmp) as blobs:
        blobs.put("registry.csv", _sheet_text())
        yield CsvSheet(blobs, "registry.csv")


def _plain(build: Callable[[Path], Any]) -> Factory:
    return lambda tmp: nullcontext(build(tmp))


TABLES: dict[str, Factory] = {
    "fake": _plain(lambda tmp: FakeTables(SCHEMAS)),
    "local": _plain(lambda tmp: SqliteTables(tmp / "state.db", SCHEMAS)),
    "aws": dynamo_tables,
}
BLOBS: dict[str, Factory] = {
    "fake": _plain(lambda tmp: FakeBlobs()),
    "local": _plain(FolderBlobs),
    "aws": s3_blobs,
}
SHEETS: dict[str, Factory] = {
    "fake": _plain(lambda tmp: FakeSheet([list(row) for row in SHEET])),
    "local": _plain(_csv_sheet),
    "aws": s3_sheet,
}
SCHEDULERS: dict[str, Factory] = {
    "fake": _plain(lambda tmp: FakeScheduler()),
    "local": _plain(lambda tmp: LocalScheduler(tmp / "state.db")),
    "aws": eventbridge_scheduler,
}


def _fixture(factories: dict[str, Factory]) -> Any:
    @pytest.fixture(params=sorted(factories))
    def build(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
        with factories[request.param](tmp_path) as adapter:
            yield adapter
            close = getattr(adapter, "close", None)
            if close:
                close()

    return build


tables = _fixture(TABLES)
blobs = _fixture(BLOBS)
sheet = _fixture(SHEETS)
scheduler = _fixture(SCHEDULERS)
