"""Typed SQLAlchemy 2 models: persistence and small invariants only, no business rules."""

from quiz_engine.models.attempt import CLOSED_STATUSES, Attempt, AttemptItem, AttemptStatus, Registration
from quiz_engine.models.audit import AuditEvent
from quiz_engine.models.bank import Choice, Difficulty, Question, QuestionBank, QuestionVersion
from quiz_engine.models.base import utcnow
from quiz_engine.models.certificate import Certificate
from quiz_engine.models.contest import (
    DEFAULT_PRIZE_QUOTAS,
    DEFAULT_TIE_BREAKS,
    Contest,
    ContestGroup,
    CountingPolicy,
    LeaderboardVisibility,
    PredictionKind,
    Round,
    RoundMixItem,
    StandingsMode,
    TieBreak,
    UnitRanking,
    contest_organizers,
)
from quiz_engine.models.export_job import ExportJob, ExportStatus
from quiz_engine.models.result import RoundResult, VoidedQuestion, VoidMode
from quiz_engine.models.statistics import QuestionStatistic, RoundStatistics
from quiz_engine.models.unit import Unit, UnitKind
from quiz_engine.models.user import Role, User

__all__ = [
    "CLOSED_STATUSES",
    "DEFAULT_PRIZE_QUOTAS",
    "DEFAULT_TIE_BREAKS",
    "Attempt",
    "AttemptItem",
    "AttemptStatus",
    "AuditEvent",
    "Certificate",
    "Choice",
    "Contest",
    "ContestGroup",
    "CountingPolicy",
    "Difficulty",
    "ExportJob",
    "ExportStatus",
    "LeaderboardVisibility",
    "PredictionKind",
    "Question",
    "QuestionBank",
    "QuestionStatistic",
    "QuestionVersion",
    "Registration",
    "Role",
    "Round",
    "RoundMixItem",
    "RoundResult",
    "RoundStatistics",
    "StandingsMode",
    "TieBreak",
    "Unit",
    "UnitKind",
    "UnitRanking",
    "User",
    "VoidMode",
    "VoidedQuestion",
    "contest_organizers",
    "utcnow",
]
