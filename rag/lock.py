"""One writer per store: a second ``ragbot ingest`` fails at once instead of hanging.

The lock is an advisory ``flock`` on ``<storage_dir>/ingest.lock`` holding the
writer's process id. The kernel releases it when the process ends, however it
ends (``kill -9`` included), so a crash never leaves a stale lock behind.
Readers (``ask``, ``chat``, the bot) do not take it. In Chroma server mode the
lock still guards the local embedding cache, but writers on other machines
are not seen; run ingestion from one place.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rag.errors import StoreAccessDenied, StoreLocked
from rag.storage_errors import check_storage_path, storage_problem

LOCK_NAME = "ingest.lock"
PID_WAIT_S = 0.5  # how long a refused writer waits for the holder to write its pid


def _holder_pid(fd: int) -> str:
    """The lock holder's process id, as written in the lock file ("" if none shows up).

    The holder writes it just after taking the lock (and clears it just
    before letting go), so a writer refused in between finds the file empty:
    it waits a moment for the pid rather than naming no one.
    """
    deadline = time.monotonic() + PID_WAIT_S
    while True:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        if pid or time.monotonic() >= deadline:
            return pid
        time.sleep(0.01)


@contextmanager
def writer_lock(storage_dir: Path) -> Iterator[None]:
    """Hold the store's writer lock for the ``with`` block, or raise StoreLocked."""
    path = storage_dir / LOCK_NAME
    check_storage_path(storage_dir)
    try:
        storage_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as error:
        problem = storage_problem(error, storage_dir)  # read-only, full, not a folder
        if problem is not None:
            raise problem from None
        if isinstance(error, PermissionError):
            raise StoreAccessDenied(
                f"no permission to write to {storage_dir}: ingestion needs to write the store; "
                "run it as the store's owner or fix its permissions"
            ) from None
        raise
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder_pid(fd)
            holder = f"process {pid}" if pid else "another process"
            raise StoreLocked(
                f"storage is locked by {holder}: another ingestion is writing to "
                f"{storage_dir}; wait for it to finish"
            ) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        except OSError as error:  # a full disk: not even the pid fits
            raise storage_problem(error, storage_dir) or error from None
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def writer_active(storage_dir: Path) -> bool:
    """Whether an ingestion holds the store's writer lock right now (for ``doctor``)."""
    try:
        fd = os.open(storage_dir / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
