"""Blobs on S3: the registry mirror and the rules and voice docs, in versioned buckets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from backoffice.ports import Blob


class S3Blobs:
    """Keys live in `bucket` unless `routes` names another bucket for them (the registry mirror
    and the rules and voice docs sit in buckets of their own). A route ending in `/` takes
    every key under it (a post's images sit beside the posts sheet)."""

    def __init__(self, client: Any, bucket: str, routes: Mapping[str, str] | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self.routes = dict(routes or {})

    def get(self, key: str) -> Blob | None:
        try:
            response = self.client.get_object(Bucket=self._bucket(key), Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        body = response["Body"].read()
        return Blob(body, _version(response))

    def put(self, key: str, body: bytes) -> str:
        response = self.client.put_object(Bucket=self._bucket(key), Key=key, Body=body)
        return _version(response)

    def _bucket(self, key: str) -> str:
        if key in self.routes:
            return self.routes[key]
        folders = [r for r in self.routes if r.endswith("/") and key.startswith(r)]
        return self.routes[max(folders, key=len)] if folders else self.bucket


def _version(response: dict[str, Any]) -> str:
    """The object version where the bucket keeps versions, else its ETag."""
    version = response.get("VersionId")
    if version and version != "null":
        return str(version)
    return str(response["ETag"]).strip('"')
