"""The contestant's pages: a contest, taking a round, results and history."""

from quiz_engine.web.contest import branding_views  # noqa: F401  (its routes register on bp)
from quiz_engine.web.contest.views import bp

__all__ = ["bp"]
