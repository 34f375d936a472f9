"""The llama.cpp KV cache of the fixed prompt prefix, kept on disk between processes.

Every answer starts with the same system prompt and worked examples (~350
tokens). Within one process llama.cpp reuses their cached tokens, but a new
process (``ragbot ask``) would spend one to two seconds on 2 cores evaluating them
again. So the first process saves that part of the KV cache (a few MB) and later
processes load it in milliseconds.

The file name is a hash of everything the cached values depend on: the model
file, llama-cpp-python's version, the context settings and the prompt text.
A changed prompt or model simply gets a new file (beyond a few, one per
answer language, the least recently used are removed); an unreadable or
rejected file is deleted and the prefix evaluated as usual, so the cache
can only save time, never change an answer: the restored values are the
bytes llama.cpp computed for the same tokens.

>>> key = prefix_key({"model": "m.gguf"}, [{"role": "system", "content": "Hi"}])
>>> key == prefix_key({"model": "m.gguf"}, [{"role": "system", "content": "Hi!"}]), len(key)
(False, 64)
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

SEQUENCE = 0  # llama-cpp-python keeps a conversation in sequence 0
_MAGIC = b"RAGBOT-KV1\n"


def prefix_key(runtime: dict[str, Any], messages: list[dict[str, str]]) -> str:
    """A stable hash of what the cached KV values depend on."""
    blob = json.dumps({"runtime": runtime, "messages": messages}, sort_keys=True)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def save_prefix(llama, path: Path) -> None:
    """Write the KV cache of ``llama``'s evaluated tokens (sequence 0) to ``path``."""
    import llama_cpp

    count = llama.n_tokens
    size = llama_cpp.llama_state_seq_get_size(llama._ctx.ctx, SEQUENCE)
    buffer = (ctypes.c_uint8 * size)()
    written = llama_cpp.llama_state_seq_get_data(llama._ctx.ctx, buffer, size, SEQUENCE)
    tokens = np.asarray(llama.input_ids[:count], dtype=np.int32).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.tmp")
    with open(partial, "wb") as out:
        out.write(_MAGIC)
        out.write(count.to_bytes(4, "little"))
        out.write(tokens)
        out.write(bytes(buffer)[:written])
    os.replace(partial, path)  # readers see the whole file or none


def load_prefix(llama, path: Path) -> bool:
    """Restore a saved prefix into ``llama``; False (and the file removed) if unusable."""
    import llama_cpp

    try:
        data = path.read_bytes()
    except OSError:
        return False
    header = len(_MAGIC) + 4
    if not data.startswith(_MAGIC) or len(data) < header:
        path.unlink(missing_ok=True)
        return False
    count = int.from_bytes(data[len(_MAGIC) : header], "little")
    tokens = np.frombuffer(data[header : header + 4 * count], dtype=np.int32)
    state = data[header + 4 * count :]
    if len(tokens) != count or not state or count > llama.n_ctx():
        path.unlink(missing_ok=True)
        return False
    buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
    llama.reset()
    if not llama_cpp.llama_state_seq_set_data(llama._ctx.ctx, buffer, len(state), SEQUENCE):
        path.unlink(missing_ok=True)
        return False
    llama.input_ids[:count] = tokens
    llama.n_tokens = count
    return True


KEEP_PREFIXES = 6  # one per answer language (rag.generate.answer_prefix) and room for a changed prompt


def remove_stale(directory: Path, keep: int = KEEP_PREFIXES) -> None:
    """Delete all but the ``keep`` most recently used prefix files in ``directory``.

    Each answer language has its own prefix (its worked examples are in that
    language), so several files are current at once; those of older prompts
    stop being used and go once newer ones outnumber them.
    """
    files = []
    for path in directory.glob("*.kv"):
        try:
            files.append((path.stat().st_mtime_ns, path))
        except OSError:
            continue  # removed by another process meanwhile
    for _, path in sorted(files, reverse=True)[keep:]:
        path.unlink(missing_ok=True)


def mark_used(path: Path) -> None:
    """Record that ``path`` was just used, so that :func:`remove_stale` keeps it."""
    try:
        os.utime(path)
    except OSError:
        pass  # a read-only model directory: the file is used all the same
