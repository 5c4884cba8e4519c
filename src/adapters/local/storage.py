"""The workspace folder as blob storage, and the owner's CSV file as the sheet."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath

from backoffice.ports import Blob


def write_atomically(path: Path, body: bytes) -> os.stat_result:
    """Readers see the old file or the new one, never half of one. Returns the new file's
    status, taken before it replaces the old one: a stat of the path afterwards could be a
    later writer's file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
            out.flush()
            written = os.fstat(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return written


def write_new(path: Path, body: bytes) -> bool:
    """Write a file that must not exist yet, whole or not at all; False when it already does
    (two writers racing for one name: exactly one wins)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
        os.link(temporary, path)
    except FileExistsError:
        return False
    finally:
        Path(temporary).unlink(missing_ok=True)
    return True


class FolderBlobs:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        relative = PurePosixPath(key)
        if not key or relative.is_absolute() or ".." in relative.parts:
            raise ValueError(f"blob key {key!r} must be a relative path inside the workspace")
        return self.root.joinpath(*relative.parts)

    def get(self, key: str) -> Blob | None:
        try:
            with self._path(key).open("rb") as blob:
                return Blob(blob.read(), _version(os.fstat(blob.fileno())))
        except FileNotFoundError:
            return None

    def put(self, key: str, body: bytes) -> str:
        return _version(write_atomically(self._path(key), body))


def _version(stat: os.stat_result) -> str:
    """The file's identity, not a hash of its bytes: every write makes a new file (a new
    inode), and a tick reads the whole sheet once per delivered move, where hashing it cost
    more than the rest of the delivery."""
    return f"{stat.st_ino:x}-{stat.st_mtime_ns:x}-{stat.st_size:x}"
