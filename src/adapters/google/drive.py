"""Drive: whether a file changed since it was mirrored, and its content as text."""

from __future__ import annotations

from typing import Any

from backoffice.adapters.google.errors import execute
from backoffice.ports import DriveFile


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

    def list_folder(self, folder_id: str) -> list[DriveFile]:
        files: list[DriveFile] = []
        page_token = None
        while True:
            request = self.files.list(
                q=f"'{folder_id}' in parents and trashed = false",
                fields="nextPageToken, files(id, name, mimeType, md5Checksum)",
                pageSize=1000,
                pageToken=page_token,
                supportsAllDrives=True,
                includeItemsFromAllDrives=True,
            )
            page = execute(request, "files.list", folder_id)
            files += [
                DriveFile(
                    str(f["id"]),
                    str(f.get("name", "")),
                    str(f.get("mimeType", "")),
                    str(f.get("md5Checksum", "")),
                )
                for f in page.get("files", [])
            ]
            page_token = page.get("nextPageToken")
            if not page_token:
                return files

    def download(self, file_id: str) -> bytes:
        body = execute(self.files.get_media(fileId=file_id), "files.get_media", file_id)
        return body if isinstance(body, bytes) else str(body).encode("utf-8")
