"""What the hot path needs of question versions, kept per process: versions never change.

An edit of a question adds a new version and leaves the old one as it was (past papers keep what they
showed), so a version's text, choices and key can be kept for the life of the process without any
invalidation. What a round does with a version (voiding it) is not kept here: that lives in the round's
answer key in Redis and in the database.

Bounded LRU maps, safe across the threads of a gthread worker. They hold one database's versions: a process
serves one database, and :func:`forget` (called by ``create_app``) empties them when an app is built, so a
test suite that makes a fresh database per test, where ids start again at 1, never sees another's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from quiz_engine.models import Choice, QuestionVersion

#: Versions kept per process; a 20-question paper from a 2,000-question bank touches at most 2,000.
SIZE = 50_000

V = TypeVar("V")


class Lru(Generic[V]):
    """A small thread-safe LRU map."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def get_or_make(self, key: Hashable, make: Callable[[], V]) -> V:
        """The value under ``key``, made and kept first if missing (two threads may both make it: harmless)."""
        value = self.get(key)
        if value is None:
            value = make()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)


@dataclass(frozen=True)
class VersionContent:
    """A question version as a paper shows it (never its key)."""

    text: str
    choices: dict[int, str]  # bank position -> text
    multiple: bool  # several choices are right: the paper shows checkboxes

    @property
    def choice_count(self) -> int:
        return len(self.choices)


_correct: Lru[tuple[int, ...]] = Lru(SIZE)
_content: Lru[VersionContent] = Lru(SIZE)
_question: Lru[int] = Lru(SIZE)

_CORRECT = (
    select(Choice.version_id, Choice.position)
    .where(Choice.version_id.in_(bindparam("ids", expanding=True)), Choice.is_correct.is_(True))
    .order_by(Choice.version_id, Choice.position)
)
_QUESTION = select(QuestionVersion.id, QuestionVersion.question_id).where(
    QuestionVersion.id.in_(bindparam("ids", expanding=True))
)
_CONTENT = (
    select(QuestionVersion.id, QuestionVersion.text, Choice.position, Choice.text.label("choice"), Choice.is_correct)
    .join(Choice, Choice.version_id == QuestionVersion.id)
    .where(QuestionVersion.id.in_(bindparam("ids", expanding=True)))
    .order_by(QuestionVersion.id, Choice.position)
)


def _cached(cache: Lru[V], ids: Iterable[int]) -> tuple[dict[int, V], list[int]]:
    found: dict[int, V] = {}
    missing = []
    for version_id in ids:
        value = cache.get(version_id)
        if value is None:
            missing.append(version_id)
        else:
            found[version_id] = value
    return found, missing


def correct_positions(session: Session, version_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """Each version's correct choice positions, in bank order."""
    found, missing = _cached(_correct, version_ids)
    if missing:
        loaded: dict[int, list[int]] = {v: [] for v in missing}
        for version_id, position in session.connection().execute(_CORRECT, {"ids": missing}):
            loaded[version_id].append(position)
        for version_id, positions in loaded.items():
            found[version_id] = tuple(positions)
            _correct.put(version_id, tuple(positions))
    return found


def question_ids(session: Session, version_ids: Iterable[int]) -> dict[int, int]:
    """Each version's question (what a round voids)."""
    found, missing = _cached(_question, version_ids)
    if missing:
        for version_id, question_id in session.connection().execute(_QUESTION, {"ids": missing}):
            found[version_id] = question_id
            _question.put(version_id, question_id)
    return found


def contents(session: Session, version_ids: Iterable[int]) -> dict[int, VersionContent]:
    """Each version's text and choices."""
    found, missing = _cached(_content, version_ids)
    if missing:
        texts: dict[int, str] = {}
        choices: dict[int, dict[int, str]] = {}
        right: dict[int, int] = {}
        for version_id, text, position, choice, is_correct in session.connection().execute(_CONTENT, {"ids": missing}):
            texts[version_id] = text
            choices.setdefault(version_id, {})[position] = choice
            right[version_id] = right.get(version_id, 0) + bool(is_correct)
        for version_id, text in texts.items():
            content = VersionContent(text, choices[version_id], right[version_id] > 1)
            found[version_id] = content
            _content.put(version_id, content)
    return found


def forget() -> None:
    """Empty the caches (a new app, perhaps on another database)."""
    _correct.clear()
    _content.clear()
    _question.clear()
