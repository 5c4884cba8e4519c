"""Forwarded files in, proposed rows out: real MIME built with email.message, real DOCX and XLSX
built with their libraries, and the model's JSON contract fuzzed."""

from __future__ import annotations

import io
import json
from datetime import date
from email.message import EmailMessage

from hypothesis import given, settings
from hypothesis import strategies as st
from models import Scripted

from backoffice.adapters.local.documents import LocalDocuments
from backoffice.adapters.local.model import HeuristicModel
from backoffice.core import expiry_watcher as ew
from backoffice.core.intake import dates_in, heuristic_proposal, read_model_answer
from backoffice.services.intake import propose_from

COLUMNS = ew.COLUMNS
TODAY = date(2026, 11, 24)


def registry_reader(today: date) -> HeuristicModel:
    return HeuristicModel(
        lambda subject, text, sender: heuristic_proposal(
            subject, text, sender, COLUMNS, dayfirst=False, today=today
        )
    )


def run(name: str, body: bytes, model: object | None = None) -> tuple[dict[str, str], tuple]:
    result = propose_from(
        LocalDocuments().extract(name, body),
        model or registry_reader(TODAY),
        name,
        COLUMNS,
        ("expires_on",),
        dayfirst=False,
    )
    return result.proposal, result.problems


def forwarded(subject: str = "Fwd: Business licence renewal") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Maria Lopez <maria@example.com>"
    message["To"] = "expires@example.com"
    message["Subject"] = subject
    return message


def test_html_only_alternative_and_the_forwarder_as_owner() -> None:
    message = forwarded()
    message.set_content("See the HTML part.")
    message.add_alternative(
        "<p>Your licence is <b>valid until</b> 12/31/2027.</p>"
        "<p>Fee: $85.00</p><style>p{color:red}</style>",
        subtype="html",
    )
    proposal, problems = run("licence.eml", bytes(message))
    assert proposal["name"] == "Business licence renewal"
    assert proposal["owner"] == "maria@example.com"
    assert proposal["expires_on"] == "2027-12-31" and "$85.00" in proposal["notes"]
    assert problems == ()


def test_a_latin1_body_and_a_docx_attachment() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("Lease agreement. The term ends on 30 June 2028.")
    buffer = io.BytesIO()
    document.save(buffer)
    message = forwarded("Fw: Office lease")
    message.set_content("Café lease, signed 2026-02-01.", charset="iso-8859-1")
    message.add_attachment(
        buffer.getvalue(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="lease.docx",
    )
    proposal, problems = run("lease.eml", bytes(message))
    assert proposal["expires_on"] == "2028-06-30" and proposal["name"] == "Office lease"
    assert problems == ()


def test_an_xlsx_attachment_inside_a_forwarded_message() -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["Certificate", "Expiry date"])
    book.active.append(["TLS shop site", "2027-04-15"])
    buffer = io.BytesIO()
    book.save(buffer)
    inner = forwarded("Certificates list")
    inner.set_content("Attached.")
    inner.add_attachment(
        buffer.getvalue(),
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        filename="certs.xlsx",
    )
    outer = forwarded("Fwd: Certificates list")
    outer.set_content("FYI")
    outer.add_attachment(inner)
    proposal, _ = run("fwd.eml", bytes(outer))
    assert proposal["expires_on"] == "2027-04-15"


def test_an_empty_email_is_an_empty_proposal_with_a_note() -> None:
    message = forwarded("")
    message.set_content("")
    proposal, problems = run("empty.eml", bytes(message))
    assert proposal == {**dict.fromkeys(COLUMNS, ""), "owner": "maria@example.com"}
    assert "no text" in problems[0]


def test_an_unreadable_attachment_is_named() -> None:
    message = forwarded()
    message.set_content("Renewal due by 2027-01-31.")
    message.add_attachment(
        b"not a zip",
        maintype="application",
        subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
        filename="broken.docx",
    )
    message.add_attachment(
        b"\x00\x01", maintype="application", subtype="octet-stream", filename="blob.bin"
    )
    proposal, problems = run("broken.eml", bytes(message))
    assert proposal["expires_on"] == "2027-01-31"
    assert any("broken.docx: could not be read" in p for p in problems)
    assert any("blob.bin" in p for p in problems)


def test_a_plain_text_file_and_no_invented_dates() -> None:
    proposal, _ = run("note.txt", b"Alarm system contract, renews every December.")
    assert proposal["expires_on"] == "" and proposal["owner"] == ""


def test_an_invalid_model_answer_is_retried_once_then_fields_stay_empty() -> None:
    body = b"Policy renewal: expires on 2027-03-31."
    good = json.dumps({"name": "Policy", "expires_on": "2027-03-31"})
    proposal, problems = run("a.txt", body, Scripted("sorry, no JSON", good))
    assert (proposal["name"], proposal["expires_on"], problems) == ("Policy", "2027-03-31", ())
    invented = json.dumps({"name": "Policy", "expires_on": "2029-01-01"})
    proposal, problems = run("a.txt", body, Scripted(invented, invented))
    assert proposal == dict.fromkeys(COLUMNS, "")
    assert "does not appear in the document" in problems[0]


answers = st.one_of(
    st.text(),
    st.builds(
        json.dumps,
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.sampled_from([*COLUMNS, "other"]), inner, max_size=6)
            ),
            max_leaves=12,
        ),
    ),
    st.builds(
        lambda d: "Here you go:\n```json\n" + json.dumps(d) + "\n```",
        st.dictionaries(st.sampled_from(COLUMNS), st.text(max_size=20), max_size=5),
    ),
)


@settings(max_examples=300, deadline=None)
@given(answers, st.text(max_size=200))
def test_the_model_contract_never_crashes_and_never_invents_a_date(
    answer: str, source: str
) -> None:
    kept, _ = read_model_answer(answer, source, COLUMNS, ("expires_on",), dayfirst=False)
    assert set(kept) <= set(COLUMNS)
    assert all(isinstance(v, str) for v in kept.values())
    if "expires_on" in kept:
        written = {found.value for found in dates_in(source, dayfirst=False)}
        assert date.fromisoformat(kept["expires_on"]) in written


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF whose content stream draws `text` (enough for pypdf to read it back)."""
    stream = f"BT /F1 12 Tf 72 712 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_a_pdf_attachment_is_read_locally() -> None:
    message = forwarded("Fwd: Waste collection contract")
    message.set_content("See attached.")
    message.add_attachment(
        minimal_pdf("Contract term ends 2027-08-31"),
        maintype="application",
        subtype="pdf",
        filename="contract.pdf",
    )
    proposal, problems = run("contract.eml", bytes(message))
    assert proposal["expires_on"] == "2027-08-31" and problems == ()
    proposal, _ = run("contract.pdf", minimal_pdf("Valid until 2028-01-15"))
    assert proposal["expires_on"] == "2028-01-15"


def test_an_expiry_date_in_the_past_is_still_proposed() -> None:
    proposal, _ = run("licence.txt", b"Issued 2024-06-01\nValid through 2026-05-31\n")
    assert proposal["expires_on"] == "2026-05-31"


def test_a_start_may_carry_a_time_but_an_expiry_date_may_not() -> None:
    source = "Booked for 2026-12-05 at 15:00; the policy ends 2027-09-30."
    answer = '{"starts_at": "2026-12-05 15:00", "expires_on": "2027-09-30 00:00"}'
    kept, errors = read_model_answer(
        answer,
        source,
        ("starts_at", "expires_on"),
        ("expires_on",),
        dayfirst=False,
        time_columns=("starts_at",),
    )
    assert kept == {"starts_at": "2026-12-05 15:00"}
    assert errors == ["expires_on: '2027-09-30 00:00' is not a date like 2026-12-01"]
    moved, problems = read_model_answer(
        '{"starts_at": "2026-12-06 15:00"}',
        source,
        ("starts_at",),
        (),
        dayfirst=False,
        time_columns=("starts_at",),
    )
    assert moved == {} and problems == [
        "starts_at: 2026-12-06 15:00 does not appear in the document"
    ]
