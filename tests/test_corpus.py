"""Chunking: sentences are exact spans of the file; debris never becomes evidence."""

from __future__ import annotations


import pytest

from rag.corpus import load_article, parse_article

from .conftest import SEEDS

SEED_FILES = sorted(SEEDS.glob("*.txt"))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n\n",
        "Only a heading",
        "Putin met Erdogan in Moscow.",
        "Putin met Erdogan in Moscow.\r\nThe talks lasted three hours.\r\n",
        "\ufeffBOM first. Then a second sentence here.",
        "Mr. Putin said the talks were effective. Dr. Smith agreed with that.",
        "Am 5. März trafen sich Vertreter in Moskau. Sie sprachen 90 Minuten lang.",
        "Tabs\tand  double  spaces stay as they are.   Trailing spaces too.   ",
        "Emoji 🙂 before a sentence that counts. And åæø after it counts too.",
    ],
)
def test_sentence_offsets_are_exact_spans(text: str) -> None:
    article = parse_article("x.txt", text)
    for sentence in article.sentences:
        assert text[sentence.start : sentence.end] == sentence.text
        assert sentence.text == sentence.text.strip()
    positions = [s.start for s in article.sentences]
    assert positions == sorted(positions)


def test_seed_sentences_are_spans_of_the_files() -> None:
    for path in SEED_FILES:
        article = load_article(path)
        text = path.read_bytes().decode("utf-8")
        assert article.sentences, path.name
        for sentence in article.sentences:
            assert text[sentence.start : sentence.end] == sentence.text


@pytest.mark.parametrize(
    "debris",
    [
        "icon bookmark-bicon bookmarkicon cameraicon checkicon chevron downicon",
        "Diese Webseite verwendet Cookies. Klicken Sie hier, um mehr zu erfahren",
        "Accessibility links",
        "To find out more, click here.",
        "If you are in Russia or the Russia-controlled parts of Ukraine and hold a Russian passport",
        "Folge uns auf",
        "Powered by automated translation",
        "THIS IMAGE WAS PROVIDED BY A THIRD PARTY",
    ],
)
def test_seed_debris_is_never_a_sentence(debris: str) -> None:
    sentences = [
        s.text for path in SEED_FILES for s in load_article(path).sentences
    ]
    assert not [s for s in sentences if debris.lower()[:30] in s.lower()]


def test_article_metadata_from_seeds() -> None:
    languages = {p.name: load_article(p).language for p in SEED_FILES}
    assert sorted(languages.values()) == ["da", "de", "en", "en", "no"]
    assert load_article(SEEDS / "000_a1c12008845bb2ac.txt").date == "2019-10"


def test_duplicate_caption_is_indexed_once() -> None:
    text = (
        "Caption of the photo that is printed twice on the page.\n"
        "Caption of the photo that is printed twice on the page.\n"
        "The real story continues here with facts.\n"
    )
    assert [s.text for s in parse_article("x.txt", text).sentences] == [
        "Caption of the photo that is printed twice on the page.",
        "The real story continues here with facts.",
    ]
