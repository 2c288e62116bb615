"""Signing in and out."""

from quiz_engine.web.auth.views import bp

__all__ = ["bp"]
