"""Templates translate through a per-process cache: the message catalogues do not change while the app runs.

Flask-Babel's template ``_()`` finds the request's translations again on every call, through several context
lookups; the paper page and the start queue's waiting page, served to every contestant at a round's start,
make thirty such calls each. Here each (language, message) pair is translated once per process, and the
request's language is read once (Flask-Babel keeps it for the request too). Plural and context forms, which
pages use rarely, stay Flask-Babel's.
"""

from __future__ import annotations

import functools

from flask import Flask, g
from flask_babel import get_locale, get_translations


def language() -> str:
    """The request's language ("vi", "en"), read once per request."""
    language = g.get("quiz_language")
    if language is None:
        language = g.quiz_language = str(get_locale())
    return language


@functools.lru_cache(maxsize=8192)
def _translated(language: str, message: str) -> str:
    return get_translations().ugettext(message)  # the request's catalogue: the language of ``language``


def gettext(message: str) -> str:
    """``message`` in the request's language."""
    return _translated(language(), message)


def init_app(app: Flask) -> None:
    """Replace the templates' ``_``/``gettext`` installed by Flask-Babel (``newstyle``: they still format)."""
    app.jinja_env.install_gettext_callables(
        gettext=gettext,
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )
