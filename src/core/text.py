"""Text from sheets and strangers is data: what it takes for it to stay data in a header, a text
message, a Slack message and a log line."""

from __future__ import annotations

import re
import unicodedata

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85\x0b\x0c]+")


def one_line(text: str) -> str:
    """For a header or a subject: line breaks become spaces, other control characters go."""
    return _CONTROL.sub("", _LINE_BREAKS.sub(" ", text)).strip()


def printable(text: str) -> str:
    """For a message body: line breaks stay (as \\n), other control characters go."""
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


def slack_escaped(text: str) -> str:
    """Slack's own three control characters, escaped as Slack documents ("Escaping text"):
    `<!channel>` or `<http://x|Pay here>` from a sheet stays text, never a ping or a link."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def is_safe_header(text: str) -> bool:
    return one_line(text) == text and not any(unicodedata.category(c) == "Cc" for c in text)
