"""Tell web debris from article text, line by line, without changing the text.

Scraped news files carry page chrome: icon-font soup, cookie banners,
"Accessibility links", share/follow prompts, size pickers ("XS SM MD LG"),
repeated image captions, picture credits in capitals and legal notices aimed
at the reader. Ingestion keeps the file text unchanged (citation offsets point
into it) and only leaves debris lines out of the index.

jusText was tried first (with its Danish/Norwegian/German/English
stoplists) and rejected: on these short-paragraph news files it marked
fact-bearing one-sentence paragraphs as boilerplate and kept the cookie
notice. The rules here are generic features of page chrome, not of any file:

* ``soup``: a line with no sentence punctuation that is very long or
  repeats one token (icon lists, menus);
* ``chrome``: a line that speaks to the site visitor (cookies, "click here",
  follow/share/subscribe, accessibility links), in en/da/no/de;
* ``duplicate``: a line repeated verbatim (captions are printed twice);
* ``credit``: a photo credit / agency slug in capitals;
* ``footer``: a line sitting between debris lines in the last third of the
  page, which is how legal notices about the outlet appear.

>>> classify_lines(["Cookies zulassen", "Putin met Erdogan in Moscow on Wednesday."])
['chrome', None]
"""

from __future__ import annotations

import re

# Phrases that address a site visitor rather than report news. Lower-case,
# matched on word boundaries. Kept multilingual and about page furniture only.
_CHROME_PATTERNS = [
    r"cookies?",
    r"javascript",
    r"accessibility links?",
    r"skip to (?:main )?content",
    r"click here",
    r"klicken sie",
    r"klik her",
    r"klikk her",
    r"hier klicken",
    r"follow us",
    r"folge uns",
    r"følg os",
    r"følg oss",
    r"subscribe",
    r"abonnieren",
    r"newsletter",
    r"sign (?:in|up)",
    r"log ?in",
    r"all rights reserved",
    r"alle rechte vorbehalten",
    r"share (?:this|on)",
    r"breaking news",
    r"read more",
    r"mehr zum thema",
    r"læs (?:også|mere)",
    r"les (?:også|mer)",
    r"powered by",
    r"advertisement",
    r"anzeige",
    r"if you are in",
    r"you could face",
    r"our content",
    r"this image was provided",
]
_CHROME = re.compile(r"\b(?:" + "|".join(_CHROME_PATTERNS) + r")\b", re.IGNORECASE)
_SENTENCE_PUNCT = re.compile(r"[.!?:;\"“”„«»]")
_WORD = re.compile(r"\w+", re.UNICODE)
_CAPS_RUN = re.compile(r"(?:\b[A-Z]{2,}\b[\s\-–]*){4,}")


def _words(line: str) -> list[str]:
    return _WORD.findall(line)


def _is_soup(words: list[str]) -> bool:
    """Menus and icon lists: very long without punctuation, or one token repeated."""
    if len(words) >= 30:
        return True
    if len(words) < 12:
        return False
    lowered = [word.lower() for word in words]
    most_common = max(lowered.count(word) for word in set(lowered))
    return most_common / len(words) > 0.2


def _line_kind(line: str, seen: set[str]) -> str | None:
    stripped = line.strip()
    words = _words(stripped)
    if not words:
        return "empty"
    if stripped in seen:
        return "duplicate"
    if not _SENTENCE_PUNCT.search(stripped) and _is_soup(words):
        return "soup"
    if _CHROME.search(stripped):
        return "chrome"
    if _CAPS_RUN.search(stripped):
        return "credit"
    return None


def is_label(line: str) -> bool:
    """A heading, caption or slug: a few words with no sentence ending.

    Labels are not debris (a heading may be informative) but are not used as
    evidence sentences on their own.

    >>> is_label("Konfrontationer i Manbij"), is_label("Det oplyser Kreml.")
    (True, False)
    """
    stripped = line.strip()
    return len(_words(stripped)) < 30 and not re.search(r"[.!?\"”»]\s*$", stripped)


def classify_lines(lines: list[str]) -> list[str | None]:
    """Return, for each line, the kind of debris it is, or ``None`` for content."""
    seen: set[str] = set()
    kinds: list[str | None] = []
    for line in lines:
        kind = _line_kind(line, seen)
        kinds.append(kind)
        if line.strip():
            seen.add(line.strip())
    _mark_footer(lines, kinds)
    return [None if kind == "empty" else kind for kind in kinds]


def _mark_footer(lines: list[str], kinds: list[str | None]) -> None:
    """Mark lines in the page's tail that sit between debris/labels as debris."""
    content = [i for i, line in enumerate(lines) if kinds[i] != "empty"]
    if len(content) < 3:
        return
    tail_start = content[int(len(content) * 2 / 3)]

    def is_junk(i: int) -> bool:
        return kinds[i] not in (None, "empty") or is_label(lines[i])

    for position in range(1, len(content) - 1):
        i = content[position]
        if i < tail_start or kinds[i] is not None:
            continue
        before, after = content[position - 1], content[position + 1]
        if is_junk(before) and kinds[after] not in (None, "empty"):
            kinds[i] = "footer"
