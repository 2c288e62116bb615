"""Drawing a paper: which questions a contestant gets, in which order, with which choice order.

A round's mix lists items ("5 easy questions on topic X from bank B"). Items are filled from the
most specific to the least, each from the active questions that match it and are not on the paper
yet, so a general item never takes a question a specific one needs. The same routine checks, at
round set-up, that the banks can fill the mix.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from quiz_engine.models import Choice, Difficulty, Question, Round, RoundMixItem
from quiz_engine.services.errors import ValidationError

#: Random draws a mix must survive at set-up to count as fillable (overlapping items can
#: make an unlucky greedy draw fail where another would succeed).
FEASIBILITY_TRIALS = 20


@dataclass(frozen=True)
class Candidate:
    question_id: int
    version_id: int
    choice_positions: tuple[int, ...]


@dataclass(frozen=True)
class PaperItem:
    position: int
    version_id: int
    choice_order: list[int]
    #: Index (in :func:`mix_for_group` order) of the mix item the question was drawn for.
    mix_index: int = 0


def mix_for_group(round_: Round, group_id: int | None) -> list[RoundMixItem]:
    """The group's own mix if the round has one, else the common mix."""
    own = [m for m in round_.mix if group_id is not None and m.group_id == group_id]
    return own or [m for m in round_.mix if m.group_id is None]


def _specificity(item: RoundMixItem) -> int:
    return (item.topic is not None) + (item.difficulty is not None)


def load_candidates(session: Session, items: Sequence[RoundMixItem]) -> list[list[Candidate]]:
    """For each mix item, the active questions (current versions) that match it."""
    result = []
    for item in items:
        stmt = (
            select(Question.id, Question.current_version_id, Choice.position)
            .join(Choice, Choice.version_id == Question.current_version_id)
            .where(Question.bank_id == item.bank_id, Question.is_active.is_(True))
            .order_by(Question.id, Choice.position)
        )
        if item.topic:
            stmt = stmt.where(Question.topic == item.topic)
        if item.difficulty:
            stmt = stmt.where(Question.difficulty == Difficulty(item.difficulty))
        choices: dict[tuple[int, int], list[int]] = {}
        for question_id, version_id, position in session.execute(stmt):
            choices.setdefault((question_id, version_id), []).append(position)
        result.append([Candidate(q, v, tuple(p)) for (q, v), p in choices.items()])
    return result


def allocate(
    items: Sequence[RoundMixItem], candidates: Sequence[list[Candidate]], rng: random.Random
) -> list[Candidate]:
    """Pick each item's questions without repeats, most specific items first.

    :raises ValidationError: if an item cannot be filled.
    """
    order = sorted(range(len(items)), key=lambda i: -_specificity(items[i]))
    taken: set[int] = set()
    picked: dict[int, list[Candidate]] = {}
    for index in order:
        pool = [c for c in candidates[index] if c.question_id not in taken]
        if len(pool) < items[index].count:
            raise _unfillable(items[index], len(pool))
        chosen = rng.sample(pool, items[index].count)
        taken.update(c.question_id for c in chosen)
        picked[index] = chosen
    return [c for index in range(len(items)) for c in picked[index]]


def _unfillable(item: RoundMixItem, available: int) -> ValidationError:
    what = " · ".join(x for x in (item.topic, item.difficulty) if x) or "tất cả chủ đề"
    return ValidationError(
        f"Không đủ câu hỏi cho nhóm rút đề ({what}): cần {item.count}, chỉ còn {available} câu phù hợp.",
        f"Not enough questions for a mix item ({what}): {item.count} needed, {available} available.",
        field="mix",
    )


def draw_paper(session: Session, round_: Round, group_id: int | None, rng: random.Random) -> list[PaperItem]:
    """Draw a paper for a contestant of ``group_id``: question order and each choice order.

    :raises ValidationError: if the banks can no longer fill the mix (questions retired since set-up).
    """
    items = mix_for_group(round_, group_id)
    return paper_from(round_, items, load_candidates(session, items), rng)


def paper_from(
    round_: Round, items: Sequence[RoundMixItem], candidates: Sequence[list[Candidate]], rng: random.Random
) -> list[PaperItem]:
    """Draw one paper from candidates already loaded (:func:`load_candidates`); papers drawn ahead of
    time (``paper_pool``) come from here too, so both follow the same rules.

    :raises ValidationError: if an item cannot be filled.
    """
    chosen = allocate(items, candidates, rng)
    owners = [index for index, item in enumerate(items) for _ in range(item.count)]
    drawn = list(zip(owners, chosen, strict=True))
    if round_.shuffle_questions:
        rng.shuffle(drawn)
    paper = []
    for position, (index, candidate) in enumerate(drawn):
        order = list(candidate.choice_positions)
        if round_.shuffle_choices:
            rng.shuffle(order)
        paper.append(PaperItem(position, candidate.version_id, order, index))
    return paper


def check_fillable(session: Session, items: Sequence[RoundMixItem]) -> None:
    """Refuse a mix the banks cannot fill (every group's mix is checked on its own).

    :raises ValidationError: naming the item that cannot be filled.
    """
    groups: dict[int | None, list[RoundMixItem]] = {}
    for item in items:
        groups.setdefault(item.group_id, []).append(item)
    for group_items in groups.values():
        candidates = load_candidates(session, group_items)
        for trial in range(FEASIBILITY_TRIALS):
            allocate(group_items, candidates, random.Random(trial))
