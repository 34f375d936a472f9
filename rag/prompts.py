"""Prompt templates kept as files in ``prompts/``, loaded by name.

Templates use ``$name`` placeholders (``string.Template``) so that braces in
questions or evidence can never break formatting.

>>> "$question" in load_prompt("answer_user").template
True
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from string import Template

from rag.errors import ConfigError

PROMPT_DIR = Path(os.environ.get("RAGBOT_PROMPT_DIR", Path(__file__).resolve().parent.parent / "prompts"))


@lru_cache(maxsize=None)
def load_prompt(name: str) -> Template:
    path = PROMPT_DIR / f"{name}.txt"
    try:
        return Template(path.read_text(encoding="utf-8"))
    except OSError:
        raise ConfigError(f"prompt file missing: {path}") from None


@lru_cache(maxsize=None)
def has_prompt(name: str) -> bool:
    """Whether ``prompts/<name>.txt`` exists (a regular file); asked once per name, like :func:`load_prompt`."""
    return (PROMPT_DIR / f"{name}.txt").is_file()


def render(name: str, **values: str) -> str:
    return load_prompt(name).safe_substitute(**values)
