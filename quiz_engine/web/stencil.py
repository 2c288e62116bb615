"""Pages rendered once with stand-ins and filled in per answer: what every contestant loads at a round's start.

A template rendered with stand-ins (``\\x00name\\x00``) where one answer differs from the next is kept split at
them; filling it is one join, with no template run and no escaping of what was escaped once. The values are
put in as given: the caller escapes them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Hashable, Mapping

from flask import current_app

_SLOT = re.compile("\x00([a-z_]+)\x00")


def slot(name: str) -> str:
    """The stand-in for ``name``, to render in its place."""
    return f"\x00{name}\x00"


class Stencil:
    """A rendered page (or part of one) split at its stand-ins."""

    __slots__ = ("_pieces",)

    def __init__(self, rendered: str) -> None:
        # Even places hold the page's own text, odd places the names of the stand-ins between them.
        self._pieces = _SLOT.split(rendered)

    def fill(self, values: Mapping[str, str]) -> str:
        """The page with each stand-in replaced by its value; a name without one is left as it was."""
        pieces = self._pieces.copy()
        for i in range(1, len(pieces), 2):
            name = pieces[i]
            pieces[i] = values[name] if name in values else slot(name)
        return "".join(pieces)


#: Pages kept per store and app; past it the store starts again (rounds and their titles come and go).
STORE_SIZE = 256


def kept(store: str, key: Hashable, render: Callable[[], str], *, seconds: float | None = None) -> Stencil:
    """The stencil of ``render()`` kept in the app's ``store`` under ``key``; rendered again after ``seconds``
    (None: while the key lasts). Per process and per app: no instance needs another's."""
    pages: dict[Hashable, tuple[float, Stencil]] = current_app.extensions.setdefault(store, {})
    found = pages.get(key)
    if found is not None and found[0] > time.monotonic():
        return found[1]
    stencil = Stencil(render())
    if len(pages) >= STORE_SIZE:
        pages.clear()
    pages[key] = (time.monotonic() + seconds if seconds is not None else float("inf"), stencil)
    return stencil
