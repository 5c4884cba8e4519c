"""Email messages as RFC 5322 bytes, the same for the outbox, SES SendRawEmail and SMTP.

The message's links are shown twice: as lines under the text, and as buttons in an HTML
alternative rendered from a template (Jinja2, autoescaped: sheet text is data, never markup).

Messages are built with the standard library's modern API (`EmailMessage`, the content manager,
the default policy), with what every message shares made once per process instead of once per
message: the header classes, the parsed and folded forms of the headers that repeat (content
types, encodings, the sender), and the multipart boundary. A tick that delivers thousands of
messages would otherwise spend most of its time re-parsing the same few header values.
"""

from __future__ import annotations

import secrets
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate
from functools import cache, lru_cache
from typing import Any

from backoffice.core.text import one_line, printable
from backoffice.ports import Email

LINKS_INTRO = "Answer with one click (you will be asked to confirm):"


def email_text(email: Email) -> str:
    """The plain-text body: the text, then one line per answer link."""
    if not email.links:
        return printable(email.text)
    links = [f"  {one_line(link.label)}: {one_line(link.url)}" for link in email.links]
    return "\n".join([printable(email.text), "", LINKS_INTRO, *links]) + "\n"


def email_html(email: Email) -> str:
    paragraphs = [block.split("\n") for block in printable(email.text).split("\n\n") if block]
    return str(_template().render(paragraphs=paragraphs, links=email.links))


@cache
def _template() -> Any:
    from jinja2 import Environment, PackageLoader, select_autoescape

    environment = Environment(
        loader=PackageLoader("backoffice.adapters", "templates"),
        autoescape=select_autoescape(default=True),
    )
    return environment.get_template("email.html")


def build_email(sender: str, email: Email, message_id: str) -> bytes:
    """RFC 5322 bytes: a text part and, when the message has links, an HTML alternative; the
    attachments, if any, after them."""
    text = email_text(email)
    html = email_html(email) if email.links else ""
    message = EmailMessage(policy=POLICY)
    _address_headers(message, sender, email, message_id)
    message.set_content(text, cte=_transfer_encoding(text))
    if html:
        message.add_alternative(html, subtype="html", cte=_transfer_encoding(html))
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        name = one_line(attachment.filename) or "attachment"
        message.add_attachment(
            attachment.body, maintype=maintype, subtype=subtype or "octet-stream", filename=name
        )
    if message.is_multipart():
        message.set_boundary(_boundary(text, html))
        for part in message.iter_parts():
            if part.is_multipart():
                part.set_boundary(_boundary(text, html, nested=True))
    return message.as_bytes()


def _transfer_encoding(text: str) -> str:
    """ASCII goes as it is (7bit) while its lines fit SMTP's 998 characters; the content
    manager itself would switch to quoted-printable (in Python, slow) past 78, which every
    message with a signed link passes. Anything else goes as base64, encoded in C."""
    if text.isascii() and max(map(len, text.splitlines()), default=0) <= _SMTP_LINE:
        return "7bit"
    return "base64"


def _address_headers(message: EmailMessage, sender: str, email: Email, message_id: str) -> None:
    """The envelope headers. Header values come from sheets: a line break there would end the
    header (or start a new one), so every value is made one line first. Values known to be
    plain (validated addresses, the date, our ids, an ASCII subject) are stored as they are and
    only folded by the policy when long; the rest go through the policy's header parser."""
    message.set_raw("From", _sender(sender))
    message["To"] = ", ".join(one_line(to) for to in email.to)
    subject = one_line(email.subject)
    if subject.isascii():
        message.set_raw("Subject", subject)
    else:
        message["Subject"] = subject
    message.set_raw("Date", formatdate(localtime=False))
    message.set_raw("Message-ID", one_line(message_id))
    if email.reply_to:
        message["Reply-To"] = one_line(email.reply_to)
    if email.idempotency_key:
        message.set_raw("X-Backoffice-Key", one_line(email.idempotency_key))


@lru_cache(maxsize=16)
def _sender(sender: str) -> Any:
    """The From header, parsed once per sender (a display name may need encoding)."""
    return POLICY.header_factory("From", one_line(sender))


def _boundary(text: str, html: str, nested: bool = False) -> str:
    """The process's boundary, or a fresh one for the rare message whose text contains it. A
    boundary that is the same across messages keeps the multipart header a repeated one."""
    boundary = _PROCESS_BOUNDARY + ("=mixed" if nested else "")
    while boundary in text or boundary in html:
        boundary = "==" + secrets.token_hex(16)
    return boundary


_PROCESS_BOUNDARY = "==" + secrets.token_hex(16)


class _CachedRegistry(HeaderRegistry):
    """The standard header registry, but making each header's class once: the stock registry
    builds a new class for every header it parses."""

    @lru_cache(maxsize=128)  # noqa: B019  (one registry per process; it is never freed)
    def __getitem__(self, name: str) -> type[BaseHeader]:
        return super().__getitem__(name)


class _ReusingPolicy(EmailPolicy):
    """The default policy, remembering the headers that repeat. Parsed and folded headers are
    immutable, so one copy serves every message that has the same value."""

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if type(value) is not str or len(value.splitlines()) > 1:
            return super().header_store_parse(name, value)  # which refuses line breaks
        return name, _parsed(self.header_factory, name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        if not isinstance(value, BaseHeader):
            return super().fold_binary(name, value)
        # Keyed by what folding reads, not by the policy: the generator folds with clones.
        key = (name, str(value), self.max_line_length, self.linesep, self.utf8, self.cte_type)
        folded = _FOLDED.get(key)
        if folded is None:
            if len(_FOLDED) >= _REMEMBERED:  # the repeated ones come right back
                _FOLDED.clear()
            folded = _FOLDED[key] = super().fold_binary(name, value)
        return folded


_REMEMBERED = 1024
_SMTP_LINE = 998  # RFC 5321's limit, less the line end
_FOLDED: dict[tuple[Any, ...], bytes] = {}


@lru_cache(maxsize=_REMEMBERED)
def _parsed(factory: Any, name: str, value: str) -> Any:
    return factory(name, value)


POLICY = _ReusingPolicy(header_factory=_CachedRegistry())
