"""SmtpMailer against a real SMTP server in this process (aiosmtpd on 127.0.0.1), with a
certificate authority and a server certificate made for the test."""

from __future__ import annotations

import base64
import gc
import re
import socket
import ssl
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from standins import (
    SMTP_PASSWORD,
    SMTP_USER,
    Certificates,
    Mailbox,
    free_port,
    make_certificates,
    smtp_servers,
)

from backoffice.adapters.smtp import DeliveryError, SmtpMailer
from backoffice.ports import Attachment, Email

USER = SMTP_USER
PASSWORD = SMTP_PASSWORD
SENDER = "Dental Office <office@example.com>"
MESSAGE = Email(
    to=("pat@example.org", "sam@example.org"),
    subject="Rappel : échéance du permis",
    text="Your permit expires on 2026-12-01.\n.\nA line after a lone dot.",
    idempotency_key="ew:LIC-1:2026-12-01:reminder:1",
    attachments=(
        Attachment("renewal.ics", "text/calendar", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"),
    ),
)


# --- certificates and the server (tests/support/standins.py) -----------------------------------


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """(CA certificate, server certificate, server key) as PEM files."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server_tls(certificates: Certificates) -> ssl.SSLContext:
    return certificates.server_context()


@pytest.fixture
def trusting(certificates: Certificates) -> ssl.SSLContext:
    """A client context that trusts the test CA, as an operator's would trust a real one."""
    return certificates.client_context()


@pytest.fixture
def start() -> Iterator[Callable[..., Mailbox]]:
    """Start an aiosmtpd server on 127.0.0.1 (SMTP options as keywords); all stop afterwards."""
    with smtp_servers() as launch:
        yield launch


def mailer(port: int, tls: str = "none", password: str = PASSWORD, **options: Any) -> SmtpMailer:
    user = options.pop("user", USER)
    return SmtpMailer("127.0.0.1", port, user, password, tls, SENDER, timeout=5, **options)


# --- delivery -----------------------------------------------------------------------------------


def test_plain_delivery_to_a_local_relay(start: Callable[..., Mailbox]) -> None:
    box = start()
    message_id = mailer(box.port, user="", password="").send(MESSAGE)
    [(envelope_from, recipients, received)] = box.messages
    assert envelope_from == "office@example.com"
    assert recipients == ["pat@example.org", "sam@example.org"]
    assert received["Message-ID"] == message_id and message_id.endswith("@example.com>")
    assert received["From"] == SENDER
    assert received["To"] == "pat@example.org, sam@example.org"
    assert received["Subject"] == "Rappel : échéance du permis"
    assert received["X-Backoffice-Key"] == "ew:LIC-1:2026-12-01:reminder:1"
    body = received.get_body(("plain",))
    assert body is not None
    assert "Your permit expires on 2026-12-01.\n.\nA line after a lone dot." in body.get_content()
    [attachment] = received.iter_attachments()
    assert attachment.get_filename() == "renewal.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_payload(decode=True) == b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
    assert box.sessions == [{"tls": False, "authenticated": None}]
    assert b"\r\n" in box.raw[0] and re.search(rb"(?<!\r)\n", box.raw[0]) is None  # CRLF only


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_starttls_then_login(
    start: Callable[..., Mailbox],
    server_tls: ssl.SSLContext,
    trusting: ssl.SSLContext,
    mechanism: str,
) -> None:
    other = {"LOGIN": "PLAIN", "PLAIN": "LOGIN"}[mechanism]
    box = start(
        tls_context=server_tls, require_starttls=True, login=True, auth_exclude_mechanism=[other]
    )
    message_id = mailer(box.port, "starttls", ssl_context=trusting).send(MESSAGE)
    assert box.logins == [(mechanism, USER)]
    assert box.sessions == [{"tls": True, "authenticated": True}]
    assert box.messages[0][2]["Message-ID"] == message_id


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls(
    start: Callable[..., Mailbox], server_tls: ssl.SSLContext, trusting: ssl.SSLContext
) -> None:
    # aiosmtpd cannot tell that an implicit-TLS connection is encrypted, hence auth_require_tls
    box = start(ssl_context=server_tls, login=True, auth_require_tls=False)
    mailer(box.port, "tls", ssl_context=trusting).send(MESSAGE)
    assert [recipients for _, recipients, _ in box.messages] == [
        ["pat@example.org", "sam@example.org"]
    ]
    assert box.logins == [("PLAIN", USER)]


def test_check_connection_logs_in_and_sends_nothing(
    start: Callable[..., Mailbox], server_tls: ssl.SSLContext, trusting: ssl.SSLContext
) -> None:
    box = start(tls_context=server_tls, require_starttls=True, login=True)
    report = mailer(box.port, "starttls", ssl_context=trusting).check_connection()
    assert report == f"smtp 127.0.0.1:{box.port} starttls as {USER}: ok"
    assert box.logins and not box.messages
    relay = start()
    assert (
        mailer(relay.port, user="", password="").check_connection()
        == f"smtp 127.0.0.1:{relay.port} none: ok"
    )


# --- failures -----------------------------------------------------------------------------------


def secret_forms() -> list[str]:
    plain = base64.b64encode(f"\0{USER}\0wrong-Pa55word".encode()).decode()
    return ["wrong-Pa55word", base64.b64encode(b"wrong-Pa55word").decode(), plain]


@pytest.mark.parametrize("call", ["send", "check_connection"])
def test_a_wrong_password_names_the_settings_and_never_the_password(
    start: Callable[..., Mailbox], server_tls: ssl.SSLContext, trusting: ssl.SSLContext, call: str
) -> None:
    box = start(tls_context=server_tls, require_starttls=True, login=True)
    wrong = mailer(box.port, "starttls", password="wrong-Pa55word", ssl_context=trusting)
    with pytest.raises(DeliveryError) as raised:
        wrong.send(MESSAGE) if call == "send" else wrong.check_connection()
    message = str(raised.value)
    assert message == (
        f"SMTP login to 127.0.0.1:{box.port} refused (535 5.7.8 Authentication credentials"
        " invalid): check [smtp] user and [secrets] smtp_password"
    )
    for form in secret_forms():
        assert form not in message and form not in repr(wrong)
    assert not box.messages and not box.logins


def test_a_password_the_server_quotes_back_is_blotted_out(
    start: Callable[..., Mailbox], server_tls: ssl.SSLContext, trusting: ssl.SSLContext
) -> None:
    box = start(tls_context=server_tls, require_starttls=True, login=True)
    box.echo_password = True
    wrong = mailer(box.port, "starttls", password="wrong-Pa55word", ssl_context=trusting)
    with pytest.raises(
        DeliveryError, match=r"refused \(535 5\.7\.8 (PLAIN|LOGIN) \*\*\* is wrong\)"
    ):
        wrong.check_connection()


def test_an_unreachable_port(start: Callable[..., Mailbox]) -> None:
    port = free_port()
    with pytest.raises(
        DeliveryError,
        match=rf"^could not connect to 127\.0\.0\.1:{port}: .*check \[smtp\] host and port$",
    ):
        mailer(port, user="", password="").send(MESSAGE)
    with pytest.raises(DeliveryError, match="could not connect"):
        mailer(port, user="", password="").check_connection()


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        slow = SmtpMailer("127.0.0.1", port, "", "", "none", SENDER, timeout=0.3)
        with pytest.raises(
            DeliveryError, match=rf"could not connect to 127\.0\.0\.1:{port}: .*timed out"
        ):
            slow.send(MESSAGE)


def test_a_refused_recipient_means_nobody_gets_it(start: Callable[..., Mailbox]) -> None:
    box = start()
    box.refuse.add("sam@example.org")
    with pytest.raises(DeliveryError) as raised:
        mailer(box.port, user="", password="").send(MESSAGE)
    assert str(raised.value) == (
        f"SMTP server 127.0.0.1:{box.port} refused the recipient sam@example.org"
        " (550 5.1.1 no such mailbox here): check the address"
    )
    assert (
        box.messages == []
    )  # pat@example.org was accepted, but the transaction never reached DATA


def test_a_temporary_refusal_is_a_failure_too(start: Callable[..., Mailbox]) -> None:
    box = start()
    box.greylist.add("pat@example.org")
    with pytest.raises(
        DeliveryError, match=r"refused the recipient pat@example\.org \(450 4\.2\.0"
    ):
        mailer(box.port, user="", password="").send(MESSAGE)
    assert box.messages == []


def test_a_refused_sender(start: Callable[..., Mailbox]) -> None:
    box = start()
    box.refuse.add("office@example.com")
    with pytest.raises(
        DeliveryError,
        match=r"refused the sender office@example\.com \(553 .*check \[smtp\] sender$",
    ):
        mailer(box.port, user="", password="").send(MESSAGE)


@pytest.mark.parametrize("tls", ["starttls", "tls"])
def test_an_untrusted_certificate_is_a_tls_failure(
    start: Callable[..., Mailbox], server_tls: ssl.SSLContext, tls: str
) -> None:
    box = start(tls_context=server_tls) if tls == "starttls" else start(ssl_context=server_tls)
    default_trust = SmtpMailer("127.0.0.1", box.port, USER, PASSWORD, tls, SENDER, timeout=5)
    with pytest.raises(DeliveryError) as raised:
        default_trust.send(MESSAGE)
    message = str(raised.value)
    assert message.startswith(f"TLS with 127.0.0.1:{box.port} failed (")
    assert "CERTIFICATE_VERIFY_FAILED" in message and "check [smtp] tls and port" in message
    assert PASSWORD not in message and not box.messages


def test_starttls_asked_of_a_server_without_it(
    start: Callable[..., Mailbox], trusting: ssl.SSLContext
) -> None:
    box = start()
    with pytest.raises(DeliveryError, match=r"does not offer STARTTLS: check \[smtp\] tls"):
        mailer(box.port, "starttls", ssl_context=trusting).check_connection()


def test_login_without_tls_where_the_server_wants_tls_first(
    start: Callable[..., Mailbox], server_tls: ssl.SSLContext
) -> None:
    box = start(tls_context=server_tls, login=True)
    with pytest.raises(
        DeliveryError,
        match=r"does not offer login over an unencrypted connection: check \[smtp\] tls",
    ):
        mailer(box.port, "none").send(MESSAGE)


def test_connections_are_closed_whatever_happens(
    start: Callable[..., Mailbox], server_tls: ssl.SSLContext, trusting: ssl.SSLContext
) -> None:
    box = start(tls_context=server_tls, require_starttls=True, login=True)
    box.refuse.add("sam@example.org")
    attempts = [
        mailer(box.port, "starttls", ssl_context=trusting),  # recipient refused
        mailer(box.port, "starttls", password="nope", ssl_context=trusting),  # login refused
        mailer(box.port, "starttls"),  # certificate not trusted
        mailer(free_port()),  # nobody listening
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        for attempt in attempts:
            with pytest.raises(DeliveryError):
                attempt.send(MESSAGE)
        mailer(box.port, "starttls", ssl_context=trusting).check_connection()
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


# --- settings -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "tls", "user", "password", "sender", "message"),
    [
        (
            "mail.example.com",
            "none",
            USER,
            PASSWORD,
            SENDER,
            r'\[smtp\] tls = "none" would send mail',
        ),
        (
            "10.0.0.5",
            "none",
            "",
            "",
            SENDER,
            r"\[smtp\] tls = \"none\".*127\.0\.0\.1, localhost or ::1",
        ),
        ("mail.example.com", "ssl", USER, PASSWORD, SENDER, r"\[smtp\] tls = 'ssl': expected"),
        ("mail.example.com", "starttls", USER, "", SENDER, r"\[secrets\] smtp_password is empty"),
        ("mail.example.com", "starttls", USER, PASSWORD, "office", r"\[smtp\] sender = 'office'"),
    ],
)
def test_settings_are_checked_when_the_mailer_is_built(
    host: str, tls: str, user: str, password: str, sender: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        SmtpMailer(host, 587, user, password, tls, sender)


def test_tls_none_is_allowed_towards_this_machine_only() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "LOCALHOST"):
        assert SmtpMailer(host, 25, "", "", "none", SENDER).tls == "none"
    with pytest.raises(ValueError, match=r"\[smtp\] port = 0"):
        SmtpMailer("mail.example.com", 0, "", "", "starttls", SENDER)
    shown = repr(SmtpMailer("::1", 2525, USER, PASSWORD, "none", SENDER))
    assert shown == "SmtpMailer([::1]:2525, tls='none', user='office@example.com')"
