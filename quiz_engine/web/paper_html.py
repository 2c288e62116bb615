"""The paper page's questions, rendered once and reused: every contestant loads that page at a round's start.

A question's markup depends on its version (text and choices never change: an edit makes a new version) and the
language; what differs from one paper to the next is the position, the number shown, the save address, the
order of the choices (their letters) and which are ticked. So ``contest/_question.html`` is rendered once per
(version, language) and ``contest/_choice.html`` once per (version, choice, language), with stand-ins for the
rest, kept in per-process LRUs as stencils (:mod:`stencil`); the two are put together once per (version, order
of its choices, language), and a paper fills the stand-ins in: one join per question instead of a template loop
over every choice (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from flask import Flask, current_app
from flask_babel import gettext
from markupsafe import Markup, escape

from quiz_engine.services.taking.attempts import PaperQuestion
from quiz_engine.services.taking.version_cache import Lru
from quiz_engine.web import template_gettext
from quiz_engine.web.stencil import Stencil, slot

#: Rendered questions kept per process (about 1 KB each).
CACHE_SIZE = 20_000

_questions: Lru[Stencil] = Lru(CACHE_SIZE)
_choices: Lru[Stencil] = Lru(CACHE_SIZE * 4)
_ordered_questions: Lru[Stencil] = Lru(CACHE_SIZE * 4)  # a few of each question's orders are in use at once
_LETTERS = "ABCDEF"
_TICKED = tuple(f"ticked_{letter}" for letter in _LETTERS.lower())  # stand-in names are letters only


def paper_question(question: PaperQuestion, number: int, save_prefix: str, locale: str) -> str:
    """The fieldset of one question: ``number`` as shown ("Câu 3"), saved to ``save_prefix`` + its position."""
    values = {"position": str(question.position), "label": _question_label(locale, number), "save": save_prefix}
    for index, (choice_id, _) in enumerate(question.choices):
        values[_TICKED[index]] = " checked" if choice_id in question.selected else ""
    return _ordered(question, locale).fill(values)


def _ordered(question: PaperQuestion, locale: str) -> Stencil:
    """The question with its choices in this paper's order: one stencil per (version, order), so that a paper
    fills one per question (what is left: position, number, save address, which choices are ticked)."""

    def render() -> Stencil:
        choices = "".join(
            _choice(question, choice_id, text, locale).fill(
                {"position": slot("position"), "letter": _LETTERS[index], "ticked": slot(_TICKED[index])}
            )
            for index, (choice_id, text) in enumerate(question.choices)
        )
        return Stencil(
            _question(question, locale).fill(
                {"choices": choices, "position": slot("position"), "label": slot("label"), "save": slot("save")}
            )
        )

    order = tuple(choice_id for choice_id, _ in question.choices)
    return _ordered_questions.get_or_make((question.version_id, order, question.multiple, locale), render)


def _question(question: PaperQuestion, locale: str) -> Stencil:
    def render() -> Stencil:
        return Stencil(
            current_app.jinja_env.get_template("contest/_question.html").render(
                q=question,
                position=slot("position"),
                label=slot("label"),
                save_prefix=slot("save"),
                choices=Markup(slot("choices")),
            )
        )

    return _questions.get_or_make((question.version_id, question.multiple, locale), render)


def _choice(question: PaperQuestion, choice_id: int, text: str, locale: str) -> Stencil:
    def render() -> Stencil:
        return Stencil(
            current_app.jinja_env.get_template("contest/_choice.html").render(
                multiple=question.multiple,
                position=slot("position"),
                choice_id=choice_id,
                ticked=Markup(slot("ticked")),
                letter=slot("letter"),
                text=text,
            )
        )

    return _choices.get_or_make((question.version_id, choice_id, question.multiple, locale), render)


def questions(paper: Sequence[PaperQuestion], save_prefix: str) -> str:
    """Every question's fieldset, numbered from 1, saved to ``save_prefix`` + its position."""
    locale, prefix = template_gettext.language(), str(escape(save_prefix))
    return "".join(paper_question(q, number, prefix, locale) for number, q in enumerate(paper, 1))


def navigator(paper: Sequence[PaperQuestion]) -> str:
    """The row of question numbers above the paper, the answered ones marked (for sight and for screen readers)."""
    locale = template_gettext.language()
    answered = _answered_suffix(locale)
    return "".join(
        f'<a href="#q-{q.position}" id="nav-{q.position}" class="{"answered" if q.selected else ""}" '
        f'aria-label="{_question_label(locale, number)}{answered if q.selected else ""}">{number}</a>'
        for number, q in enumerate(paper, 1)
    )


@functools.lru_cache(maxsize=8)
def _answered_suffix(locale: str) -> str:
    return str(escape(", " + gettext("đã trả lời")))


@functools.lru_cache(maxsize=512)
def _question_label(locale: str, number: int) -> str:
    """ "Câu 3" in ``locale`` (the request's language), escaped for the page."""
    return str(escape(gettext("Câu %(n)d", n=number)))


def init_app(app: Flask) -> None:
    # Rendered questions are keyed by version id: a new app may be on another database (tests make one each).
    _questions.clear()
    _choices.clear()
    _ordered_questions.clear()
