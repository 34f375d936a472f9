"""Read a corpus of article files into sentences with exact character offsets.

Each file becomes an :class:`Article`; its text is the file decoded as UTF-8
(or, if that fails, the encoding charset-normalizer finds) and is never
altered, so that ``article.text[s.start:s.end] == s.text`` for every sentence
``s``: the offsets are what citations report. Debris lines (see
:mod:`rag.debris`) produce no sentences.

>>> article = parse_article("a.txt", "A title here\\n\\nPutin met Erdogan. They talked long.\\nCookies zulassen\\n")
>>> [(s.text, s.start, s.end) for s in article.sentences], article.title
([('Putin met Erdogan.', 14, 32), ('They talked long.', 33, 50)], 'A title here')
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import charset_normalizer

from rag.debris import classify_lines, is_label
from rag.errors import CorpusError
from rag.language import detect_language

CORPUS_SUFFIXES = (".txt", ".md")
_PUNKT_LANGUAGES = {"en": "english", "da": "danish", "no": "norwegian", "de": "german", "sv": "swedish"}
_DATE_FIELD = re.compile(r"^\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)\s+")
_MIN_SENTENCE_WORDS = 3
_WESTERN_ENCODINGS = ["utf_16", "utf_32", "cp1252", "iso8859_15", "latin_1", "mac_roman"]


@dataclass(frozen=True)
class Sentence:
    """One evidence sentence: a verbatim span of its article."""

    source: str
    start: int
    end: int
    text: str
    position: int  # index among the article's sentences


@dataclass
class Article:
    source: str  # file name, as citations show it
    text: str
    sha256: str
    language: str
    date: str | None
    title: str | None
    sentences: list[Sentence] = field(default_factory=list)
    debris_lines: int = 0


@lru_cache(maxsize=None)
def _punkt(language: str):  # -> nltk PunktTokenizer
    import llama_index.core
    import nltk
    from nltk.tokenize.punkt import PunktTokenizer

    # llama-index-core ships the punkt models; point nltk there so nothing is downloaded.
    bundled = os.path.join(os.path.dirname(llama_index.core.__file__), "_static", "nltk_cache")
    if bundled not in nltk.data.path:
        nltk.data.path.append(bundled)
    return PunktTokenizer(_PUNKT_LANGUAGES.get(language, "english"))


def decode(raw: bytes, name: str) -> str:
    """Decode file bytes: UTF-8 if valid, else the best charset-normalizer guess."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        # Short Danish/German text is often mistaken for Central European
        # code pages; try the encodings this corpus' languages use first.
        best = (
            charset_normalizer.from_bytes(raw, cp_isolation=_WESTERN_ENCODINGS).best()
            or charset_normalizer.from_bytes(raw).best()
        )
        if best is None:
            raise CorpusError(f"{name}: not a text file (unknown encoding)") from None
        return str(best)


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, offset = [], 0
    for line in text.splitlines(keepends=True):
        spans.append((offset, offset + len(line.rstrip("\r\n"))))
        offset += len(line)
    return spans


def parse_article(source: str, text: str) -> Article:
    """Split ``text`` into evidence sentences, skipping debris and labels."""
    lines = _line_spans(text)
    kinds = classify_lines([text[a:b] for a, b in lines])
    content = " ".join(text[a:b] for (a, b), kind in zip(lines, kinds) if kind is None)
    language = detect_language(content) if content.strip() else "en"
    date_match = _DATE_FIELD.match(text)
    article = Article(
        source=source,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        language=language,
        date=date_match.group(1) if date_match else None,
        title=None,
        debris_lines=sum(1 for kind in kinds if kind is not None),
    )
    tokenizer = _punkt(language)
    for (line_start, line_end), kind in zip(lines, kinds):
        line = text[line_start:line_end]
        if kind is not None or not line.strip():
            continue
        if is_label(line):
            if article.title is None and len(line.split()) >= 3:
                article.title = line.strip()
            continue
        skip_to = line_start
        if line_start == 0 and date_match:  # a leading "date 2019-10" field is metadata
            skip_to = date_match.end()
        for a, b in tokenizer.span_tokenize(line):
            start, end = line_start + a, line_start + b
            if end <= skip_to:
                continue
            start = max(start, skip_to)
            sentence = text[start:end]
            if len(re.findall(r"\w+", sentence)) < _MIN_SENTENCE_WORDS:
                continue
            article.sentences.append(
                Sentence(source, start, end, sentence, position=len(article.sentences))
            )
    return article


def corpus_files(path: Path) -> list[Path]:
    """The article files under ``path`` (a file or a directory), sorted by name."""
    if not path.exists():
        raise CorpusError(f"corpus path not found: {path}")
    if path.is_file():
        return [path]
    files = sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CORPUS_SUFFIXES
    )
    if not files:
        raise CorpusError(f"no .txt or .md files in {path}")
    return files


def load_article(path: Path) -> Article:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise CorpusError(f"cannot read {path}: {error.strerror}") from None
    return parse_article(path.name, decode(raw, path.name))
