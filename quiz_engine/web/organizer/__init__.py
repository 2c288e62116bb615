"""The organizer area: question banks, contests and rounds, users, voided questions."""

from quiz_engine.web.organizer import (  # noqa: F401  (each module's routes register on bp)
    audit_views,
    bank_views,
    branding_views,
    certificate_views,
    contest_views,
    dashboard_views,
    export_views,
    question_views,
    round_views,
    statistics_views,
    suspicious_views,
    unit_views,
    user_views,
    void_views,
)
from quiz_engine.web.organizer.blueprint import bp

__all__ = ["bp"]
