"""Native code (llama.cpp, Chroma's bindings) kept from breaking the CLI's output contract.

llama.cpp aborts on a failed assertion (for example when it cannot start
the threads it was asked for) and, before dying, runs gdb to print a
backtrace on *standard output*: inside what should have been JSON. Two
guards, installed by the CLI before any model loads:

* :func:`quiet_native_crashes`: ggml's backtrace is switched off
  (``GGML_NO_BACKTRACE``), and an abort (SIGABRT) ends the process with
  one ``error:`` line on stderr and exit status 1 instead of a core dump.
  The handler is Python code called by ctypes, which takes the GIL; the
  threads that abort (llama.cpp's, while the main thread waits in a ctypes
  call with the GIL released) can take it. ``RAGBOT_DEBUG=1`` leaves
  aborts, and ggml's backtrace, alone.
* :func:`native_stdout_to_stderr`: for ``--json`` commands, file
  descriptor 1 is pointed at stderr, and Python's ``sys.stdout`` writes to
  a private copy of the real stdout. Whatever native code prints then
  lands on stderr, and stdout carries nothing but the JSON ragbot writes.
"""

from __future__ import annotations

import ctypes
import io
import os
import signal
import sys
from typing import Any

NATIVE_CRASH = (
    "the model runtime (llama.cpp) or another native library crashed (SIGABRT); "
    "`ragbot doctor` checks each part, RAGBOT_DEBUG=1 shows the library's own messages"
)
_HANDLER_TYPE = ctypes.CFUNCTYPE(None, ctypes.c_int)
_installed: list[Any] = []  # the ctypes callback must outlive this call, or the handler is freed


def quiet_native_crashes() -> None:
    """No gdb backtrace from ggml, and an abort is one ``error:`` line (exit status 1)."""
    if os.environ.get("RAGBOT_DEBUG") or _installed:
        return
    os.environ.setdefault("GGML_NO_BACKTRACE", "1")

    def on_abort(_signum: int) -> None:
        try:
            sys.stdout.flush()  # answers already printed stay whole
        except Exception:  # noqa: BLE001: the process is ending; the line below matters more
            pass
        os.write(2, f"error: {NATIVE_CRASH}\n".encode())
        os._exit(1)

    handler = _HANDLER_TYPE(on_abort)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.signal.restype = ctypes.c_void_p
        libc.signal.argtypes = [ctypes.c_int, _HANDLER_TYPE]
        libc.signal(signal.SIGABRT, handler)
    except (OSError, AttributeError):  # no libc symbols to call: aborts stay as they were
        return
    _installed.append(handler)


def native_stdout_to_stderr() -> None:
    """Point file descriptor 1 at stderr; ``sys.stdout`` keeps the real stdout (a private copy)."""
    try:
        if sys.stdout.fileno() != 1:  # already redirected, or a test runner's capture
            return
        sys.stdout.flush()
        private = os.dup(1)
        os.dup2(2, 1)
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # no real descriptors
        return
    sys.stdout = io.TextIOWrapper(
        os.fdopen(private, "wb"),
        encoding=getattr(sys.stdout, "encoding", None) or "utf-8",
        errors=getattr(sys.stdout, "errors", None) or "strict",
        line_buffering=True,
    )
