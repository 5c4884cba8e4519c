"""A real `backoffice tick` process killed (SIGKILL) between a send and its confirmation, and
at random moments, then run again: every due message is delivered, none twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from backoffice.cli.workspace import write_example
from backoffice.services.expiry_watcher import SYSTEM

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("America/New_York"))  # a Tuesday
ITEMS = 12
# The child dies (SIGKILL, no cleanup) right after its k-th send, before confirming it.
DIE_AFTER_SEND = """
import os, signal, sys
from backoffice.services import delivery
k, sends = int(sys.argv[1]), [0]
confirm = delivery.confirm
def confirm_or_die(*args, **kwargs):
    sends[0] += 1
    if sends[0] == k:
        os.kill(os.getpid(), signal.SIGKILL)
    return confirm(*args, **kwargs)
delivery.confirm = confirm_or_die
from backoffice.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def workspace(tmp_path: Path) -> Path:
    write_example(SYSTEM, tmp_path, date(2026, 12, 1))
    toml = tmp_path / "backoffice.toml"
    toml.write_text(toml.read_text().replace('digest_day = "Mon"', 'digest_day = "off"'))
    rows = [f"IT-{n:02d},Item {n},2026-12-{10 + n:02d},owner{n}@example.com" for n in range(ITEMS)]
    (tmp_path / "registry.csv").write_text("item_id,name,expires_on,owner\n" + "\n".join(rows))
    return tmp_path


def tick(folder: Path, at: datetime, die_after: int = 0) -> subprocess.CompletedProcess[str]:
    args = ["tick", "--workspace", str(folder), "--now", at.isoformat()]
    command = [sys.executable, "-c", DIE_AFTER_SEND, str(die_after), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def delivered(folder: Path) -> Counter[str]:
    return Counter(
        line.split(": ", 1)[1].strip()
        for path in (folder / "outbox").glob("*.eml")
        for line in path.read_text().splitlines()
        if line.startswith("X-Backoffice-Key: ")
    )


def test_killed_between_send_and_confirm_each_message_still_goes_out_once(
    tmp_path: Path,
) -> None:
    folder = workspace(tmp_path)
    for k in (1, 3, 5):  # three runs, each killed after a send it never confirmed
        run = tick(folder, NOW, die_after=k)
        assert run.returncode == -signal.SIGKILL
    # The leases of the unconfirmed claims run out; the next tick retakes them.
    final = tick(folder, NOW + timedelta(minutes=11))
    assert final.returncode == 0, final.stderr
    counts = delivered(folder)
    assert len(counts) == ITEMS  # a first alert for each: nothing lost
    assert set(counts.values()) == {1}, [key for key, n in counts.items() if n > 1]
    assert "Traceback" not in final.stderr


def test_killed_at_random_moments_nothing_is_lost_or_sent_twice(tmp_path: Path) -> None:
    folder = workspace(tmp_path)
    chance = random.Random(20261201)
    args = ["tick", "--workspace", str(folder), "--now", NOW.isoformat()]
    for _ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-m", "backoffice.cli.main", *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(chance.uniform(0.2, 1.2))
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    final = tick(folder, NOW + timedelta(minutes=11))
    assert final.returncode == 0, final.stderr
    counts = delivered(folder)
    assert len(counts) == ITEMS and set(counts.values()) == {1}


@pytest.mark.parametrize("k", [2])
def test_a_tick_shows_the_messages_left_in_flight(tmp_path: Path, k: int) -> None:
    folder = workspace(tmp_path)
    tick(folder, NOW, die_after=k)
    shown = tick(folder, NOW + timedelta(minutes=1))
    assert "In flight: claimed, not confirmed yet (1):" in shown.stdout
