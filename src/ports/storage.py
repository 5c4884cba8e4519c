"""Blobs (the mirrored sheet, rules and voice docs) and the owner's sheet itself."""

from __future__ import annotations

from typing import Protocol

from attrs import frozen


@frozen
class Blob:
    body: bytes
    version: str


class Blobs(Protocol):
    def get(self, key: str) -> Blob | None: ...

    def put(self, key: str, body: bytes) -> str:
        """Store the body and return its new version marker."""


class Sheet(Protocol):
    def read(self) -> list[list[str]]:
        """Every row, header first, as the owner sees them (ragged rows allowed)."""

    def update_cell(self, row_id: str, column: str, value: str) -> None:
        """Set one cell of the row whose first id column equals `row_id`; the value is RAW text."""

    def append(self, values: dict[str, str]) -> None: ...


@frozen
class DriveFile:
    file_id: str
    name: str
    mime_type: str
    checksum: str  # md5Checksum of a binary file; empty for native Docs and Sheets


class Drive(Protocol):
    def revision(self, file_id: str) -> str:
        """A marker that changes whenever the file's content changes."""

    def export_text(self, file_id: str) -> bytes:
        """The file's content as plain text (a Doc exported as text/plain)."""

    def list_folder(self, folder_id: str) -> list[DriveFile]:
        """Every file directly in the folder (not in the trash)."""

    def download(self, file_id: str) -> bytes:
        """A binary file's bytes."""


@frozen
class Extracted:
    """What a forwarded file says: its subject and sender when it is an email, its text, and
    the parts that could not be read."""

    subject: str
    sender: str
    text: str
    unreadable: tuple[str, ...] = ()


class Documents(Protocol):
    def extract(self, name: str, body: bytes) -> Extracted:
        """Text from an email (.eml, with its attachments), PDF, DOCX, XLSX or plain text."""


class PdfText(Protocol):
    """Reading scanned or multi-page PDFs takes a while: start a job now, read it when told."""

    def start(self, name: str, body: bytes, folder: str) -> str:
        """Store the PDF under `folder` and start reading it; returns the job id."""

    def text(self, job_id: str) -> str:
        """Every line the finished job read, in page order; raises if the job failed."""
