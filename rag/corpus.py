"""Read a corpus of article files into sentences with exact character offsets.

Each file becomes an :class:`Article`; its text (the file decoded, see
:mod:`rag.documents`) is never altered, so that
``article.text[s.start:s.end] == s.text`` for every sentence ``s``: the
offsets are what citations report. Debris lines (see
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

from rag.debris import classify_lines, is_label
from rag.documents import SkipFile, SourceFile, read_document
from rag.errors import CorpusError
from rag.language import detect_language

_PUNKT_LANGUAGES = {"en": "english", "da": "danish", "no": "norwegian", "de": "german", "sv": "swedish"}
_DATE_FIELD = re.compile(r"^\s*date\s+(\d{4}-\d{2}(?:-\d{2})?)\s+")
_MIN_SENTENCE_WORDS = 3


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
    encoding: str = "utf-8"  # the codec its file was decoded with (``ingest --json`` reports it)


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


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, offset = [], 0
    for line in text.splitlines(keepends=True):
        spans.append((offset, offset + len(line.rstrip("\r\n"))))
        offset += len(line)
    return spans


def parse_article(
    source: str, text: str, title: str | None = None, date: str | None = None
) -> Article:
    """Split ``text`` into evidence sentences, skipping debris and labels.

    ``title`` and ``date`` come from HTML metadata when there is some; text
    files get them from a leading ``date YYYY-MM`` field and the first label.
    """
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
        date=date or (date_match.group(1) if date_match else None),
        title=title,
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


def read_article(file: SourceFile, max_bytes: int, encoding: str | None = None) -> Article:
    """A found file read and split as ingestion does it; SkipFile says why not.

    ``encoding`` forces a codec (the ``corpus_encoding`` setting).
    """
    document = read_document(file, max_bytes, encoding)
    article = parse_article(file.source, document.text, title=document.title, date=document.date)
    article.encoding = document.encoding
    return article


def load_article(path: Path) -> Article:
    """One file on its own (named by its file name); CorpusError if ingestion would skip it."""
    try:
        return read_article(SourceFile(path, path.name, ""), max_bytes=2**62)
    except SkipFile as reason:
        raise CorpusError(f"{path}: {reason}") from None
