"""The Mailer port's contract, run against every adapter of it:

- `fake`: FakeMailer, which keeps the Email value it was given;
- `local`: OutboxMailer, whose `.eml` files are read back and parsed;
- `aws`: SesMailer on moto, reading what SES holds (`ses_backends[...].sent_messages`);
- `smtp`: SmtpMailer against a real SMTP server in this process (tests/support/standins.py),
  over STARTTLS with a certificate the test CA signed, logging in with a password.

Every adapter delivers to exactly the recipients given, with the subject, the text, the answer
links (lines under the text and buttons in an HTML alternative), the attachments and the
X-Backoffice-Key header; returns a message id; keeps hostile text out of the headers; and
raises when delivery fails, with nothing delivered. Where an adapter differs on purpose, the test
says so and checks the difference.
"""

from __future__ import annotations

import email
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any

import pytest
from conftest import REGION, aws
from standins import (
    SMTP_PASSWORD,
    SMTP_USER,
    Certificates,
    free_port,
    make_certificates,
    smtp_server,
)

from backoffice.adapters.aws.messaging import SesMailer
from backoffice.adapters.fake import FakeMailer, InjectedFault
from backoffice.adapters.local.outbox import OutboxMailer
from backoffice.adapters.smtp import DeliveryError, SmtpMailer
from backoffice.ports import Attachment, Button, Email, Mailer

SENDER = "Dental Office <office@example.com>"
SENDER_ADDRESS = "office@example.com"
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
PDF = b"%PDF-1.4\n\x00\xff\xfe binary \r\n.\r\n bytes"
MAIL = Email(
    to=("pat@example.org", "Sam Lee <sam@example.org>"),
    subject="Rappel : échéance du permis LIC-1",
    text="Hello Pat,\n\nYour permit LIC-1 expires on 2026-12-01.\n.\nA line after a lone dot.",
    links=(
        Button("renew", "Renew <now>", "https://x.example/ew/ack?t=abc&x=1", "abc"),
        Button("ack_only", "Got it", "https://x.example/ew/ack?t=def", "def"),
    ),
    reply_to="Front Desk <desk@example.com>",
    idempotency_key="ew:LIC-1:2026-12-01:reminder:1",
    attachments=(
        Attachment("renewal.ics", "text/calendar", ICS),
        Attachment("permit.pdf", "application/pdf", PDF),
    ),
)
TOP_HEADERS = {
    "Content-Type",
    "MIME-Version",
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Reply-To",
    "X-Backoffice-Key",
}
PART_HEADERS = {"Content-Type", "MIME-Version", "Content-Transfer-Encoding", "Content-Disposition"}


# --- every adapter, seen the same way -----------------------------------------------------------


@dataclass
class Delivery:
    """One message as it reached the provider."""

    recipients: list[str]  # the addresses it goes to (bare, as an envelope names them)
    provider_id: str  # the id the provider knows it by
    sender: str = ""  # the envelope sender or From (the fake has none)
    email: Email | None = None  # the fake keeps the value
    message: EmailMessage | None = None  # every other adapter delivers RFC 5322 bytes


# Arrange for the next send to fail: the mailer to send with, what it raises, and a pattern the
# error's text matches.
Failure = Callable[[], tuple[Mailer, type[BaseException], str]]


@dataclass
class MailerUnderTest:
    name: str
    mailer: Mailer
    deliveries: Callable[[], list[Delivery]]
    failures: dict[str, Failure] = field(default_factory=dict)


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default_policy)
    assert isinstance(message, EmailMessage)
    return message


def addresses(values: list[str]) -> list[str]:
    """Bare addresses, each once, in order (SES lists the header's recipients a second time)."""
    seen: list[str] = []
    for _, address in getaddresses(values):
        if address and address not in seen:
            seen.append(address)
    return seen


@contextmanager
def fake(tmp: Path, certificates: Certificates) -> Iterator[MailerUnderTest]:
    mailer = FakeMailer()

    def deliveries() -> list[Delivery]:
        return [
            Delivery(addresses(list(sent.to)), f"fake-mail-{number}", email=sent)
            for number, sent in enumerate(mailer.sent, 1)
        ]

    def injected() -> tuple[Mailer, type[BaseException], str]:
        mailer.faults.fail_next("send")
        return mailer, InjectedFault, "send"

    yield MailerUnderTest("fake", mailer, deliveries, {"injected_fault": injected})


@contextmanager
def outbox(tmp: Path, certificates: Certificates) -> Iterator[MailerUnderTest]:
    folder = tmp / "outbox"
    mailer = OutboxMailer(folder, SENDER)

    def deliveries() -> list[Delivery]:
        if not folder.is_dir():
            return []
        files = sorted(folder.glob("*.eml"), key=lambda path: (path.stat().st_mtime_ns, path.name))
        out = []
        for path in files:
            message = parse(path.read_bytes())
            out.append(
                Delivery(
                    addresses(message.get_all("To", [])),
                    str(message["Message-ID"]),
                    sender=str(message["From"]),
                    message=message,
                )
            )
        return out

    def unwritable() -> tuple[Mailer, type[BaseException], str]:
        folder.write_bytes(b"")  # a file where the outbox folder should be
        return mailer, OSError, "outbox"

    yield MailerUnderTest("local", mailer, deliveries, {"unwritable_outbox": unwritable})


@contextmanager
def ses(tmp: Path, certificates: Certificates) -> Iterator[MailerUnderTest]:
    import boto3
    from botocore.exceptions import ClientError
    from botocore.stub import Stubber
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    with aws(), ExitStack() as cleanup:
        client = boto3.client("ses", region_name=REGION)
        client.verify_email_identity(EmailAddress=SENDER_ADDRESS)
        mailer = SesMailer(client, SENDER)
        backend = ses_backends[DEFAULT_ACCOUNT_ID][REGION]

        def deliveries() -> list[Delivery]:
            return [
                Delivery(
                    addresses(list(sent.destinations)),
                    sent.id,
                    sender=sent.source,
                    message=parse(sent.raw_data.encode()),
                )
                for sent in backend.sent_messages
            ]

        def unverified() -> tuple[Mailer, type[BaseException], str]:
            client.delete_identity(Identity=SENDER_ADDRESS)
            return mailer, ClientError, r"MessageRejected.*office@example\.com"

        def throttled() -> tuple[Mailer, type[BaseException], str]:
            stubber = Stubber(client)
            stubber.add_client_error(
                "send_raw_email",
                service_error_code="Throttling",
                service_message="Maximum sending rate exceeded.",
                http_status_code=400,
            )
            stubber.activate()
            cleanup.callback(stubber.deactivate)
            return mailer, ClientError, "Throttling"

        failures = {"unverified_sender": unverified, "throttled": throttled}
        yield MailerUnderTest("aws", mailer, deliveries, failures)


@contextmanager
def smtp(tmp: Path, certificates: Certificates) -> Iterator[MailerUnderTest]:
    options: dict[str, Any] = {"tls_context": certificates.server_context()}
    with smtp_server(**options, require_starttls=True, login=True) as box:

        def mailer_for(port: int, password: str = SMTP_PASSWORD) -> SmtpMailer:
            return SmtpMailer(
                "127.0.0.1",
                port,
                SMTP_USER,
                password,
                "starttls",
                SENDER,
                timeout=5,
                ssl_context=certificates.client_context(),
            )

        mailer = mailer_for(box.port)

        def deliveries() -> list[Delivery]:
            return [
                Delivery(
                    addresses(received.recipients),
                    str(received.message["Message-ID"]),
                    sender=received.mail_from,
                    message=received.message,
                )
                for received in box.messages
            ]

        def refused(what: str) -> Failure:
            def arrange() -> tuple[Mailer, type[BaseException], str]:
                if what == "message":
                    box.refuse_data = "554 5.7.1 rejected as spam"
                else:
                    box.refuse.add({"sender": SENDER_ADDRESS, "recipient": "sam@example.org"}[what])
                return mailer, DeliveryError, f"refused the {what}"

            return arrange

        failures: dict[str, Failure] = {
            "sender_refused": refused("sender"),
            "recipient_refused": refused("recipient"),
            "message_refused": refused("message"),
            "wrong_password": lambda: (
                mailer_for(box.port, "wrong-Pa55word"),
                DeliveryError,
                "login .* refused",
            ),
            "server_gone": lambda: (mailer_for(free_port()), DeliveryError, "could not connect"),
        }
        yield MailerUnderTest("smtp", mailer, deliveries, failures)


ADAPTERS: dict[str, Callable[[Path, Certificates], AbstractContextManager[MailerUnderTest]]] = {
    "fake": fake,
    "local": outbox,
    "aws": ses,
    "smtp": smtp,
}
FAILURES = [
    ("fake", "injected_fault"),
    ("local", "unwritable_outbox"),
    ("aws", "unverified_sender"),
    ("aws", "throttled"),
    ("smtp", "sender_refused"),
    ("smtp", "recipient_refused"),
    ("smtp", "message_refused"),
    ("smtp", "wrong_password"),
    ("smtp", "server_gone"),
]


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def build(tmp_path: Path, certificates: Certificates) -> Iterator[Callable[[str], MailerUnderTest]]:
    """Build an adapter by name; whatever it started stops after the test."""
    with ExitStack() as stack:
        yield lambda name: stack.enter_context(ADAPTERS[name](tmp_path, certificates))


@pytest.fixture(params=sorted(ADAPTERS))
def case(request: pytest.FixtureRequest, build: Callable[[str], MailerUnderTest]) -> Any:
    return build(request.param)


# --- what every adapter delivers ----------------------------------------------------------------


def check_message(delivery: Delivery, sent: Email) -> EmailMessage:
    """The delivered message says what `sent` says; returns it for more checks."""
    message = delivery.message
    assert message is not None
    assert parseaddr(delivery.sender)[1] == SENDER_ADDRESS
    assert set(message.keys()) <= TOP_HEADERS | {"Content-Transfer-Encoding"}
    assert "Bcc" not in message and "Cc" not in message
    assert message["From"] == SENDER
    assert addresses(message.get_all("To", [])) == addresses(list(sent.to))
    assert message["Subject"] == sent.subject
    assert message["Reply-To"] == sent.reply_to
    assert message.get("X-Backoffice-Key", "") == sent.idempotency_key
    assert message["Message-ID"] and message["Date"]
    for part in message.walk():
        assert part.defects == []
    return message


def test_delivers_to_exactly_the_recipients_given_with_everything_in_it(
    case: MailerUnderTest,
) -> None:
    message_id = case.mailer.send(MAIL)
    [delivery] = case.deliveries()
    assert message_id and delivery.provider_id == message_id
    assert delivery.recipients == ["pat@example.org", "sam@example.org"]
    if delivery.email is not None:  # the fake keeps the value: everything in it arrived
        assert delivery.email == MAIL
        return
    message = check_message(delivery, MAIL)
    plain = message.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert text.startswith(MAIL.text + "\n")
    assert "  Renew <now>: https://x.example/ew/ack?t=abc&x=1\n" in text
    assert "  Got it: https://x.example/ew/ack?t=def\n" in text
    html = message.get_body(("html",))
    assert html is not None
    page = html.get_content()
    assert "<p>Hello Pat,</p>" in page and "expires on 2026-12-01.<br>.<br>A line after" in page
    # Labels and links are data in the HTML: escaped, never markup.
    assert 'href="https://x.example/ew/ack?t=abc&amp;x=1"' in page and "Renew &lt;now&gt;" in page
    assert 'href="https://x.example/ew/ack?t=def"' in page
    attached = [
        (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
        for part in message.iter_attachments()
    ]
    assert attached == [
        ("renewal.ics", "text/calendar", ICS),
        ("permit.pdf", "application/pdf", PDF),
    ]


def test_a_plain_message_has_no_alternative_and_no_optional_headers(
    case: MailerUnderTest,
) -> None:
    plain = Email(to=("pat@example.org",), subject="Your permit", text="Renewed, thank you.\n")
    case.mailer.send(plain)
    [delivery] = case.deliveries()
    assert delivery.recipients == ["pat@example.org"]
    if delivery.email is not None:
        assert delivery.email == plain
        return
    message = check_message(delivery, plain)
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "Renewed, thank you.\n"
    assert "Reply-To" not in message and "X-Backoffice-Key" not in message


def test_every_message_gets_its_own_id(case: MailerUnderTest) -> None:
    first = Email(to=("pat@example.org",), subject="One", text="1", idempotency_key="k:1")
    second = Email(to=("sam@example.org",), subject="Two", text="2", idempotency_key="k:2")
    ids = [case.mailer.send(first), case.mailer.send(second)]
    assert all(ids) and ids[0] != ids[1]
    delivered = {delivery.provider_id: delivery.recipients for delivery in case.deliveries()}
    assert delivered == {ids[0]: ["pat@example.org"], ids[1]: ["sam@example.org"]}


def test_a_second_message_with_the_same_key(case: MailerUnderTest) -> None:
    """Documented difference: the outbox refuses a second message with a key it already holds
    (a send retried after a crash between the send and its confirmation cannot deliver twice)
    and answers "<already-sent:FILE>"; the fake, SES and SMTP deliver it again, because the
    sends table's claim, not the mailer, is what keeps a key from being sent twice there."""
    first, second = case.mailer.send(MAIL), case.mailer.send(MAIL)
    delivered = case.deliveries()
    if case.name == "local":
        [delivery] = delivered
        assert delivery.provider_id == first
        assert second == "<already-sent:ew_LIC-1_2026-12-01_reminder_1.eml>"
    else:
        assert [delivery.provider_id for delivery in delivered] == [first, second]
        assert first != second


# --- hostile text -------------------------------------------------------------------------------

SUBJECTS = {
    "ascii": (
        "Licence LIC-1\r\nBcc: evil@example.net\r\n\r\nSubject: you won",
        "Licence LIC-1 Bcc: evil@example.net Subject: you won",
    ),
    "utf8": ("Échéance\u2028Bcc: e@x.net\x00\x1b[2J\nX: y", "Échéance Bcc: e@x.net[2J X: y"),
}


@pytest.mark.parametrize("subject", sorted(SUBJECTS))
def test_hostile_text_never_adds_or_breaks_a_header(case: MailerUnderTest, subject: str) -> None:
    hostile, shown = SUBJECTS[subject]
    sent = Email(
        to=("pat@example.org",),
        subject=hostile,
        text="Dear Pat,\x00\x07\x1b[31m\r\nBcc: evil@example.net\r\n\r\n.\r\nQUIT\r\n",
        links=(Button("renew", "Renew\r\nBcc: evil@example.net", "https://x.example/a\r\nB: c"),),
        reply_to="desk@example.com",
        idempotency_key="ew:LIC-1\r\nBcc: evil@example.net:x",
        attachments=(Attachment('a.ics\r\nBcc: evil@example.net"; x="', "text/calendar", ICS),),
    )
    case.mailer.send(sent)
    [delivery] = case.deliveries()
    assert delivery.recipients == ["pat@example.org"]
    if delivery.email is not None:  # the fake writes no header: it keeps the text as data
        assert delivery.email == sent
        return
    message = delivery.message
    assert message is not None
    assert set(message.keys()) == TOP_HEADERS and "Bcc" not in message
    for name, value in message.items():
        assert not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in str(value)), name
    assert message["Subject"] == shown
    assert message["Reply-To"] == "desk@example.com"
    assert message["X-Backoffice-Key"] == "ew:LIC-1 Bcc: evil@example.net:x"
    for part in message.walk():
        assert part.defects == [] and set(part.keys()) <= TOP_HEADERS | PART_HEADERS
    plain = message.get_body(("plain",))
    assert plain is not None
    text = plain.get_content()
    assert text.startswith("Dear Pat,[31m\nBcc: evil@example.net\n\n.\nQUIT\n")
    assert not any(unicodedata.category(c) == "Cc" for c in text.replace("\n", ""))
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == 'a.ics Bcc: evil@example.net"; x="'
    assert attachment.get_payload(decode=True) == ICS


@pytest.mark.parametrize("adapter", ["aws", "local", "smtp"])
def test_a_long_subject_in_another_script_reads_back_unchanged(
    build: Callable[[str], MailerUnderTest], adapter: str
) -> None:
    case = build(adapter)
    subject = "Rappel : votre permis de conduire LIC-1 expire le 1er décembre 2026"
    case.mailer.send(Email(to=("pat@example.org",), subject=subject, text="x"))
    [delivery] = case.deliveries()
    assert delivery.message is not None and delivery.message["Subject"] == subject


# --- failures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("adapter", "failure"), FAILURES)
def test_a_failure_surfaces_and_nothing_is_delivered(
    build: Callable[[str], MailerUnderTest], adapter: str, failure: str
) -> None:
    case = build(adapter)
    mailer, error, pattern = case.failures[failure]()
    with pytest.raises(error, match=pattern):
        mailer.send(MAIL)
    assert case.deliveries() == []


def test_the_suite_runs_every_failure_an_adapter_names(case: MailerUnderTest) -> None:
    assert sorted(case.failures) == sorted(f for name, f in FAILURES if name == case.name)


def test_a_message_without_recipients_is_refused(case: MailerUnderTest) -> None:
    """An email to nobody is an error everywhere (SMTP cannot send one), not a silent success
    that the sends table would then mark as sent."""
    with pytest.raises(ValueError, match="at least one recipient"):
        case.mailer.send(Email(to=(), subject="Nobody", text="Lost?"))
    assert case.deliveries() == []
