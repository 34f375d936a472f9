"""Encodings (issue 45, items 5 and 9): a cp1252 article is read as cp1252
even where Mac Roman decodes it too, ``ingest --json`` says which encoding
each file was decoded with, ``RAGBOT_CORPUS_ENCODING`` forces one, and
offsets in a file with a byte-order mark count from after the mark."""

from __future__ import annotations

import codecs
import json
import shutil
from pathlib import Path

import pytest

from rag.corpus import read_article
from rag.documents import SkipFile, SourceFile, decode, read_document
from rag.evaluate import corpus_texts_of

from .conftest import SEEDS
from .test_cli import assert_one_line_error, run

SHORT_CP1252 = [  # texts the detector alone read as Mac Roman ("Ä4.5 billion", "ìDeal agreedî")
    "“Deal agreed”\n\nThe deal is worth €4.5 billion.",
    "Statoil invests\n\nThe deal is worth €4.5 billion.",
]
DANISH_MAC = "Mødet i København varede tre timer, sagde ministeren. Ærøskøbing og Århus"


@pytest.mark.parametrize("text", SHORT_CP1252)
def test_cp1252_is_preferred_to_mac_roman(text: str) -> None:
    assert decode(text.encode("cp1252")) == (text, "cp1252")


def test_a_real_mac_roman_file_is_still_read_as_mac_roman() -> None:
    assert decode(DANISH_MAC.encode("mac_roman")) == (DANISH_MAC, "mac-roman")


def corpus_with(tmp_path: Path, files: dict[str, bytes]) -> Path:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(next(SEEDS.glob("*.txt")), corpus / "seed.txt")
    for name, raw in files.items():
        (corpus / name).write_bytes(raw)
    return corpus


def test_ingest_json_reports_each_files_encoding_and_the_euro_survives(tmp_path: Path) -> None:
    article = "“Statoil buys field”\n\nStatoil said on Monday that it pays €4.5 billion for the field."
    corpus = corpus_with(tmp_path, {
        "deal.txt": article.encode("cp1252"),
        "bom.txt": codecs.BOM_UTF8 + "Møde i Moskva\n\nMødet varede omkring tre timer i alt.".encode(),
        "wide.txt": "Treffen in Moskau\n\nDas Treffen dauerte etwa drei Stunden.".encode("utf-16"),
    })
    result = run("ingest", str(corpus), "--json", "--storage", str(tmp_path / "s"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["encodings"] == {
        "bom.txt": "utf-8-sig", "deal.txt": "cp1252", "seed.txt": "utf-8", "wide.txt": "utf-16",
    }
    stored = read_article(SourceFile(corpus / "deal.txt", "deal.txt", ""), max_bytes=10**6)
    assert stored.text == article and any("€4.5 billion" in s.text for s in stored.sentences)


def test_a_forced_encoding_is_used_for_every_file_and_reported(tmp_path: Path) -> None:
    # One "€" in cp1252 is the same byte as "Ä" in Mac Roman: whoever knows the corpus decides.
    text = "Kraftværk i Ärhus\n\nKraftværket i Ärhus kostede 4,5 milliarder kroner."
    corpus = corpus_with(tmp_path, {"mac.txt": text.encode("mac_roman")})
    env = {"RAGBOT_CORPUS_ENCODING": "mac-roman"}
    result = run("ingest", str(corpus), "--json", "--storage", str(tmp_path / "s"), env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["encodings"] == {"mac.txt": "mac-roman", "seed.txt": "mac-roman"}
    assert read_document(SourceFile(corpus / "mac.txt", "mac.txt", ""), 10**6, "mac-roman").text == text
    # the evaluation checks quotes against the text as ingestion decoded it
    assert corpus_texts_of(corpus, "mac-roman")["mac.txt"] == text


def test_a_file_the_forced_encoding_cannot_decode_is_skipped_with_the_reason(tmp_path: Path) -> None:
    corpus = corpus_with(tmp_path, {"deal.txt": SHORT_CP1252[0].encode("cp1252")})
    env = {"RAGBOT_CORPUS_ENCODING": "utf-8"}
    result = run("ingest", str(corpus), "--json", "--storage", str(tmp_path / "s"), env=env)
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["skipped"] == [{
        "path": str(corpus / "deal.txt"),
        "reason": "undecodable as utf-8 (RAGBOT_CORPUS_ENCODING): byte 0 is 0x93",
    }]


@pytest.mark.parametrize("value, fragment", [
    ("klingon", "corpus_encoding: Value error, unknown text encoding 'klingon'"),
    ("base64", "unknown text encoding 'base64'"),  # a codec, but not one that makes text
])
def test_an_unknown_forced_encoding_is_one_config_error(value: str, fragment: str) -> None:
    assert_one_line_error(run("ingest", str(SEEDS), env={"RAGBOT_CORPUS_ENCODING": value}), fragment)


@pytest.mark.parametrize("forced", [None, "utf-8"])
def test_offsets_in_a_utf8_file_with_a_bom_count_from_after_the_bom(tmp_path: Path, forced: str | None) -> None:
    text = "Møde i Moskva\n\nPutin og Erdogan mødtes i Moskva. Mødet varede tre timer."
    path = tmp_path / "bom.txt"
    path.write_bytes(codecs.BOM_UTF8 + text.encode("utf-8"))
    document = read_document(SourceFile(path, "bom.txt", ""), 10**6, forced)
    assert document.text == text and document.encoding == "utf-8-sig"
    article = read_article(SourceFile(path, "bom.txt", ""), 10**6, forced)
    first = article.sentences[0]
    assert (first.start, first.end) == (15, 48) and text[first.start:first.end] == first.text


def test_a_utf16_file_with_the_wrong_forced_encoding_is_not_taken_for_text(tmp_path: Path) -> None:
    path = tmp_path / "wide.txt"
    path.write_bytes("Das Treffen dauerte etwa drei Stunden.".encode("utf-16-le"))
    with pytest.raises(SkipFile, match="binary file"):
        read_document(SourceFile(path, "wide.txt", ""), 10**6, "cp1252")
