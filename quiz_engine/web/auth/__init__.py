"""Accounts: signing in and out, registering, joining contests, the profile and passwords."""

from quiz_engine.web.auth import data_views, profile_views, registration_views  # noqa: F401  (routes register on bp)
from quiz_engine.web.auth.views import bp

__all__ = ["bp"]
