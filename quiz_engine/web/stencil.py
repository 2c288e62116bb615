"""Pages rendered once with stand-ins and filled in per answer: what every contestant loads at a round's start.

A template rendered with stand-ins (``\\x00name\\x00``) where one answer differs from the next is kept split at
them; filling it is one join, with no template run and no escaping of what was escaped once. The values are
put in as given: the caller escapes them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

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
