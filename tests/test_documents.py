"""Reading files for ingestion: encodings decode exactly, bad files are skipped with a reason."""

from __future__ import annotations

import codecs
import os
import random
from pathlib import Path

import pytest

from rag.documents import SkipFile, SourceFile, decode_text, find_files, read_document
from rag.errors import CorpusError

DANISH = "Mødet i Moskva varede tre timer – oplyser Kreml. Æbler, øl og år på Ærø.\n"
GERMAN = "Die Gespräche dauerten drei Stunden, teilte der Kreml mit. Grüße aus Köln.\n"


@pytest.mark.parametrize(
    "raw, text",
    [
        (DANISH.encode("utf-8"), DANISH),
        (codecs.BOM_UTF8 + DANISH.encode("utf-8"), DANISH),
        (DANISH.encode("cp1252"), DANISH),
        (GERMAN.encode("cp1252"), GERMAN),
        (GERMAN.encode("latin-1"), GERMAN),
        (DANISH.replace("–", "-").encode("latin-1"), DANISH.replace("–", "-")),
        (DANISH.encode("utf-16"), DANISH),  # with BOM, little-endian here
        (codecs.BOM_UTF16_BE + GERMAN.encode("utf-16-be"), GERMAN),
        (DANISH.encode("utf-32"), DANISH),
        ("Putin met Erdogan.\r\nCRLF line ends stay.\r\n".encode(), "Putin met Erdogan.\r\nCRLF line ends stay.\r\n"),
    ],
    ids=["utf8", "utf8-bom", "cp1252-da", "cp1252-de", "latin1-de", "latin1-da", "utf16le-bom", "utf16be-bom", "utf32", "crlf"],
)
def test_encodings_decode_to_the_same_text(raw: bytes, text: str) -> None:
    assert decode_text(raw) == text


@pytest.mark.parametrize(
    "raw, reason",
    [
        (bytes(range(256)) * 4, "binary file"),
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "binary file"),
        (b"%PDF-1.4\n" + bytes(range(0, 40)) * 20, "binary file"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "undecodable"),  # a lone surrogate
        (bytes(32 + x % 224 for x in random.Random(1).randbytes(3000)), "undecodable"),
    ],
    ids=["all-bytes", "png", "pdf", "broken-utf16", "random-no-nul"],
)
def test_binary_and_undecodable_bytes_are_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(SkipFile, match=reason):
        decode_text(raw)


def _read(path: Path, max_bytes: int = 10_000_000) -> str:
    return read_document(SourceFile(path, path.name, ""), max_bytes).text


def test_empty_oversized_and_unreadable_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "blank.md").write_text(" \n\n\t\n")
    (tmp_path / "big.txt").write_text(DANISH * 100)
    for name, reason in [("empty.txt", "empty file"), ("blank.md", "empty file")]:
        with pytest.raises(SkipFile, match=reason):
            _read(tmp_path / name)
    with pytest.raises(SkipFile, match="larger than"):
        _read(tmp_path / "big.txt", max_bytes=1000)
    locked = tmp_path / "locked.txt"
    locked.write_text(DANISH)
    locked.chmod(0)
    if os.geteuid() != 0:  # root reads anything
        with pytest.raises(SkipFile, match="cannot be read"):
            _read(locked)


def test_html_is_reduced_to_its_article(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><head><title>Putin og Erdogan mødes</title>"
        '<meta name="date" content="2020-03-05"></head><body>'
        '<nav><a href="/">Forside</a> <a href="/udland">Udland</a></nav>'
        "<article><h1>Putin og Erdogan mødes i Moskva</h1>"
        "<p>Den russiske præsident mødtes torsdag med den tyrkiske præsident i Moskva.</p>"
        "<p>Mødet varede tre timer, oplyser Kreml.</p></article>"
        "<footer>© 2020 Avisen. Alle rettigheder forbeholdes.</footer></body></html>",
        encoding="utf-8",
    )
    document = read_document(SourceFile(page, page.name, ""), 10_000_000)
    assert "Mødet varede tre timer, oplyser Kreml." in document.text
    assert "<" not in document.text and "Forside" not in document.text
    assert document.date == "2020-03-05"


def test_folder_walk_names_files_relative_and_skips_what_it_must(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "2020").mkdir(parents=True)
    (corpus / ".git").mkdir()
    (corpus / "a.txt").write_text(DANISH)
    (corpus / "2020" / "b.md").write_text(GERMAN)
    (corpus / "2020" / "c.HTML").write_text("<p>x</p>")
    (corpus / ".git" / "config.txt").write_text("not an article")
    (corpus / ".DS_Store").write_bytes(b"\x00\x01")
    (corpus / "notes.pdf").write_bytes(b"%PDF")
    outside = tmp_path / "secret.txt"
    outside.write_text("outside the corpus")
    (corpus / "escape.txt").symlink_to(outside)
    (corpus / "inside.txt").symlink_to(corpus / "a.txt")
    (corpus / "linked-dir").symlink_to(tmp_path, target_is_directory=True)

    files, skipped = find_files([corpus])
    assert [f.source for f in files] == ["a.txt", "2020/b.md", "2020/c.HTML"]
    assert {f.root for f in files} == {str(corpus.resolve())}
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert reasons == {
        "linked-dir": "linked folder (not followed)",
        "escape.txt": f"link that leads outside {corpus}",
        "inside.txt": f"link to {corpus / 'a.txt'}, which is ingested itself",  # not indexed twice
        "notes.pdf": "unsupported file type (use .txt, .md, .html, .htm)",
    }


def test_given_files_and_name_clashes(tmp_path: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    (tmp_path / "one" / "a.txt").write_text(DANISH)
    (tmp_path / "two" / "a.txt").write_text(GERMAN)
    files, skipped = find_files([tmp_path / "one", tmp_path / "two" / "a.txt"])
    assert [(f.source, f.root) for f in files] == [("a.txt", str((tmp_path / "one").resolve()))]
    assert skipped[0].reason.startswith("same name as")
    with pytest.raises(CorpusError, match="corpus path not found"):
        find_files([tmp_path / "nope"])
