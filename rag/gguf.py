"""A GGUF model file of the user's (``RAGBOT_LLM_MODEL_PATH``): checked, and named by a fingerprint.

A model's identity keys its prompt-prefix KV cache and its calibration
(:mod:`rag.calibration`), so two files must never share one: the identity
is the file's name plus a fingerprint of its size and its first
:data:`FINGERPRINT_BYTES` bytes. Those hold the GGUF header and metadata
(architecture, tokenizer, chat template, quantisation): cheap to read at
start-up, where hashing 4 GB of weights would take many seconds, and they
differ between any two models or quantisations in practice.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> (folder / "a.gguf").write_bytes(b"GGUF" + bytes(60))
64
>>> model_identity(folder / "a.gguf")
'gguf:a.gguf@ec34fbaa2181'
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from rag.errors import ModelError

GGUF_MAGIC = b"GGUF"
FINGERPRINT_BYTES = 32 * 1024 * 1024  # header and metadata; a big tokenizer's vocabulary fits


def check_model_file(path: Path) -> Path:
    """``path`` if it is a readable regular GGUF file, else ModelError naming it."""
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a regular file"
        raise ModelError(f"model file {path} {what} (RAGBOT_LLM_MODEL_PATH)")
    try:
        with path.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as error:
        raise ModelError(f"model file {path} cannot be read ({error.strerror})") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"model file {path} is not a GGUF file (llama.cpp reads only GGUF)")
    return path


def model_identity(path: Path) -> str:
    """``gguf:<file name>@<fingerprint>``: the size and the first bytes, hashed."""
    digest = hashlib.sha256(str(path.stat().st_size).encode("ascii"))
    with path.open("rb") as handle:
        digest.update(handle.read(FINGERPRINT_BYTES))
    return f"gguf:{path.name}@{digest.hexdigest()[:12]}"
