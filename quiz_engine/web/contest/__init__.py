"""The contestant's pages: a contest, taking a round, results and history."""

from quiz_engine.web.contest.views import bp

__all__ = ["bp"]
