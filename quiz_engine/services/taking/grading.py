"""Grading, defined once: whether one answer is right, against a question's key with the round's voids applied.

The rule:

- an answer is right when the set of choices picked is exactly the key's set, in any order; picking
  nothing is never right, and naming one choice twice is not the same set;
- a question voided "count correct" is right for everyone, answered or not; one voided "remove" is left
  out of the count;
- only an answer saved by the attempt's acceptance time counts (the caller filters, :func:`in_time`).

A key is kept as an *entry*, the text the Redis scoring script also reads: the key's choice positions
sorted and comma-separated (``"0,2"``), :data:`KEY_ALL_CORRECT` or :data:`KEY_REMOVED`.

:func:`mark` is the rule in Python: the database's marks come from it (``attempts.submit_attempt``,
rescoring after a void) and so do the statistics. :data:`LUA_MARK` is the same rule for the Redis scoring
script (``leaderboards``), which grades a submitted paper next to the answers Redis holds.
``tests/unit/test_grading.py`` checks with random papers, voids and late answers that both agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from quiz_engine.models import VoidMode
from quiz_engine.services.taking import version_cache

#: Entries of voided questions: counted correct for everyone, or left out of scoring.
KEY_ALL_CORRECT = "*"
KEY_REMOVED = "-"


def key_entry(positions: Iterable[int], void: VoidMode | None = None) -> str:
    """The entry of a key (its correct choice positions), ``void`` applied."""
    if void is VoidMode.REMOVE:
        return KEY_REMOVED
    if void is VoidMode.COUNT_CORRECT:
        return KEY_ALL_CORRECT
    return _canonical(positions)


def _canonical(positions: Iterable[int]) -> str:
    return ",".join(str(p) for p in sorted(positions))


def mark(entry: str, selected: Sequence[int] | None) -> tuple[bool, bool | None]:
    """``(is_void, is_correct)`` of one answer (``selected`` choice positions, None for none) against ``entry``.

    ``is_correct`` is None for a question left out of scoring.
    """
    if entry == KEY_REMOVED:
        return True, None
    if entry == KEY_ALL_CORRECT:
        return True, True
    return False, bool(selected) and _canonical(selected or ()) == entry


def is_right(positions: Iterable[int], selected: Sequence[int] | None) -> bool:
    """Whether ``selected`` is right against a key as it stands, no void applied."""
    return bool(mark(key_entry(positions), selected)[1])


def in_time(saved_at: datetime, accept_until: datetime) -> bool:
    """Whether an answer saved at ``saved_at`` counts for an attempt accepting answers until ``accept_until``."""
    return saved_at <= accept_until


def answer_key(
    session: Session, version_ids: Iterable[int], voided: dict[int, VoidMode] | None = None
) -> dict[int, str]:
    """Question version id -> entry, the round's ``voided`` questions (question id -> mode) applied.

    The keys come from :mod:`version_cache` (versions never change); nothing is read when it holds them.
    """
    wanted = list(dict.fromkeys(version_ids))
    if not wanted:
        return {}
    question_of = version_cache.question_ids(session, wanted) if voided else {}
    return {
        version_id: key_entry(positions, voided.get(question_of[version_id]) if voided else None)
        for version_id, positions in version_cache.correct_positions(session, wanted).items()
    }


#: :func:`mark` and :func:`in_time` in Lua, for the scoring script. ``mark(expected, saved, accept_until_ms)``
#: takes the entry (nil if Redis lost it: counted, not right), the saved answer as ``"<value>|<saved ms>"``
#: (nil if none) and returns ``counted, correct`` as 0 or 1.
LUA_MARK = """
local function canonical(text)
  local list = {}
  for v in string.gmatch(text, '[^,]+') do list[#list + 1] = tonumber(v) end
  table.sort(list)
  return table.concat(list, ',')
end
local function mark(expected, saved, accept_until_ms)
  if expected == '-' then return 0, 0 end
  if expected == '*' then return 1, 1 end
  if not expected or not saved then return 1, 0 end
  local bar = string.find(saved, '|', 1, true)
  local value, at = string.sub(saved, 1, bar - 1), tonumber(string.sub(saved, bar + 1))
  if at <= accept_until_ms and value ~= '' and canonical(value) == expected then return 1, 1 end
  return 1, 0
end
"""
