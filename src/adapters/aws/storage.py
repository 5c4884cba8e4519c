"""Blobs on S3: the registry mirror and the rules and voice docs, in versioned buckets."""

from __future__ import annotations

from typing import Any

from backoffice.ports import Blob


class S3Blobs:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def get(self, key: str) -> Blob | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)
        except self.client.exceptions.NoSuchKey:
            return None
        body = response["Body"].read()
        return Blob(body, _version(response))

    def put(self, key: str, body: bytes) -> str:
        response = self.client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=body)
        return _version(response)


def _version(response: dict[str, Any]) -> str:
    """The object version where the bucket keeps versions, else its ETag."""
    version = response.get("VersionId")
    if version and version != "null":
        return str(version)
    return str(response["ETag"]).strip('"')
