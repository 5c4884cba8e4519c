"""Workspaces on disk: writing the bundled example, and checking everything the owner edits."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path

from backoffice.core.documents import DocumentError, decode, line_of, load_toml, raise_all
from backoffice.core.problems import Problem
from backoffice.core.settings import SETTINGS_FILE, Settings, holiday_problem
from backoffice.handlers.wiring import read_settings
from backoffice.ports import Blobs
from backoffice.services.registry import SYSTEMS, system_named
from backoffice.services.system import Documents, System

# {+40}: the date 40 days after today; {+1 10:00}: tomorrow at 10:00; {-2}: two days ago.
_OFFSET = re.compile(r"\{([+-]\d+)( \d\d:\d\d)?\}")
# {link_secret}, {webhook_secret}: a fresh secret each
_SECRET = re.compile(r"\{(\w+_secret)\}")


class UserError(Exception):
    """Something the person running the command can fix; the message says what and where."""


def write_example(system: System, target: Path, today: date) -> list[Path]:
    """Copy the system's example into `target`, with dates relative to today and a fresh secret."""
    if target.exists() and not target.is_dir():
        raise UserError(f"{target} is a file; choose a folder (new or empty)")
    target.mkdir(parents=True, exist_ok=True)
    existing = [name for name in system.example if (target / name).exists()]
    if existing:
        raise UserError(f"{target / existing[0]} already exists; choose an empty folder")
    source = resources.files("backoffice.cli").joinpath("examples", system.name)
    written = []
    for name in system.example:
        path = target / name
        if "/" in name:  # a folder's file (an image): copied as it is
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(source.joinpath(name).read_bytes())
            written.append(path)
            continue
        text = source.joinpath(name).read_text(encoding="utf-8")
        text = _SECRET.sub(lambda m: secrets.token_urlsafe(32), text)
        text = _OFFSET.sub(
            lambda m: (today + timedelta(days=int(m.group(1)))).isoformat() + (m.group(2) or ""),
            text,
        )
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written + _signed_samples(system, target)


def _signed_samples(system: System, target: Path) -> list[Path]:
    """Each sample request's signature beside it (`<name>.signature`), made with the secret
    this workspace was just given, so the samples can be sent as the platform would."""
    if system.sign_sample is None:
        return []
    settings = read_settings(target)
    written = []
    for name in (n for n in system.example if n.startswith("samples/")):
        path = target / f"{name}.signature"
        path.write_text(system.sign_sample(settings, name, (target / name).read_bytes()) + "\n")
        written.append(path)
    return written


def load_workspace_settings(workspace: Path) -> Settings:
    if not (workspace / SETTINGS_FILE).exists():
        raise UserError(f"{workspace / SETTINGS_FILE} not found; run `backoffice init` first")
    return read_settings(workspace)


def refresh_documents(
    workspace: Path, settings: Settings, system: System, into: Blobs | None = None
) -> list[Problem]:
    """The workspace's copies of its Google documents, brought up to date. When Google cannot be
    reached (or the key cannot be read) the last copies are used and the problem says so; with
    no copy to fall back on, it is an error."""
    from backoffice.handlers.machine import mirror_documents

    if not any(settings.source(doc).google for doc in ("sheet", "rules", "voice")):
        return []
    try:
        mirror_documents(workspace, settings, system, into)
    except Exception as error:  # Google, the network or the key: said, not raised
        message = f"the Google documents could not be read ({error}); the last copies are used"
        try:
            require_documents(workspace, system)
        except DocumentError:
            raise DocumentError(SETTINGS_FILE, None, message.split(";")[0]) from None
        return [Problem(SETTINGS_FILE, None, None, None, message)]
    return []


def check_workspace(workspace: Path) -> list[Problem]:
    """Every problem in the settings, rules, voice and sheet, not just the first."""
    try:
        settings = load_workspace_settings(workspace)
    except DocumentError as error:
        return error.problems()
    try:
        problems = refresh_documents(workspace, settings, system_named(settings.system))
    except DocumentError as error:
        return error.problems()
    holidays = holiday_problem(settings, _read(workspace, SETTINGS_FILE))
    if holidays is not None:
        problems += holidays.problems()
    if "link_secret" not in settings.secrets:
        message = "missing [secrets] link_secret, needed to sign the links"
        problems.append(Problem(SETTINGS_FILE, None, None, None, message))
    system = system_named(settings.system)
    try:
        return [*problems, *system.check(documents(workspace, system), settings)]
    except DocumentError as error:
        return [*problems, *error.problems()]


def documents(workspace: Path, system: System) -> Documents:
    """The sheet, rules and voice of a workspace, and the files of its folders (with what
    reads an image for what it is); every missing or unreadable document is named."""
    require_documents(workspace, system)
    files = dict(folder_files(workspace, system))
    images = None
    if system.folders:
        from backoffice.adapters.fake import FakeBlobs
        from backoffice.adapters.images import BlobRenderCache, PillowImages

        images = PillowImages(BlobRenderCache(FakeBlobs(), "http://127.0.0.1"))
    return Documents(
        sheet=_bytes(workspace, system.sheet.file),
        rules=_read(workspace, "rules.toml"),
        voice=_read(workspace, "voice.toml") if "voice.toml" in system.documents else "",
        files=files,
        images=images,
    )


def folder_files(workspace: Path, system: System) -> Iterator[tuple[str, bytes]]:
    """Each file directly in the system's folders, keyed as the blobs name it (images/a.jpg)."""
    for folder in system.folders:
        root = workspace / folder
        if root.is_dir():
            for path in sorted(root.iterdir()):
                if path.is_file():
                    yield f"{folder}/{path.name}", path.read_bytes()


def require_documents(workspace: Path, system: System) -> None:
    """Each document the system needs that the workspace lacks, with how to get one."""
    missing = [
        DocumentError(
            name,
            None,
            f"{name} is missing from {workspace}; `backoffice init {system.name} EXAMPLE-DIR` "
            "writes an example to copy it from",
        )
        for name in (system.sheet.file, *system.documents)
        if not (workspace / name).is_file()
    ]
    raise_all(missing)


def workspace_notes(workspace: Path, now: datetime) -> list[str]:
    """What `check` mentions without calling it a problem; nothing when the files have problems."""
    settings = load_workspace_settings(workspace)
    system = system_named(settings.system)
    return [
        *_foreign_settings(workspace, system),
        *system.notes(documents(workspace, system), settings, now),
    ]


def _foreign_settings(workspace: Path, system: System) -> list[str]:
    """Settings only other systems read: harmless, but the owner may think they do something."""
    text = _read(workspace, SETTINGS_FILE)
    others = {key for other in SYSTEMS if other is not system for key in other.settings_keys}
    unused = sorted((set(load_toml(text, SETTINGS_FILE)) & others) - system.settings_keys)
    return [
        f"{SETTINGS_FILE}:{line_of(text, key)} {key} is not used by the {system.name}"
        for key in unused
    ]


def _read(workspace: Path, name: str) -> str:
    return decode(_bytes(workspace, name), name)


def _bytes(workspace: Path, name: str) -> bytes:
    try:
        return (workspace / name).read_bytes()
    except FileNotFoundError:
        raise DocumentError(name, None, f"{name} is missing from {workspace}") from None
