"""The JSON API under /api/v1/: the whole contestant flow, used by the attempt page itself."""

from quiz_engine.web.api import attempt_views, board_views, openapi, round_views  # noqa: F401  (routes register on bp)
from quiz_engine.web.api.blueprint import bp

__all__ = ["bp"]
