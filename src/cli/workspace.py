"""Workspaces on disk: writing the bundled example, and checking everything the owner edits."""

from __future__ import annotations

import re
import secrets
from datetime import date, timedelta
from importlib import resources
from pathlib import Path

from backoffice.cli.systems import system_for
from backoffice.core.documents import DocumentError
from backoffice.core.problems import Problem
from backoffice.core.settings import SETTINGS_FILE, SYSTEMS, holiday_problem, load_settings

EXAMPLE_FILES = {
    "expiry-watcher": ("backoffice.toml", "rules.toml", "voice.toml", "registry.csv"),
    "appointment-reminder": ("backoffice.toml", "rules.toml", "voice.toml", "appointments.csv"),
}
# {+40}: the date 40 days after today; {+1 10:00}: tomorrow at 10:00.
_OFFSET = re.compile(r"\{\+(\d+)( \d\d:\d\d)?\}")


class UserError(Exception):
    """Something the person running the command can fix; the message says what and where."""


def write_example(system: str, target: Path, today: date) -> list[Path]:
    """Copy the system's example into `target`, with dates relative to today and a fresh secret."""
    if system not in SYSTEMS:
        raise ValueError(system)
    if system not in EXAMPLE_FILES:
        raise UserError(f"{system} has no example yet; available: {', '.join(EXAMPLE_FILES)}")
    target.mkdir(parents=True, exist_ok=True)
    existing = [name for name in EXAMPLE_FILES[system] if (target / name).exists()]
    if existing:
        raise UserError(f"{target / existing[0]} already exists; choose an empty folder")
    source = resources.files("backoffice.cli").joinpath("examples", system)
    written = []
    for name in EXAMPLE_FILES[system]:
        text = source.joinpath(name).read_text(encoding="utf-8")
        text = text.replace("{link_secret}", secrets.token_urlsafe(32))
        text = _OFFSET.sub(
            lambda m: (today + timedelta(days=int(m.group(1)))).isoformat() + (m.group(2) or ""),
            text,
        )
        path = target / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def check_workspace(workspace: Path) -> list[Problem]:
    """Every problem in the settings, rules, voice and sheet, not just the first."""
    problems: list[Problem] = []
    try:
        settings_text = (workspace / SETTINGS_FILE).read_text(encoding="utf-8-sig")
        settings = load_settings(settings_text, SETTINGS_FILE)
    except FileNotFoundError:
        raise UserError(
            f"{workspace / SETTINGS_FILE} not found; run `backoffice init` first"
        ) from None
    except DocumentError as error:
        return [_problem(error)]
    holidays = holiday_problem(settings, settings_text)
    if holidays is not None:
        problems.append(_problem(holidays))
    system = system_for(settings)
    if "link_secret" not in settings.secrets:
        problems.append(
            Problem(
                SETTINGS_FILE,
                None,
                None,
                None,
                "missing [secrets] link_secret, needed to sign the links",
            )
        )
    try:
        system.load_voice(_read(workspace, "voice.toml"))
    except DocumentError as error:
        problems.append(_problem(error))
    try:
        sheet = _read(workspace, system.sheet_file)
        return [*problems, *system.check(sheet, _read(workspace, "rules.toml"), settings)]
    except DocumentError as error:
        return [*problems, _problem(error)]


def workspace_notes(workspace: Path) -> list[str]:
    """What `check` mentions without calling it a problem; nothing when the files have problems."""
    settings = load_settings(_read(workspace, SETTINGS_FILE), SETTINGS_FILE)
    system = system_for(settings)
    texts = [_read(workspace, name) for name in (system.sheet_file, "rules.toml", "voice.toml")]
    return system.notes(*texts, settings)


def _read(workspace: Path, name: str) -> str:
    try:
        return (workspace / name).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DocumentError(name, None, f"{name} is missing from {workspace}") from None


def _problem(error: DocumentError) -> Problem:
    return Problem(error.file, error.line, None, None, error.message)
