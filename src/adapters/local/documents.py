"""Text from forwarded files on this machine: email with the stdlib's parser, PDF with pypdf,
DOCX with python-docx, XLSX with openpyxl (the `intake` extra)."""

from __future__ import annotations

import email
import email.policy
import email.utils
import io
from collections.abc import Callable
from email.message import EmailMessage, MIMEPart
from html.parser import HTMLParser

from backoffice.ports import Extracted

TEXT_SUFFIXES = (".txt", ".csv", ".md", ".text")


PdfHook = Callable[[str, bytes], str]


class LocalDocuments:
    """`pdf` replaces the PDF reader: in AWS it hands each PDF to Textract instead."""

    def __init__(self, pdf: PdfHook | None = None) -> None:
        self.pdf = pdf

    def extract(self, name: str, body: bytes) -> Extracted:
        lowered = name.lower()
        if lowered.endswith(".eml"):
            message = email.message_from_bytes(body, policy=email.policy.default)
            return _email(message, self.pdf)
        text, problem = _file_text(name, body, self.pdf)
        return Extracted("", "", text, (problem,) if problem else ())


def _email(message: EmailMessage, pdf: PdfHook | None) -> Extracted:
    parts: list[str] = []
    unreadable: list[str] = []
    _collect(message, parts, unreadable, pdf)
    sender = email.utils.parseaddr(str(message.get("From", "")))[1]
    return Extracted(
        str(message.get("Subject", "")),
        sender,
        "\n\n".join(p for p in parts if p),
        tuple(unreadable),
    )


def _collect(
    message: EmailMessage, parts: list[str], unreadable: list[str], pdf: PdfHook | None
) -> None:
    # Both renderings of an alternative: senders do not always put the same facts in each.
    for kind in ("plain", "html"):
        body = message.get_body(preferencelist=(kind,))
        if body is not None:
            parts.append(_part_text(body, unreadable))
    for part in message.iter_attachments():
        attachment = part
        if attachment.get_content_type() == "message/rfc822":
            inner = attachment.get_content()
            _collect(inner, parts, unreadable, pdf)  # a forwarded message: its text counts too
            continue
        name = attachment.get_filename() or attachment.get_content_type()
        if attachment.get_content_maintype() == "text":
            parts.append(_part_text(attachment, unreadable))
            continue
        payload = attachment.get_payload(decode=True)
        text, problem = _file_text(name, payload if isinstance(payload, bytes) else b"", pdf)
        parts.append(text)
        if problem:
            unreadable.append(problem)


def _part_text(part: MIMEPart, unreadable: list[str]) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeDecodeError):
        raw = part.get_payload(decode=True)
        content = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""
        unreadable.append(f"{part.get_filename() or 'a text part'}: unknown character set")
    text = str(content)
    return _html_text(text) if part.get_content_subtype() == "html" else text


def _file_text(name: str, body: bytes, pdf: PdfHook | None) -> tuple[str, str | None]:
    lowered = name.lower()
    try:
        if (lowered.endswith(".pdf") or lowered == "application/pdf") and pdf is not None:
            return pdf(name, body), None
        if lowered.endswith(".pdf") or lowered == "application/pdf":
            from pypdf import PdfReader

            reader = PdfReader(io.BytesIO(body))
            return "\n".join(page.extract_text() or "" for page in reader.pages), None
        if lowered.endswith(".docx"):
            import docx

            document = docx.Document(io.BytesIO(body))
            return "\n".join(p.text for p in document.paragraphs), None
        if lowered.endswith(".xlsx"):
            from openpyxl import load_workbook

            book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
            rows = (
                " ".join(str(c) for c in row if c is not None)
                for sheet in book.worksheets
                for row in sheet.iter_rows(values_only=True)
            )
            return "\n".join(r for r in rows if r), None
        if lowered.endswith(TEXT_SUFFIXES):
            return body.decode("utf-8-sig", errors="replace"), None
    except ImportError:
        return "", f"{name}: install the intake extra (pip install 'backoffice[intake]') to read it"
    except Exception as error:
        return "", f"{name}: could not be read ({type(error).__name__})"
    return "", f"{name}: this kind of file is not read"


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in ("br", "p", "div", "tr", "li"):
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.chunks.append(data)


def _html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return "".join(parser.chunks)
