"""The organizer area: question banks (and, later, contests, rounds, units, results)."""

from quiz_engine.web.organizer import bank_views, question_views, user_views  # noqa: F401  (routes register on bp)
from quiz_engine.web.organizer.blueprint import bp

__all__ = ["bp"]
