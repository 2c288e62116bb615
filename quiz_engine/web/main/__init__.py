"""Public pages: home, health, language choice."""

from quiz_engine.web.main.views import bp

__all__ = ["bp"]
