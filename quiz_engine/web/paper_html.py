"""The paper page's questions, rendered once and reused: every contestant loads that page at a round's start.

A question's markup depends on its version (text and choices never change: an edit makes a new version) and the
language; what differs from one paper to the next is the position, the number shown, the save address, the
order of the choices (their letters) and which are ticked. So ``contest/_question.html`` is rendered once per
(version, language) and ``contest/_choice.html`` once per (version, choice, language), with stand-ins for the
rest, kept in per-process LRUs, and a paper fills the stand-ins in: a few string operations per question
instead of a template loop over every choice (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import functools

from flask import Flask, current_app
from flask_babel import gettext
from markupsafe import Markup, escape

from quiz_engine.services.attempts import PaperQuestion
from quiz_engine.services.version_cache import Lru
from quiz_engine.web import template_gettext

#: Rendered questions kept per process (about 1 KB each).
CACHE_SIZE = 20_000

_POSITION, _LABEL, _SAVE, _CHOICES = "\x00position\x00", "\x00label\x00", "\x00save\x00", "\x00choices\x00"
_LETTER, _TICKED = "\x00letter\x00", "\x00ticked\x00"
_LETTERS = "ABCDEF"
_questions: Lru[str] = Lru(CACHE_SIZE)
_choices: Lru[str] = Lru(CACHE_SIZE * 4)


def paper_question(question: PaperQuestion, number: int, save_prefix: str) -> Markup:
    """The fieldset of one question: ``number`` as shown ("Câu 3"), saved to ``save_prefix`` + its position."""
    locale = template_gettext.language()
    choices = "".join(
        _choice(question, choice_id, text, locale)
        .replace(_LETTER, _LETTERS[index])
        .replace(_TICKED, " checked" if choice_id in question.selected else "")
        for index, (choice_id, text) in enumerate(question.choices)
    )
    html = (
        _question(question, locale)
        .replace(_CHOICES, choices)
        .replace(_POSITION, str(question.position))
        .replace(_LABEL, str(escape(question_label(number))))
        .replace(_SAVE, str(escape(save_prefix)))
    )
    return Markup(html)


def _question(question: PaperQuestion, locale: str) -> str:
    key = (question.version_id, question.multiple, locale)
    html = _questions.get(key)
    if html is None:
        html = current_app.jinja_env.get_template("contest/_question.html").render(
            q=question, position=_POSITION, label=_LABEL, save_prefix=_SAVE, choices=Markup(_CHOICES)
        )
        _questions.put(key, html)
    return html


def _choice(question: PaperQuestion, choice_id: int, text: str, locale: str) -> str:
    key = (question.version_id, choice_id, question.multiple, locale)
    html = _choices.get(key)
    if html is None:
        html = current_app.jinja_env.get_template("contest/_choice.html").render(
            multiple=question.multiple,
            position=_POSITION,
            choice_id=choice_id,
            ticked=Markup(_TICKED),
            letter=_LETTER,
            text=text,
        )
        _choices.put(key, html)
    return html


def question_label(number: int) -> str:
    """"Câu 3" in the current language."""
    return _question_label(template_gettext.language(), number)


@functools.lru_cache(maxsize=512)
def _question_label(locale: str, number: int) -> str:
    return gettext("Câu %(n)d", n=number)


def init_app(app: Flask) -> None:
    # Rendered questions are keyed by version id: a new app may be on another database (tests make one each).
    _questions.clear()
    _choices.clear()
    app.jinja_env.globals.update(paper_question=paper_question, question_label=question_label)
