"""Find the article files under the paths a user gives, and read them safely.

What ingestion accepts, and what it skips with a reason (nothing is dropped
silently):

* ``.txt`` and ``.md`` files are read as text; ``.html``/``.htm`` files are
  reduced to their article text with trafilatura (citations then point into
  that extracted text, which ``ragbot`` re-extracts the same way).
* Text is UTF-8 when it is valid UTF-8 (a BOM is honoured), UTF-16/32 when a
  BOM says so, else the encoding charset-normalizer finds, trying the Western
  code pages (cp1252, latin-1, ...) of this corpus' languages first. When
  several of those decode a file about as plausibly, the one news articles in
  Danish, Norwegian, English and German most likely use wins: cp1252, then
  ISO 8859-15, latin-1, and Mac Roman last (a short cp1252 text with one
  "€" and curly quotes reads as plausible Mac Roman "Ä" and "ìî" to the
  detector). ``corpus_encoding`` (RAGBOT_CORPUS_ENCODING) forces one encoding
  for every file instead. Decoding is strict: a file decodes completely or is
  skipped as undecodable. A byte-order mark is not text: offsets count
  characters of the decoded text after it.
* Skipped: empty files, binary files (also when named ``.txt``), files over
  the size cap, unsupported file types, hidden files and folders, symbolic
  links that lead outside the folder being ingested, links to a file that is
  ingested under its own name (it would be indexed twice), and anything that
  is not a regular file (FIFOs, devices, sockets): these are recognised from
  ``stat`` before they are opened, since opening a FIFO blocks until a
  writer comes and a device such as ``/dev/zero`` never ends.

A document's ``source`` (what citations show) is its path relative to the
folder given, so ``ragbot ingest seeds`` names ``seeds/a.txt`` ``a.txt``; a
file given directly is named by its file name.

>>> decode_text("Mødet varede tre timer.".encode("cp1252"))
'Mødet varede tre timer.'
>>> decode_text(b"\\xff\\xfeH\\x00i\\x00")
'Hi'
>>> decode(b"\\x93Deal\\x94 worth \\x804.5 billion.")
('“Deal” worth €4.5 billion.', 'cp1252')
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass, replace
from pathlib import Path

import charset_normalizer

from rag.errors import CorpusError

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
SUFFIXES = TEXT_SUFFIXES + HTML_SUFFIXES
# Short Danish/German text is often mistaken for Central European code pages;
# the encodings this corpus' languages use are tried first.
_WESTERN_ENCODINGS = ["cp1252", "iso8859_15", "latin_1", "mac_roman"]  # in order of preference
# How much messier (charset-normalizer's chaos ratio, 0-1) a preferred code page's
# reading may be than the detector's best and still win: a single "€" read as
# "Ä" costs Mac Roman nothing but cp1252 about 0.05 in short texts.
_PREFERENCE_SLACK = 0.1
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf_32"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf_32"),
    (codecs.BOM_UTF8, "utf_8_sig"),
    (codecs.BOM_UTF16_LE, "utf_16"),
    (codecs.BOM_UTF16_BE, "utf_16"),
]
# C0 controls other than tab, newlines and form feed do not occur in text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAX_CONTROL_SHARE = 0.01
_READ_CHUNK = 1 << 20


class SkipFile(Exception):
    """A file that ingestion leaves out; ``str(error)`` is the reason shown to users."""


@dataclass(frozen=True)
class SourceFile:
    """A file found for ingestion."""

    path: Path  # as found (for messages)
    source: str  # the name citations show: POSIX path relative to ``root``
    root: str  # the resolved folder it was found under ("" for a file given directly)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass(frozen=True)
class DocumentText:
    text: str  # what offsets point into: the file as decoded, without its byte-order mark
    title: str | None = None  # from HTML metadata; text files get theirs from parsing
    date: str | None = None
    encoding: str = "utf-8"  # the codec that decoded the file (Python's name for it)


def find_files(paths: list[Path]) -> tuple[list[SourceFile], list[Skipped]]:
    """The article files under ``paths`` (files or folders), and what was left out.

    Raises CorpusError when a path does not exist: that is a typo, not a bad file.
    """
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise CorpusError(f"corpus path not found: {path}")
        if path.is_dir():
            _walk(path, found, skipped)
        elif path.suffix.lower() not in SUFFIXES:
            skipped.append(Skipped(str(path), f"unsupported file type (use {', '.join(SUFFIXES)})"))
        elif (special := not_regular(path)) is not None:
            skipped.append(Skipped(str(path), special))
        else:
            found.append(SourceFile(path, path.name, ""))
    unique: dict[str, SourceFile] = {}
    for file in found:
        if file.source in unique:
            skipped.append(
                Skipped(str(file.path), f"same name as {unique[file.source].path}, which was ingested")
            )
        else:
            unique[file.source] = file
    return _without_linked_copies(list(unique.values()), skipped), skipped


def not_regular(path: Path) -> str | None:
    """Why ``path`` (links followed) is not a regular file, or None when it is one.

    >>> not_regular(Path("/dev/null"))
    'not a regular file (a character device)'
    """
    try:
        mode = path.stat().st_mode
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    if stat.S_ISREG(mode):
        return None
    kinds = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))
    kind = next((name for test, name in kinds if test(mode)), "a special file")
    return f"not a regular file ({kind})"


def _without_linked_copies(files: list[SourceFile], skipped: list[Skipped]) -> list[SourceFile]:
    """Drop symbolic links to a file that is also found under its own name."""
    real_files = {file.path.resolve(): file for file in files if not file.path.is_symlink()}
    kept = []
    for file in files:
        target = real_files.get(file.path.resolve()) if file.path.is_symlink() else None
        if target is not None:
            skipped.append(Skipped(str(file.path), f"link to {target.path}, which is ingested itself"))
        else:
            kept.append(file)
    return kept


def _walk(folder: Path, found: list[SourceFile], skipped: list[Skipped]) -> None:
    root = folder.resolve()
    for directory, subdirs, files in os.walk(folder):  # does not follow directory links
        here = Path(directory)
        for name in sorted(subdirs):
            if (here / name).is_symlink():
                skipped.append(Skipped(str(here / name), "linked folder (not followed)"))
        subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and not (here / d).is_symlink())
        for name in sorted(files):
            path = here / name
            if name.startswith("."):
                continue  # .DS_Store, editor swap files: never articles
            if path.suffix.lower() not in SUFFIXES:
                skipped.append(Skipped(str(path), f"unsupported file type (use {', '.join(SUFFIXES)})"))
                continue
            if (special := not_regular(path)) is not None:
                skipped.append(Skipped(str(path), special))
                continue
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                skipped.append(Skipped(str(path), f"link that leads outside {folder}"))
                continue
            source = path.relative_to(folder).as_posix()
            found.append(SourceFile(path, source, str(root)))


def read_document(file: SourceFile, max_bytes: int, encoding: str | None = None) -> DocumentText:
    """The document's text (decoded, HTML extracted), or SkipFile with the reason.

    ``encoding`` forces a codec (the ``corpus_encoding`` setting) instead of detecting one.
    """
    raw = _read_regular_file(file.path, max_bytes)
    if not raw.strip():
        raise SkipFile("empty file")
    text, used = decode(raw, encoding)
    if file.path.suffix.lower() in HTML_SUFFIXES:
        return replace(_html_article(text), encoding=used)
    return DocumentText(text, encoding=used)


def _read_regular_file(path: Path, max_bytes: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``max_bytes``, else SkipFile.

    Checked before opening, and again on the opened descriptor (the file may
    have been swapped meanwhile); opened non-blocking so that even a FIFO
    slipped in between cannot hang, and never read past the cap.
    """
    special = not_regular(path)
    if special is not None:
        raise SkipFile(special)
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(descriptor, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise SkipFile("not a regular file")
            if info.st_size > max_bytes:
                raise SkipFile(_too_large(max_bytes, info.st_size))
            chunks: list[bytes] = []
            size = 0
            while chunk := handle.read(min(_READ_CHUNK, max_bytes + 1 - size)):
                chunks.append(chunk)
                size += len(chunk)
                if size > max_bytes:  # grew while being read
                    raise SkipFile(_too_large(max_bytes, size))
    except OSError as error:
        raise SkipFile(f"cannot be read ({error.strerror})") from None
    return b"".join(chunks)


def _too_large(max_bytes: int, size: int) -> str:
    limit = f"{max_bytes / 1_000_000:g} MB" if max_bytes >= 1_000_000 else f"{max_bytes:,}-byte"
    return f"larger than the {limit} limit ({size:,} bytes)"


def decode_text(raw: bytes, encoding: str | None = None) -> str:
    """Decode file bytes completely, or raise SkipFile (binary or unknown encoding)."""
    return decode(raw, encoding)[0]


def decode(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text of file bytes and the codec that decoded them (``codecs`` names,
    "utf-8-sig" for UTF-8 with a BOM), or SkipFile. ``encoding`` forces the codec."""
    if encoding:
        return _forced(raw, encoding)
    for bom, codec in _BOMS:
        if raw.startswith(bom):
            try:
                return _checked_text(raw.decode(codec)), codecs.lookup(codec).name
            except UnicodeDecodeError:
                raise SkipFile(f"undecodable: starts with a {codec} mark but is not {codec}") from None
    if b"\x00" in raw:
        raise SkipFile("binary file (not text)")
    try:
        return _checked_text(raw.decode("utf-8")), "utf-8"
    except UnicodeDecodeError:
        pass
    western = charset_normalizer.from_bytes(raw, cp_isolation=_WESTERN_ENCODINGS)
    best = _preferred(western) or charset_normalizer.from_bytes(raw).best()
    if best is None:
        raise SkipFile("undecodable: not UTF-8 and no known encoding fits")
    codec = codecs.lookup(best.encoding).name
    return _checked_text(raw.decode(codec)), codec  # strict: every byte accounted for


def _preferred(matches: charset_normalizer.CharsetMatches):  # -> CharsetMatch | None
    """The most preferred Western code page whose reading is about as plausible as the best one."""
    best = matches.best()
    if best is None:
        return None
    rank = {codecs.lookup(name).name: index for index, name in enumerate(_WESTERN_ENCODINGS)}
    close = [m for m in matches if m.chaos <= best.chaos + _PREFERENCE_SLACK]
    return min(close, key=lambda m: rank.get(codecs.lookup(m.encoding).name, len(rank)))


def _forced(raw: bytes, encoding: str) -> tuple[str, str]:
    """``raw`` decoded with ``encoding`` (validated by the settings), a BOM left out of the text."""
    codec = codecs.lookup(encoding).name
    if codec == "utf-8":
        codec = "utf-8-sig"  # the BOM, if any, is not text
    try:
        text = raw.decode(codec).removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise SkipFile(
            f"undecodable as {encoding} (RAGBOT_CORPUS_ENCODING): byte {error.start} is {raw[error.start]:#04x}"
        ) from None
    return _checked_text(text), codec


def _checked_text(text: str) -> str:
    if len(_CONTROL.findall(text)) > _MAX_CONTROL_SHARE * max(len(text), 1):
        raise SkipFile("binary file (not text)")
    return text


def _html_article(html: str) -> DocumentText:
    import trafilatura

    # Keep every paragraph (no precision filter, no dedup): short one-line
    # paragraphs carry facts in news articles; debris is removed later anyway.
    text = trafilatura.extract(
        html, include_comments=False, include_tables=True, deduplicate=False, favor_recall=True
    )
    if not text or not text.strip():
        raise SkipFile("HTML without article text")
    metadata = trafilatura.extract_metadata(html)
    title = metadata.title if metadata and metadata.title else None
    date = metadata.date if metadata and metadata.date else None
    return DocumentText(text, title=title, date=date)
