"""Questions that ask several things at once ("When did X happen, and in which
year did Y?"), in the four answer languages.

The embedded 1.5B model answers one of the parts, or joins a right fact to a
wrong one, and a citation makes the half-right answer look sourced. In one
run of the engine over dev, test and the fresh batches c-f, the questions
this gate flags were answered 11 times and right once. So a question
with a second question word after "and" (or after a second question mark) is
refused with a text asking for one question at a time, and the refusal
shows the passages nearest the whole question, which often hold both facts.

A second question word counts only right after a conjunction, with at most
one preposition between ("and in which city", "og i hvilket år", "und wie
viele"), or after a question mark: "Where did they meet when they agreed
...?" and "the day, when ..." are one question.

>>> several_questions("Hvornår skød Tyrkiet et russisk kampfly ned, og i hvilket år indgik de en aftale?")
True
>>> several_questions("Wann und in welchem Land fand das Treffen statt?")
True
>>> several_questions("Which lasted longer? How long did each last?")
True
>>> several_questions("Where did Putin and Erdogan meet when they agreed on a ceasefire?")
False
>>> several_questions("Hvor mange civile blev dræbt i det luftangreb, hvor 34 soldater døde?")
False
>>> several_questions("Which two defence ministers were at the meeting?")
False
"""

from __future__ import annotations

import re

# Question words of English, Danish, Norwegian and German ("hvor" is also
# Danish and Norwegian "how" in "hvor mange", which is still a question word).
_QUESTION_WORDS = (
    "what|which|who|whom|whose|when|where|why|how"
    "|hvad|hva|hvilken|hvilket|hvilke|hvem|hvornår|når|hvor|hvorfor|hvordan"
    "|was|welche|welcher|welches|welchem|welchen|wer|wen|wem|wessen|wann|wo|warum|wieso|weshalb|wie|woher|wohin"
)
_AND = "and|og|und|sowie|samt"
# A preposition may stand between the conjunction and the question word.
_PREPOSITIONS = (
    "in|on|at|from|for|to|by|with|during|since|until|after|before"
    "|i|på|til|fra|med|af|av|siden|efter|etter|under|ved|om"
    "|an|auf|aus|bei|für|mit|nach|seit|von|vor|zu|um|über|während"
)
_FIRST = re.compile(rf"\b(?:{_QUESTION_WORDS})\b", re.IGNORECASE)
_AFTER_AND = re.compile(
    rf"\b(?:{_AND})\s+(?:(?:{_PREPOSITIONS})\s+)?(?:{_QUESTION_WORDS})\b", re.IGNORECASE
)
_AFTER_QUESTION_MARK = re.compile(rf"\?\s*(?:\S+\s+){{0,2}}?(?:{_QUESTION_WORDS})\b.*\?", re.IGNORECASE | re.DOTALL)


def several_questions(question: str) -> bool:
    """Whether ``question`` asks a second question after its first question word."""
    first = _FIRST.search(question)
    if first is None:
        return False
    rest = question[first.end():]
    return bool(_AFTER_AND.search(rest) or _AFTER_QUESTION_MARK.search(rest))
