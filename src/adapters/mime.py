"""Email messages as RFC 5322 bytes, the same for the outbox and for SES SendRawEmail."""

from __future__ import annotations

from email import encoders
from email.header import Header
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

from backoffice.ports import Email


def build_email(sender: str, email: Email, message_id: str) -> bytes:
    """RFC 5322 bytes: a text part and, when there is one, an HTML alternative.

    The compat32 MIME classes build the same message as EmailMessage about four times faster,
    which matters when a tick delivers thousands."""
    text = MIMEText(email.text, "plain", "utf-8")
    body: Message = text
    if email.html:
        body = MIMEMultipart("alternative")
        body.attach(text)
        body.attach(MIMEText(email.html, "html", "utf-8"))
    message = body
    if email.attachments:
        message = MIMEMultipart("mixed")
        message.attach(body)
        for attachment in email.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            part = MIMEBase(maintype, subtype or "octet-stream")
            part.set_payload(attachment.body)
            encoders.encode_base64(part)
            part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
            message.attach(part)
    message["From"] = sender
    message["To"] = ", ".join(email.to)
    subject = email.subject
    message["Subject"] = subject if subject.isascii() else Header(subject, "utf-8").encode()
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id
    if email.reply_to:
        message["Reply-To"] = email.reply_to
    if email.idempotency_key:
        message["X-Backoffice-Key"] = email.idempotency_key
    return message.as_bytes()
