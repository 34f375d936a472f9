"""Docs that cannot drift: every command, option, setting and link the README and docs/ name exists.

Read from the code itself: the click command tree (bot/cli.py) and the
settings object (rag/config.py). Prose that merely mentions ragbot ("ragbot
answers ...") is not a command: only code spans and code blocks are read.
"""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from bot.cli import cli
from rag.config import Settings

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
CODE = re.compile(r"```.*?\n(.*?)```|`([^`\n]+)`", re.DOTALL)
INVOCATION = re.compile(r"(?<![\w.-])ragbot\s+([a-z][a-z-]*)([^\n|#;&`]*)")
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
SETTING = re.compile(r"\bRAGBOT_[A-Z0-9_]+\b")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def code_in(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [block or span for block, span in CODE.findall(text)]


def invocations() -> list[tuple[str, str, str]]:
    """(doc, command, options text) of every `ragbot COMMAND ...` in code."""
    found = []
    for doc in DOCS:
        for code in code_in(doc):
            for command, rest in INVOCATION.findall(code):
                found.append((doc.name, command, rest))
    return found


def test_the_docs_show_commands_at_all() -> None:
    assert {command for _, command, _ in invocations()} >= {"ingest", "ask", "chat", "doctor", "eval", "discord"}


@pytest.mark.parametrize(("doc", "command", "rest"), invocations())
def test_every_command_and_option_named_exists(doc: str, command: str, rest: str) -> None:
    group: click.Group = cli
    assert command in group.commands, f"{doc}: `ragbot {command}` is no command"
    known = {opt for param in group.commands[command].params for opt in (*param.opts, *param.secondary_opts)}
    for option in OPTION.findall(rest):
        assert option in known, f"{doc}: `ragbot {command} {option}` is no option of it"


def names_of(field_name: str) -> set[str]:
    """The environment names one settings field answers to (RAGBOT_X and its aliases)."""
    names = {f"RAGBOT_{field_name.upper()}"}
    for choice in getattr(Settings.model_fields[field_name].validation_alias, "choices", []) or []:
        if isinstance(choice, str) and choice.upper() != field_name.upper():
            names.add(choice.upper())
    return names


def setting_names() -> set[str]:
    """Every environment name a settings field answers to."""
    return {name for field_name in Settings.model_fields for name in names_of(field_name)}


def environment_read_by_code() -> set[str]:
    """RAGBOT_ names the code reads outside the settings object (RAGBOT_DEBUG, RAGBOT_PROMPT_DIR)."""
    return {name for path in [*(REPO / "rag").rglob("*.py"), *(REPO / "bot").rglob("*.py")]
            for name in SETTING.findall(path.read_text(encoding="utf-8"))}


def test_every_setting_named_in_the_docs_exists() -> None:
    known = setting_names() | environment_read_by_code()
    named = {(doc.name, name) for doc in DOCS for name in SETTING.findall(doc.read_text(encoding="utf-8"))}
    assert sorted(f"{doc}: {name}" for doc, name in named if name not in known) == []


def test_every_setting_is_in_the_configuration_table() -> None:
    page = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = [line for line in page.splitlines() if line.startswith("| `")]
    in_table = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}
    missing = [name for name in Settings.model_fields if not names_of(name) & in_table]
    assert missing == []


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_relative_link_leads_somewhere(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text(encoding="utf-8")):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a web address or an anchor on the same page
        if not (doc.parent / target.split("#", 1)[0]).exists():
            broken.append(target)
    assert broken == []


def test_the_layout_names_every_module() -> None:
    """docs/architecture.md's module table matches the tree: no module unlisted, none listed that is gone."""
    page = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `((?:rag|bot)/[\w/]+\.py)` \|", page, re.MULTILINE))
    present = {path.relative_to(REPO).as_posix() for folder in ("rag", "bot") for path in (REPO / folder).rglob("*.py")
               if path.name != "__init__.py"}
    assert (sorted(present - listed), sorted(listed - present)) == ([], [])
