"""The attempt pages post plain forms; only the CSRF token is checked here (answers go to Redis)."""

from flask_wtf import FlaskForm


class AttemptActionForm(FlaskForm):
    """Carries the CSRF token of start, save and submit forms."""
