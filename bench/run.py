"""Every benchmark in one run: each system's figures beside their floors, and the ratios.

Each module here measures its own figures and their floors in the same process, so a ratio
holds whatever the machine; the machine's load before and after is printed with them, since a
busy machine stretches the ratios of disk-bound figures most. Paste the output into
bench/RESULTS.md.

    python bench/run.py [--only expiry-watcher,social-inbox] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import appointments
import cold_start
import inbox
import onboarding
import social
import tick
from common import Figure, table

BENCHES: dict[str, Callable[[int], list[Figure]]] = {
    "expiry-watcher": lambda repeat: tick.figures(repeat),
    "appointment-reminder": lambda repeat: appointments.figures(repeat),
    "onboarding-guide": lambda repeat: onboarding.figures(repeat),
    "social-scheduler": lambda repeat: social.figures(repeat),
    "social-inbox": lambda repeat: inbox.figures(repeat),
    "cold start": lambda repeat: cold_start.figures(repeat),
}


def machine() -> str:
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, load average {load} (1, 5, 15 min)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(BENCHES), help="comma-separated names")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",")]
    unknown = sorted(set(chosen) - set(BENCHES))
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; known: {', '.join(BENCHES)}")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; before: {machine()}\n")
    started, found = time.perf_counter(), []
    for name in chosen:
        found += BENCHES[name](args.repeat)
    print(table(found))
    missed = [f for f in found if not f.within]
    print(f"\nafter {time.perf_counter() - started:.0f} s: {machine()}")
    print(f"{len(found) - len(missed)} of {len(found)} figures within their targets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
