"""Operating-system failures of the storage folder, named for what they are.

Chroma's Rust layer reports a full disk as "Error in compaction: Failed to
apply logs to the metadata segment", SQLite as "database or disk is full"
or "attempt to write a readonly database", and Python as ``OSError`` with
an errno. Read as damage, a full disk had the store moved aside and
rebuilt, which only fills the disk further. :func:`storage_problem` looks
at the error (its whole chain) and, when that says nothing, at the file
system itself, and returns the error that names the real problem, or None
when it is none of these (and the caller's own reading stands).

>>> storage_problem(OSError(28, "No space left on device"), None).__class__.__name__
'StoreFull'
>>> storage_problem(ValueError("bad"), None) is None
True
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from rag.errors import StoreError, StoreFull, StorePathInvalid, StoreReadOnly

# Below this much room for unprivileged writes, a failed write is taken for a full disk.
LOW_SPACE_BYTES = 16 * 2**20
_FULL_MESSAGES = ("database or disk is full", "no space left on device", "os error 28", "disk quota exceeded")
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_KINDS = ((stat.S_ISREG, "a file"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (what statvfs can ask about)."""
    for candidate in (path, *path.absolute().parents):
        if candidate.exists():
            return candidate
    return Path("/")


def read_only_fs(path: Path) -> bool:
    """Whether ``path`` (or the folder it would be created in) is on a read-only file system."""
    try:
        return bool(os.statvfs(_existing(path)).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _low_space(path: Path) -> bool:
    try:
        info = os.statvfs(_existing(path))
    except OSError:
        return False
    return info.f_bavail * info.f_frsize < LOW_SPACE_BYTES


def full(path: Path | None) -> StoreFull:
    where = f" holding {path}" if path else ""
    return StoreFull(
        f"no space left on the device{where}: free some space, then run `ragbot ingest` again "
        "(the index is not damaged and nothing was moved; ingestion resumes where it stopped)"
    )


def read_only(path: Path | None) -> StoreReadOnly:
    where = f"the store at {path} is" if path else "the store is"
    return StoreReadOnly(
        f"{where} on a read-only file system: remount it read-write or point --storage / "
        "RAGBOT_STORAGE_DIR at a writable folder (Chroma writes even when it only answers)"
    )


def path_problem(storage: Path) -> StorePathInvalid | None:
    """StorePathInvalid when ``storage`` or a folder above it exists but is not a folder."""
    for candidate in (storage, *storage.parents):
        try:
            mode = candidate.stat().st_mode  # links followed: a link to a folder is fine
        except (FileNotFoundError, NotADirectoryError):  # not there, or under a file: look higher
            continue
        except OSError:
            return None  # no permission to look, or a loop: the caller's own check reports it
        if stat.S_ISDIR(mode):
            return None
        kind = next((name for test, name in _KINDS if test(mode)), "not a folder")
        where = f"storage path {storage} is" if candidate == storage else f"{candidate}, above storage path {storage}, is"
        return StorePathInvalid(
            f"{where} {kind}, not a folder: point --storage or RAGBOT_STORAGE_DIR at a folder"
        )
    return None


def check_storage_path(storage: Path) -> None:
    """Raise StorePathInvalid when the storage path cannot be a folder."""
    problem = path_problem(storage)
    if problem is not None:
        raise problem


def storage_problem(error: BaseException, path: Path | None) -> StoreError | None:
    """The store error ``error`` really is (disk full, read-only, not a folder), or None.

    ``path`` is the storage folder, when known; without it the error's own file name is used.
    """
    chain = _chain(error)
    if path is None:
        path = next((Path(e.filename) for e in chain if isinstance(e, OSError) and e.filename), None)
    numbers = {getattr(e, "errno", None) for e in chain}
    text = " ".join(str(e).lower() for e in chain)
    if numbers & _FULL_ERRNOS or any(message in text for message in _FULL_MESSAGES):
        return full(path)
    if errno.EROFS in numbers:
        return read_only(path)
    if path is not None and numbers & {errno.ENOTDIR, errno.EEXIST}:
        problem = path_problem(path)
        if problem is not None:
            return problem
    if path is not None and read_only_fs(path):
        return read_only(path)
    if path is not None and _low_space(path):  # Chroma's Rust layer does not say why a write failed
        return full(path)
    return None
