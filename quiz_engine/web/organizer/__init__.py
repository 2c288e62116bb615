"""The organizer area: question banks (and, later, contests, rounds, units, results)."""

import quiz_engine.web.organizer.contest_views  # routes register on bp
import quiz_engine.web.organizer.round_views  # noqa: F401  (routes register on bp)
from quiz_engine.web.organizer import bank_views, question_views, user_views  # noqa: F401  (routes register on bp)
from quiz_engine.web.organizer.blueprint import bp

__all__ = ["bp"]
