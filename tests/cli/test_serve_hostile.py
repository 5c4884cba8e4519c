"""`backoffice serve` under hostile or clumsy clients: nothing they send crashes or stalls it,
every refusal is a 4xx (or a 503 naming a missing setting) with a reason, and nothing a link
carries reaches the log."""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backoffice.cli.main import main
from backoffice.cli.serve import ServeError, Server, make_server
from backoffice.cli.workspace import write_example
from backoffice.handlers.wiring import read_settings
from backoffice.services.expiry_watcher import SYSTEM

AUDIT = SYSTEM.storage.audit.name


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    from datetime import date

    write_example(SYSTEM, tmp_path / "ew", date(2026, 12, 1))
    return tmp_path / "ew"


@pytest.fixture
def server(workspace: Path) -> Iterator[Server]:
    httpd = make_server(workspace, read_settings(workspace), 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def raw(server: Server, request: bytes, read_timeout: float = 15) -> bytes:
    with socket.create_connection(("127.0.0.1", server.server_port), timeout=read_timeout) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def get(server: Server, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read().decode()


def test_an_idle_connection_does_not_hold_up_anyone_else(server: Server) -> None:
    idle = socket.create_connection(("127.0.0.1", server.server_port))
    idle.sendall(b"POST /ew/ack HTTP/1.1\r\nContent-Length: 100\r\n\r\nt=")  # and then nothing
    started = time.monotonic()
    statuses = []

    def one() -> None:
        statuses.append(get(server, "/ew/ack?t=nonsense")[0])

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [400] * 20 and time.monotonic() - started < 5
    idle.close()


@pytest.mark.parametrize(
    ("request_bytes", "status", "reason"),
    [
        (b"POST /ew/ack HTTP/1.1\r\nContent-Length: ten\r\n\r\n", 400, b"whole number"),
        (b"POST /ew/ack HTTP/1.1\r\nContent-Length: -5\r\n\r\n", 400, b"whole number"),
        (b"POST /ew/ack HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n", 413, b"too large"),
        (b"POST /ew/ack HTTP/1.1\r\nContent-Length: 50\r\n\r\nt=short", 400, b"shorter"),
        (
            b"POST /ew/ack HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            411,
            b"Content-Length",
        ),
        (b"BREW /coffee HTCPCP/1.0\r\n\r\n", 400, b""),
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 400, b""),  # a TLS hello
        (b"PUT /ew/ack HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, b"GET or POST"),
        (b"GET /../../etc/passwd HTTP/1.1\r\n\r\n", 404, b"Not found"),
    ],
)
def test_a_malformed_request_gets_a_4xx_with_a_reason(
    server: Server, request_bytes: bytes, status: int, reason: bytes
) -> None:
    response = raw(server, request_bytes)
    assert status_of(response) == status and reason in response
    assert get(server, "/nowhere")[0] == 404  # and the server still answers


def test_slack_without_a_signing_secret_is_503_naming_the_setting(server: Server) -> None:
    body = b"payload=%7B%7D"
    response = raw(
        server,
        b"POST /slack/actions HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
    )
    assert status_of(response) == 503 and b"slack_signing_secret" in response


def test_junk_links_do_not_grow_the_audit_table(server: Server, workspace: Path) -> None:
    for n in range(30):
        body = f"t=junk{n}".encode()
        raw(
            server,
            b"POST /ew/ack HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body,
        )
    assert server.ports.tables.scan(AUDIT) == []


def test_the_log_has_no_token_and_no_link_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import date

    from backoffice.services.appointment_reminder import SYSTEM as SALON

    write_example(SALON, tmp_path / "salon", date(2026, 12, 1))
    httpd = make_server(tmp_path / "salon", read_settings(tmp_path / "salon"), 0)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        get(httpd, "/ar/r/A-101/SECRETCODE123456")
        get(httpd, "/ar/answer?t=SECRETTOKEN")
    finally:
        httpd.shutdown()
        httpd.server_close()
    logged = capsys.readouterr().err
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert {line["path"] for line in lines} >= {"/ar/r/{appt_id}/{code}", "/ar/answer"}
    assert "SECRET" not in logged


def test_a_port_in_use_or_out_of_range_is_one_line_and_exit_2(
    server: Server, workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ServeError, match="cannot listen"):
        make_server(workspace, read_settings(workspace), server.server_port)
    code = main(["serve", "--workspace", str(workspace), "--port", str(server.server_port)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot listen on 127.0.0.1" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--workspace", str(workspace), "--port", "70000"])
    assert exit_info.value.code == 2 and "70000" in capsys.readouterr().err
