"""A corpus of owner mistakes and hostile files, generated: every example document damaged the
ways files get damaged (wrong encoding, cut short, lines lost or doubled, cells shuffled, stray
bytes, formula and control characters, another separator), run through `check`, `preview` and
`tick`. Whatever comes in, each command ends with exit 0 or 1, never a traceback, and every
problem it prints names its file."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backoffice.cli.main import main
from backoffice.cli.workspace import write_example
from backoffice.services.registry import SYSTEMS
from backoffice.services.system import System

NASTY = [
    "\x00",
    "\r",
    "\ufeff",
    "\u202e",
    "=cmd|' /C calc'!A0",
    "<!channel>",
    "é",
    "\xa0",
    '"',
    ",",
]


@st.composite
def damaged(draw: st.DrawFn, body: bytes) -> bytes:
    lines = body.split(b"\n")
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["drop", "double", "nasty", "cut", "latin", "swap", "sep"]))
        at = draw(st.integers(0, max(len(lines) - 1, 0)))
        if kind == "drop" and lines:
            lines.pop(at)
        elif kind == "double" and lines:
            lines.insert(at, lines[at])
        elif kind == "nasty" and lines:
            lines[at] += draw(st.sampled_from(NASTY)).encode()
        elif kind == "cut":
            lines = b"\n".join(lines)[: draw(st.integers(0, len(body)))].split(b"\n")
        elif kind == "latin" and lines:
            lines[at] = lines[at].decode("utf-8", "replace").encode("latin-1", "replace") + b"\xe9"
        elif kind == "swap" and len(lines) > 1:
            lines[at], lines[0] = lines[0], lines[at]
        elif kind == "sep" and lines:
            lines[at] = lines[at].replace(b",", b";")
    return b"\n".join(lines)


def workspace(root: Path, system: System) -> Path:
    folder = root / system.name
    if not folder.exists():
        write_example(system, folder, date(2026, 12, 1))
    return folder


@pytest.mark.parametrize("system", SYSTEMS, ids=lambda s: s.name)
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_damaged_workspace_ends_in_a_traceback(
    system: System,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    data: st.DataObject,
) -> None:
    folder = workspace(tmp_path, system)
    originals = {name: (folder / name).read_bytes() for name in system.example}
    name = data.draw(st.sampled_from(system.example))
    (folder / name).write_bytes(data.draw(damaged(originals[name])))
    try:
        for command in (
            ["check"],
            ["preview", "--days", "3", "--from", "2026-12-01"],
            ["tick", "--now", "2026-12-01T09:00:00-05:00"],
        ):
            code = main([command[0], "--workspace", str(folder), *command[1:]])
            out, err = capsys.readouterr()
            assert code in (0, 1), (command, out, err)
            for line in (out + err).splitlines():
                if line.startswith(("- ", "error: ")) and "Problems" not in line:
                    named = re.search(r"(backoffice\.toml|\.csv|rules\.toml|voice\.toml)", line)
                    assert named or not line.startswith("error:"), line
    finally:
        for file, body in originals.items():
            (folder / file).write_bytes(body)
        for extra in ("state.db", "state.db-wal", "state.db-shm"):
            (folder / extra).unlink(missing_ok=True)
