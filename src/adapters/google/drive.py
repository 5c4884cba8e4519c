"""Drive: whether a file changed since it was mirrored, and its content as text."""

from __future__ import annotations

from typing import Any

from backoffice.adapters.google.errors import execute


class GoogleDrive:
    def __init__(self, service: Any) -> None:
        self.files = service.files()

    def revision(self, file_id: str) -> str:
        """Native Sheets and Docs have no md5Checksum; their `version` rises with every edit."""
        request = self.files.get(
            fileId=file_id, fields="version,modifiedTime", supportsAllDrives=True
        )
        response = execute(request, "files.get", file_id)
        return f"{response['version']}@{response.get('modifiedTime', '')}"

    def export_text(self, file_id: str) -> bytes:
        """A Google Doc as plain text (the rules and voice docs)."""
        request = self.files.export(fileId=file_id, mimeType="text/plain")
        body = execute(request, "files.export", file_id)
        return body if isinstance(body, bytes) else str(body).encode("utf-8")
