"""Hostile input and faults (docs/operations.md, "Reliability"): nothing hangs or grows,
a batch never loses answers, no secret or control character reaches the
output, and every fault is one specific `error:` line."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import chromadb  # noqa: F401 (imported before os.access is patched in a test)
import discord
import pytest

from bot.chat import render_answer as terminal_render
from bot.discord_bot import RagBot, serve
from bot.discord_format import discord_safe
from bot.discord_format import render_answer as discord_render
from rag.answer import Answer, Citation
from rag.config import Settings
from rag.documents import find_files, read_document
from rag.embedding_cache import EmbeddingCache
from rag.errors import BackendUnavailable, StoreAccessDenied, StoreCorrupt
from rag.generate import Draft
from rag.ingest import ingest
from rag.store import Store

from .conftest import MODEL_DIR, SEEDS, free_port
from .fake_ollama import FakeOllama
from .test_answer import ScriptedChat, engine_with
from .test_cli import assert_one_line_error, run

REPO = Path(__file__).resolve().parent.parent
PLUMBING = {"RAGBOT_EMBEDDED_LLM": "smollm2-135m", "RAGBOT_MODEL_DIR": str(MODEL_DIR)}


def run_bytes(*args: str, stdin: bytes, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], input=stdin, capture_output=True, env=full_env, timeout=600
    )


# --- 1. only regular files are read; nothing hangs -----------------------------------

def special_file(folder: Path, kind: str) -> Path:
    path = folder / f"x-{kind}.txt"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        try:
            os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero's numbers
        except PermissionError:  # no CAP_MKNOD: a link to the device is read the same way
            path.symlink_to("/dev/zero")
    else:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
    return path


@pytest.mark.parametrize("kind, reason", [
    ("fifo", "not a regular file (a FIFO)"),
    ("device", "not a regular file (a character device)"),
    ("socket", "not a regular file (a socket)"),
])
def test_special_files_are_skipped_before_they_are_opened(kind: str, reason: str) -> None:
    folder = Path(tempfile.mkdtemp(prefix="rb-"))  # short: a socket's path has a 108-byte cap
    path = special_file(folder, kind)
    for given in (folder, path):
        files, skipped = find_files([given])
        assert files == [] and [(s.path, s.reason) for s in skipped] == [(str(path), reason)]


def test_ingest_with_a_fifo_finishes_and_keeps_no_lock(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text((SEEDS / sorted(os.listdir(SEEDS))[0]).read_text(encoding="utf-8"))
    special_file(folder, "fifo")
    first = run("ingest", str(folder), "--storage", str(tmp_path / "s"), timeout=300)
    assert first.returncode == 3 and "not a regular file (a FIFO)" in first.stderr
    again = run("ingest", str(folder), "--storage", str(tmp_path / "s"), timeout=300)
    assert again.returncode == 3 and "locked" not in again.stderr


def test_a_file_is_never_read_past_the_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_text("Ord. " * 1000)
    from rag.documents import SkipFile, SourceFile

    with pytest.raises(SkipFile, match="larger than the 100-byte limit"):
        read_document(SourceFile(path, "big.txt", ""), max_bytes=100)
    # No cap at all (the evaluation reads so) reads the file, not a buffer of the cap's size.
    assert read_document(SourceFile(path, "big.txt", ""), max_bytes=2**62).text == "Ord. " * 1000


def test_empty_corpus_folder_is_an_error_and_prunes_nothing(tmp_path: Path) -> None:
    storage = str(tmp_path / "s")
    assert run("ingest", str(SEEDS), "--storage", storage).returncode == 0
    (tmp_path / "empty").mkdir()
    assert_one_line_error(run("ingest", str(tmp_path / "empty"), "--storage", storage), "no article files")
    kept = json.loads(run("ingest", str(SEEDS), "--json", "--storage", storage).stdout)
    assert kept["unchanged"] == kept["documents"] == len(list(SEEDS.glob("*.txt")))


def test_link_to_an_ingested_file_is_not_indexed_twice(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Putin met Erdogan in Moscow on Thursday.")
    (folder / "b.txt").symlink_to(folder / "a.txt")
    files, skipped = find_files([folder])
    assert [f.source for f in files] == ["a.txt"]
    assert [s.reason for s in skipped] == [f"link to {folder / 'a.txt'}, which is ingested itself"]


def silent_server() -> tuple[socket.socket, str]:
    """A server that accepts connections (the kernel's backlog) and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    return server, f"http://127.0.0.1:{server.getsockname()[1]}"


@pytest.mark.parametrize("service", ["chroma", "ollama"])
def test_a_server_that_never_answers_is_given_up_within_the_connect_timeout(service: str) -> None:
    server, url = silent_server()
    env = {"RAGBOT_CONNECT_TIMEOUT_S": "2", **PLUMBING}
    env.update({"RAGBOT_CHROMA_URL": url} if service == "chroma" else {"RAGBOT_LLM_BACKEND": "ollama", "OLLAMA_HOST": url})
    with server:
        started = time.monotonic()
        result = run("doctor", env=env, timeout=120)
    assert time.monotonic() - started < 60
    assert result.returncode == 1
    assert f"did not answer within 2 s (RAGBOT_CONNECT_TIMEOUT_S)" in result.stdout


# --- 2. a batch never loses answers -------------------------------------------------

@pytest.mark.parametrize("command", [("ask", "--json", "-"), ("chat", "--json")])
def test_undecodable_line_gets_its_error_and_the_rest_are_answered(tmp_path: Path, command: tuple[str, ...]) -> None:
    storage = str(tmp_path / "s")
    assert run("ingest", str(SEEDS), "--storage", storage).returncode == 0
    lines = b"Who did Putin invite?\nHvem m\xf8dtes \xff\xfe?\n\x1b[2J\x07\nWie lange dauerte das Treffen?\n"
    result = run_bytes(*command, "--storage", storage, stdin=lines, env=PLUMBING)
    assert result.returncode == 1, result.stderr
    objects = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [o.get("error") for o in objects] == [
        None, "the question is not valid UTF-8 text", "the question is empty", None
    ]
    assert objects[1]["question"] == "Hvem m\ufffddtes \ufffd\ufffd?"
    assert [o["question"] for o in objects if "answer" in o] == ["Who did Putin invite?", "Wie lange dauerte das Treffen?"]


def test_undecodable_argument_is_one_error_line() -> None:
    result = run_bytes("ask", "Hvem m\udcf8dtes?", stdin=b"", env={})
    assert result.returncode == 1
    assert result.stderr.decode().strip() == "error: the question is not valid UTF-8 text"


def test_a_pronoun_is_never_respelled_and_the_question_reaches_the_model_verbatim(
    seeded_store: Path, nano_e5
) -> None:
    question = "Hvad skal man undgå ifølge Kreml?"
    chat = ScriptedChat(lambda lines: Draft([1], "Man skal undgå en ny krise."))
    answer = engine_with(seeded_store, nano_e5, chat, min_relevance=0.0).ask(question)
    assert f"<<<{question}>>>" in chat.prompts[0][-1]["content"]
    assert "Isle of Man" not in chat.prompts[0][-1]["content"] + answer.answer
    assert answer.language == "da"


# --- 3. no secret in any output -----------------------------------------------------

TOKEN = "MTAxNjQ4OTk5OTk5OTk5OTk5OQ.CANARY.tokencanarytokencanary12"
PASSWORDS = ("OLLAMAPWCANARY", "CHROMAPWCANARY")


@pytest.mark.parametrize("args", [("doctor",), ("ask", "Who met?"), ("ingest", str(SEEDS)), ("discord",)])
def test_canaries_in_every_secret_setting_never_reach_output(args: tuple[str, ...]) -> None:
    dead = f"127.0.0.1:{free_port()}"
    env = {
        "DISCORD_TOKEN": TOKEN,
        "OLLAMA_HOST": f"http://user:{PASSWORDS[0]}@{dead}",
        "RAGBOT_CHROMA_URL": f"http://admin:{PASSWORDS[1]}@{dead}",
        "RAGBOT_LLM_BACKEND": "ollama",
        "RAGBOT_CONNECT_TIMEOUT_S": "2",
    }
    result = run(*args, env=env, timeout=300)
    shown = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in shown
    for secret in (TOKEN, "CANARY", *PASSWORDS):
        assert secret not in shown
    if args == ("doctor",):
        assert f"ollama_host = http://***@{dead}" in shown and f"chroma_url = http://***@{dead}" in shown


async def test_discord_unreachable_is_one_error_without_the_token(
    seeded_store: Path, nano_e5, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Discord's REST API at a port nobody listens on: what "no network" looks like to the client.
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{free_port()}/api/v10")
    bot = RagBot(engine_with(seeded_store, nano_e5, ScriptedChat()), Settings(storage_dir=seeded_store))
    with pytest.raises(BackendUnavailable, match="cannot reach Discord"):
        await serve(bot, TOKEN)
    assert TOKEN not in caplog.text


# --- 4. output safe for where it goes -----------------------------------------------

HOSTILE = Answer(
    "q", "See [official page](http://evil.example/phish?token=x) \x1b[2J**now** @everyone [1].", False, "en",
    [Citation("evil\x1b]0;owned\x07\x1b[2J.txt", "Click ![img](http://x/y.png) <@123456789012345678>\x1b[31m.",
              0, 10, "en", "Title\x1b[H")],
)


def test_terminal_output_holds_no_escape_or_control_character() -> None:
    from rich.console import Console

    console = Console(width=200, color_system=None, force_terminal=False)
    for full in (False, True):
        with console.capture() as out:
            console.print(terminal_render(HOSTILE, full=full))
        shown = out.get()
        assert "\x1b" not in shown and "\x07" not in shown
        assert "evil.txt" in shown and "Click ![img](http://x/y.png)" in shown  # the text itself stays


def test_discord_messages_render_article_markup_as_plain_text() -> None:
    [(text, embed)] = discord_render(HOSTILE)
    field = embed.fields[0]
    for shown in (text, field.name, field.value):
        assert "\x1b" not in shown and "\x07" not in shown
    assert "\\[official page](http://evil.example/phish?token=x)" in text and text.endswith(" [1].")
    assert "\\*\\*now\\*\\*" in text and "@\u200beveryone" in text
    assert "!\\[img](http://x/y.png)" in field.value and "\\<@" in field.value


@pytest.mark.parametrize("text, shown", [
    ("# Heading\n> quote\n- item", "\\# Heading\n\\> quote\n\\- item"),
    ("a_b *c* ~~d~~ ||e|| `f`", "a\\_b \\*c\\* \\~\\~d\\~\\~ \\|\\|e\\|\\| \\`f\\`"),
    ("https://example.org/a_b_c", "https://example.org/a_b_c"),  # a bare URL stays whole
    ("<#123> <:e:1> <t:1:R>", "\\<#123> \\<:e:1> \\<t:1:R>"),
    ("plain text, 3.5 %", "plain text, 3.5 %"),
])
def test_discord_safe_edge_inputs(text: str, shown: str) -> None:
    assert discord_safe(text) == shown


# --- 5. specific messages; damaged parts moved aside, never overwritten --------------

def test_zero_byte_store_is_not_overwritten_by_a_reader_and_ingest_rebuilds_it(tmp_path: Path) -> None:
    storage = tmp_path / "s"
    assert run("ingest", str(SEEDS), "--storage", str(storage)).returncode == 0
    database = storage / "chroma" / "chroma.sqlite3"
    database.write_bytes(b"")
    assert_one_line_error(run("ask", "Who met?", "--storage", str(storage)), "is empty: run `ragbot ingest`")
    assert database.read_bytes() == b""
    rebuilt = run("ingest", str(SEEDS), "--storage", str(storage))
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "is empty: moved it to" in rebuilt.stderr and "move it aside" not in rebuilt.stderr
    assert len(list(storage.glob("chroma.damaged-*"))) == 1


def test_damaged_embedding_cache_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "embeddings.sqlite3"
    path.write_bytes(b"not a database at all" * 200)
    cache = EmbeddingCache.open(path, "toy")
    assert "was damaged" in cache.recovered and "moved it to embeddings.damaged-" in cache.recovered
    assert cache.embed(["ab"], lambda texts: [[1.0, 2.0]]) == [[1.0, 2.0]]
    cache.close()
    assert len(list(tmp_path.glob("embeddings.damaged-*.sqlite3"))) == 1
    sqlite3.connect(path).execute("SELECT count(*) FROM embedding").fetchone()


def test_store_without_permission_names_the_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, whom no permission bit stops; os.access is what the check asks.
    settings = Settings(storage_dir=tmp_path / "s")
    (tmp_path / "s" / "chroma").mkdir(parents=True)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(StoreAccessDenied, match="no permission to use the store") as caught:
        Store(settings).collection("x")
    assert "move it aside" not in str(caught.value)


@pytest.mark.parametrize("config, fragment", [
    ("min_relevnce = 0.5\n", "unknown setting in ragbot.toml: min_relevnce"),
    ("min_relevance = 5\n", "min_relevance: Input should be less than or equal to 1"),
])
def test_impossible_settings_are_refused_at_load(tmp_path: Path, config: str, fragment: str) -> None:
    (tmp_path / "ragbot.toml").write_text(config)
    assert_one_line_error(run("ask", "Who met?"), fragment)
