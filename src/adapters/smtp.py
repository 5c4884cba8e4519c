"""Live e-mail over SMTP with the standard library: one connection per message, always closed.

`tls` is "starttls" (usually port 587), "tls" (implicit TLS, usually port 465) or "none", which
is allowed only towards a relay on this machine: anything else would carry the mail and the
password in the clear. The envelope is all or nothing: when the server refuses the sender or any
recipient, the transaction is dropped before DATA, so nobody got the message and a retry cannot
send it twice.

Every failure is a DeliveryError whose message is one line saying what failed and which setting
to check. The password never appears in a message or a repr.
"""

from __future__ import annotations

import base64
import re
import smtplib
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from email.utils import make_msgid, parseaddr
from typing import Literal

from backoffice.adapters.mime import build_email
from backoffice.ports import Email

TlsMode = Literal["starttls", "tls", "none"]
TLS_MODES: dict[str, TlsMode] = {"starttls": "starttls", "tls": "tls", "none": "none"}
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_TIMEOUT = 30.0
HOST_SETTINGS = "check [smtp] host and port"
LOGIN_SETTINGS = "check [smtp] user and [secrets] smtp_password"


class DeliveryError(RuntimeError):
    """The SMTP server did not take the message (or could not be reached, secured, logged in to)."""


class SmtpMailer:
    """The `Mailer` port over SMTP."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        password: str,
        tls: str,
        sender: str,
        timeout: float = DEFAULT_TIMEOUT,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.tls = _tls_mode(tls, host)
        _check_settings(port, user, password, sender)
        self.host, self.port, self.user, self.sender, self.timeout = (
            host,
            port,
            user,
            sender,
            timeout,
        )
        self._password = password
        self._context = ssl_context or ssl.create_default_context()
        self._envelope_sender = parseaddr(sender)[1]

    def __repr__(self) -> str:
        return f"SmtpMailer({self.where}, tls={self.tls!r}, user={self.user!r})"

    @property
    def where(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def send(self, email: Email) -> str:
        """Deliver the message and return its Message-ID header, the id a mailbox shows."""
        if not email.to:
            raise ValueError("an e-mail needs at least one recipient")
        domain = self._envelope_sender.rpartition("@")[2]
        message_id = make_msgid(domain=domain)
        data = _crlf(build_email(self.sender, email, message_id))
        with self._session() as smtp:
            self._transfer(smtp, [parseaddr(to)[1] or to for to in email.to], data)
        return message_id

    def check_connection(self) -> str:
        """Connect, secure and log in, then quit without sending: what `check --live` shows."""
        with self._session():
            pass
        who = f" as {self.user}" if self.user else ""
        return f"smtp {self.where} {self.tls}{who}: ok"

    # --- one session -----------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        smtp = self._connect()
        try:
            self._secure(smtp)
            self._login(smtp)
            yield smtp
            _quit(smtp)
        finally:
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        try:
            if self.tls == "tls":
                return smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=self._context
                )
            return smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except ssl.SSLError as error:
            raise self._tls_failed(error) from error
        except smtplib.SMTPConnectError as error:
            raise self._error(
                f"SMTP server {self.where} turned the connection away ({_reason(error)})",
                HOST_SETTINGS,
            ) from error
        except OSError as error:  # refused, unknown host, timed out; SMTPException is an OSError
            raise self._error(
                f"could not connect to {self.where}: {_reason(error)}", HOST_SETTINGS
            ) from error

    def _secure(self, smtp: smtplib.SMTP) -> None:
        if self.tls != "starttls":
            return
        try:
            smtp.starttls(context=self._context)
        except smtplib.SMTPNotSupportedError as error:
            raise self._error(
                f"SMTP server {self.where} does not offer STARTTLS",
                'check [smtp] tls ("tls" for implicit TLS, usually port 465) and port',
            ) from error
        except ssl.SSLError as error:
            raise self._tls_failed(error) from error
        except OSError as error:
            raise self._lost("STARTTLS", error) from error

    def _login(self, smtp: smtplib.SMTP) -> None:
        if not self.user:
            return
        try:
            smtp.login(self.user, self._password)
        except smtplib.SMTPAuthenticationError as error:
            raise self._error(
                f"SMTP login to {self.where} refused ({_reason(error)})", LOGIN_SETTINGS
            ) from error
        except smtplib.SMTPNotSupportedError as error:
            clear = " over an unencrypted connection" if self.tls == "none" else ""
            raise self._error(
                f"SMTP server {self.where} does not offer login{clear}",
                "check [smtp] tls and user (leave user empty for a relay that needs no login)",
            ) from error
        except OSError as error:
            raise self._lost("login", error) from error

    def _transfer(self, smtp: smtplib.SMTP, recipients: Sequence[str], data: bytes) -> None:
        try:
            smtp.ehlo_or_helo_if_needed()
            sender = self._envelope_sender
            self._accepted(smtp.mail(sender), f"the sender {sender}", "check [smtp] sender")
            for recipient in recipients:
                self._accepted(
                    smtp.rcpt(recipient), f"the recipient {recipient}", "check the address"
                )
            self._accepted(smtp.data(data), "the message", "see the server's reason")
        except smtplib.SMTPDataError as error:
            raise self._error(
                f"SMTP server {self.where} refused the message ({_reason(error)})",
                "see the server's reason",
            ) from error
        except OSError as error:
            raise self._lost("sending", error) from error

    def _accepted(self, answer: tuple[int, bytes], what: str, hint: str) -> None:
        code, reply = answer
        if not 200 <= code < 300:
            raise self._error(
                f"SMTP server {self.where} refused {what} ({code} {_text(reply)})", hint
            )

    # --- errors ----------------------------------------------------------------------------------

    def _tls_failed(self, error: ssl.SSLError) -> DeliveryError:
        return self._error(
            f"TLS with {self.where} failed ({_reason(error)})",
            f"check [smtp] tls and port, and the server's certificate for {self.host}",
        )

    def _lost(self, step: str, error: OSError) -> DeliveryError:
        return self._error(
            f"SMTP {step} with {self.where} failed ({_reason(error)})", HOST_SETTINGS
        )

    def _error(self, what: str, hint: str) -> DeliveryError:
        """One line, with the password (and its encodings on the wire) blotted out."""
        text = " ".join(f"{what}: {hint}".split())
        for secret in _secrets(self.user, self._password):
            text = text.replace(secret, "***")
        return DeliveryError(text)


def _tls_mode(tls: str, host: str) -> TlsMode:
    mode = TLS_MODES.get(tls.strip().lower())
    if mode is None:
        raise ValueError(f'[smtp] tls = {tls!r}: expected "starttls", "tls" or "none"')
    if mode == "none" and host.strip().lower() not in LOCAL_HOSTS:
        raise ValueError(
            f'[smtp] tls = "none" would send mail and the password to {host} unencrypted:'
            " it is allowed only for a relay on this machine (127.0.0.1, localhost or ::1);"
            ' use "starttls" or "tls"'
        )
    return mode


def _check_settings(port: int, user: str, password: str, sender: str) -> None:
    if not 0 < port < 65536:
        raise ValueError(f"[smtp] port = {port}: expected a port number like 587")
    if user and not password:
        raise ValueError("[smtp] user is set but [secrets] smtp_password is empty")
    if "@" not in parseaddr(sender)[1]:
        raise ValueError(f"[smtp] sender = {sender!r}: expected an address like office@example.com")


def _secrets(user: str, password: str) -> list[str]:
    """The password as typed and as AUTH LOGIN and AUTH PLAIN put it on the wire."""
    if not password:
        return []
    encoded = [f"{password}", f"\0{user}\0{password}", f"{user}\0{user}\0{password}"]
    wire = [base64.b64encode(text.encode()).decode() for text in encoded]
    return sorted({password, *wire}, key=len, reverse=True)


def _reason(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())


def _crlf(data: bytes) -> bytes:
    """SMTP lines end in CRLF; servers hardened against smuggling refuse bare newlines."""
    return re.sub(rb"\r?\n", b"\r\n", data)


def _quit(smtp: smtplib.SMTP) -> None:
    """Say goodbye; the message is already accepted, so a server that hangs up first is fine."""
    with suppress(OSError):  # smtplib's errors are OSErrors too
        smtp.quit()
