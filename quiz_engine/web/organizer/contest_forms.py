"""Contest and round forms: shape checks only; the contest service checks the rules themselves."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from quiz_engine.models import (
    Contest,
    ContestGroup,
    CountingPolicy,
    LeaderboardVisibility,
    PredictionKind,
    QuestionBank,
    StandingsMode,
    TieBreak,
    Unit,
    UnitRanking,
)
from quiz_engine.services.errors import QuizError
from quiz_engine.services.organising.contests import ContestDetails
from quiz_engine.services.organising.rounds import MixItem, RoundRules
from quiz_engine.web import deps

GROUP_ROWS = 4
MIX_ROWS = 6
#: ``datetime-local`` inputs only accept the "T" form; the others are accepted from hand-made requests.
LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
REQUIRED = _l("Cần nhập mục này.")
CODE_MESSAGE = _l("Chỉ gồm chữ thường không dấu (a-z), số và dấu gạch ngang.")

TIE_BREAK_LABELS = {
    TieBreak.CORRECT: _l("Số câu trả lời đúng"),
    TieBreak.PREDICTION: _l("Dự đoán gần đúng nhất"),
    TieBreak.DURATION: _l("Thời gian làm bài ngắn nhất"),
    TieBreak.SUBMITTED_AT: _l("Nộp bài sớm nhất"),
}
COUNTING_LABELS = {
    CountingPolicy.BEST: _l("Lượt có kết quả cao nhất"),
    CountingPolicy.FIRST: _l("Lượt thi đầu tiên"),
    CountingPolicy.LAST: _l("Lượt thi cuối cùng"),
}
PREDICTION_LABELS = {
    PredictionKind.NONE: _l("Không có câu hỏi dự đoán"),
    PredictionKind.PARTICIPANTS: _l("Dự đoán số người tham gia đợt thi"),
    PredictionKind.ALL_CORRECT: _l("Dự đoán số người trả lời đúng tất cả câu hỏi"),
}
VISIBILITY_LABELS = {
    LeaderboardVisibility.HIDDEN: _l("Ẩn cho đến khi có kết quả chính thức"),
    LeaderboardVisibility.FROZEN: _l("Hiện, nhưng đóng băng từ thời điểm đóng băng"),
    LeaderboardVisibility.LIVE: _l("Cập nhật trực tiếp"),
}
STANDINGS_LABELS = {
    StandingsMode.SUM: _l("Cộng kết quả các đợt"),
    StandingsMode.BEST_ROUND: _l("Lấy đợt có kết quả tốt nhất"),
}
DIFFICULTY_LABELS = {"easy": _l("Dễ"), "medium": _l("Trung bình"), "hard": _l("Khó")}


def _choices(labels: dict[Any, Any], blank: Any = None) -> list[SelectChoice]:
    options = [SelectChoice("", blank)] if blank is not None else []
    return options + [SelectChoice(str(key), label) for key, label in labels.items()]


def _none_if_blank(value: str | None) -> str | None:
    return value or None


# --- Contest -----------------------------------------------------------------------------------


class GroupRow(Form):
    """One eligibility group; a row left blank is ignored."""

    code = StringField(
        _l("Mã nhóm"), validators=[Optional(), Length(max=40), Regexp(r"^[a-z0-9-]+$", message=CODE_MESSAGE)]
    )
    name = StringField(_l("Tên nhóm"), validators=[Optional(), Length(max=255)])


class ContestForm(FlaskForm):
    """A contest's details as they can be edited; :class:`NewContestForm` adds the slug."""

    title = StringField(_l("Tên cuộc thi"), validators=[DataRequired(REQUIRED), Length(max=255)])
    description = TextAreaField(_l("Giới thiệu ngắn"), validators=[Length(max=5000)])
    rules = TextAreaField(_l("Thể lệ"), validators=[Length(max=50000)])
    groups = FieldList(FormField(GroupRow), min_entries=GROUP_ROWS, max_entries=20)
    units = SelectMultipleField(_l("Chọn các đơn vị"), coerce=int, choices=[], validate_choice=True)
    units_under = SelectField(_l("Hoặc lấy tất cả đơn vị thuộc"), choices=[], default="")
    published = BooleanField(_l("Công bố cuộc thi (hiện trên trang chủ)"))
    one_prize_per_person = BooleanField(_l("Mỗi người chỉ nhận một giải trong cả cuộc thi"))
    standings_mode = SelectField(
        _l("Xếp hạng chung cuộc"), choices=_choices(STANDINGS_LABELS), default=StandingsMode.SUM.value
    )
    unit_ranking = SelectField(
        _l("Xếp hạng tập thể (giải đơn vị)"),
        choices=[
            SelectChoice("participation", _l("Theo tỷ lệ tham gia, rồi điểm trung bình")),
            SelectChoice("average_score", _l("Theo điểm trung bình, rồi tỷ lệ tham gia")),
            SelectChoice("weighted", _l("Theo tổng có trọng số của tỷ lệ tham gia và điểm trung bình")),
        ],
        default="participation",
    )
    unit_min_participation_pct = IntegerField(
        _l("Tỷ lệ tham gia tối thiểu để được xếp hạng tập thể (%)"),
        default=0,
        validators=[NumberRange(0, 100)],
    )
    unit_participation_weight_pct = IntegerField(
        _l("Trọng số của tỷ lệ tham gia trong công thức có trọng số (%)"),
        default=50,
        validators=[NumberRange(0, 100)],
    )

    def offer_units(self, tree: Sequence[tuple[Unit, int]]) -> None:
        """Fill the unit pickers; depth shows as indentation because a flat list hides the hierarchy."""
        self.units.choices = [SelectChoice(str(u.id), "\u2003" * depth + f"{u.name} ({u.code})") for u, depth in tree]
        parents = {u.parent_id for u, _ in tree if u.parent_id is not None}
        self.units_under.choices = [SelectChoice("", _l("— Không, dùng danh sách đã chọn —"))] + [
            SelectChoice(str(u.id), f"{u.name} ({u.code})") for u, _ in tree if u.id in parents
        ]

    def group_pairs(self) -> list[tuple[str, str]]:
        """The filled-in group rows as ``(code, name)``; half-filled rows go to the service to be refused."""
        rows = [(row.form.code.data or "", row.form.name.data or "") for row in self.groups]
        return [(code.strip(), name.strip()) for code, name in rows if code.strip() or name.strip()]

    def under_id(self) -> int | None:
        return int(self.units_under.data) if self.units_under.data else None

    def details(self, units: Sequence[Unit]) -> ContestDetails:
        """What ``contests.create_contest`` and ``contests.update_contest`` take, with the chosen ``units``."""
        weight = self.unit_participation_weight_pct.data
        return ContestDetails(
            title=self.title.data or "",
            description=self.description.data or "",
            rules_html=self.rules.data or "",
            groups=self.group_pairs(),
            units=units,
            published=self.published.data,
            one_prize_per_person=self.one_prize_per_person.data,
            standings_mode=StandingsMode(self.standings_mode.data),
            unit_ranking=UnitRanking(self.unit_ranking.data),
            unit_min_participation_pct=self.unit_min_participation_pct.data or 0,
            unit_participation_weight_pct=weight if weight is not None else 50,
        )


class NewContestForm(ContestForm):
    slug = StringField(
        _l("Mã cuộc thi (dùng trong địa chỉ trang, không đổi được sau khi tạo)"),
        validators=[DataRequired(REQUIRED), Length(max=80), Regexp(r"^[a-z0-9][a-z0-9-]*$", message=CODE_MESSAGE)],
    )


def contest_data(contest: Contest | None, all_unit_ids: Sequence[int]) -> dict[str, Any]:
    """Initial form values: the contest's own, or for a new one every unit selected."""
    if contest is None:
        return {"units": list(all_unit_ids), "one_prize_per_person": True, "standings_mode": StandingsMode.SUM.value}
    return {
        "slug": contest.slug,
        "title": contest.title,
        "description": contest.description,
        "rules": contest.rules_html,
        "groups": [{"code": g.code, "name": g.name} for g in contest.groups],
        "units": [u.id for u in contest.units],
        "published": contest.is_published,
        "one_prize_per_person": contest.one_prize_per_person,
        "standings_mode": contest.standings_mode.value,
        "unit_ranking": contest.unit_ranking.value,
        "unit_min_participation_pct": contest.unit_min_participation_pct,
        "unit_participation_weight_pct": contest.unit_participation_weight_pct,
    }


# --- Round -------------------------------------------------------------------------------------


class MixRow(Form):
    """One line of the mix; a row without a bank is ignored."""

    bank = SelectField(_l("Ngân hàng"), choices=[], default="")
    topic = StringField(_l("Chủ đề (để trống: mọi chủ đề)"), validators=[Optional(), Length(max=120)])
    difficulty = SelectField(_l("Mức độ"), choices=_choices(DIFFICULTY_LABELS, _l("Mọi mức độ")), default="")
    group = SelectField(_l("Nhóm đối tượng"), choices=[], default="")
    count = IntegerField(_l("Số câu"), validators=[Optional(), NumberRange(min=1, max=500)])


def _local_time(label: Any, *validators: Any) -> DateTimeLocalField:
    return DateTimeLocalField(label, validators=list(validators), format=LOCAL_FORMATS, tz=deps.timezone)


class RoundAfterStartForm(FlaskForm):
    """What may still change once someone has started the round."""

    title = StringField(_l("Tên đợt thi"), validators=[DataRequired(REQUIRED), Length(max=255)])
    closes_at = _local_time(_l("Kết thúc (giờ Việt Nam)"), InputRequired(REQUIRED))
    leaderboard_visibility = SelectField(
        _l("Bảng xếp hạng"), choices=_choices(VISIBILITY_LABELS), default=LeaderboardVisibility.LIVE.value
    )
    leaderboard_frozen_at = _local_time(_l("Đóng băng bảng xếp hạng từ (giờ Việt Nam)"), Optional())
    reveal_answers_after_close = BooleanField(_l("Công bố đáp án và giải thích sau khi đợt thi kết thúc"))
    prize_quotas = TextAreaField(
        _l("Cơ cấu giải, mỗi dòng một giải: tên giải: số lượng (ví dụ Giải Nhất: 1)"), validators=[Length(max=2000)]
    )

    def quotas(self) -> list[dict[str, Any]]:
        """The prize lines as the service takes them; a malformed line goes to the service to be refused."""
        quotas: list[dict[str, Any]] = []
        for line in (self.prize_quotas.data or "").splitlines():
            if line.strip():
                label, _, count = line.rpartition(":")
                quotas.append({"label": label.strip(), "count": int(count) if count.strip().isdigit() else None})
        return quotas

    def offer(self, banks: Sequence[QuestionBank], groups: Sequence[ContestGroup]) -> None:
        """Nothing to offer: the mix is fixed once the round has attempts."""

    def rules(self, current: RoundRules) -> RoundRules:
        """``current`` with this form's fields applied."""
        return replace(
            current,
            title=self.title.data or "",
            closes_at=self.closes_at.data,
            leaderboard_visibility=LeaderboardVisibility(self.leaderboard_visibility.data),
            leaderboard_frozen_at=self.leaderboard_frozen_at.data,
            reveal_answers_after_close=self.reveal_answers_after_close.data,
            prize_quotas=self.quotas(),
        )


class RoundForm(RoundAfterStartForm):
    opens_at = _local_time(_l("Bắt đầu (giờ Việt Nam)"), InputRequired(REQUIRED))
    time_limit = IntegerField(
        _l("Thời gian làm bài (phút)"), validators=[InputRequired(REQUIRED), NumberRange(min=1, max=360)]
    )
    mix = FieldList(FormField(MixRow), min_entries=MIX_ROWS, max_entries=30)
    shuffle_questions = BooleanField(_l("Đảo thứ tự câu hỏi"))
    shuffle_choices = BooleanField(_l("Đảo thứ tự phương án"))
    max_attempts = IntegerField(_l("Số lượt thi tối đa mỗi đợt"), validators=[Optional(), NumberRange(min=1)])
    max_attempts_per_day = IntegerField(_l("Số lượt thi tối đa mỗi ngày"), validators=[Optional(), NumberRange(min=1)])
    counting_policy = SelectField(
        _l("Lượt được tính"), choices=_choices(COUNTING_LABELS), default=CountingPolicy.BEST.value
    )
    prediction_kind = SelectField(
        _l("Câu hỏi dự đoán"), choices=_choices(PREDICTION_LABELS), default=PredictionKind.NONE.value
    )
    prediction_prompt = TextAreaField(_l("Nội dung câu hỏi dự đoán"), validators=[Length(max=1000)])
    tie_1 = SelectField(_l("Tiêu chí 1"), choices=_choices(TIE_BREAK_LABELS), default=TieBreak.CORRECT.value)
    tie_2 = SelectField(_l("Tiêu chí 2"), choices=_choices(TIE_BREAK_LABELS, _l("— Không dùng —")), default="")
    tie_3 = SelectField(_l("Tiêu chí 3"), choices=_choices(TIE_BREAK_LABELS, _l("— Không dùng —")), default="")
    tie_4 = SelectField(_l("Tiêu chí 4"), choices=_choices(TIE_BREAK_LABELS, _l("— Không dùng —")), default="")
    grace_seconds = IntegerField(
        _l("Thời gian ân hạn khi nộp bài (giây)"), validators=[InputRequired(REQUIRED), NumberRange(min=0, max=300)]
    )
    is_practice = BooleanField(_l("Đợt luyện tập (không xếp hạng, không giới hạn lượt, không có câu dự đoán)"))

    def offer(self, banks: Sequence[QuestionBank], groups: Sequence[ContestGroup]) -> None:
        """Fill every mix row's bank and group choices."""
        for row in self.mix:
            row.form.bank.choices = [SelectChoice("", _l("— Không dùng dòng này —"))] + [
                SelectChoice(b.slug, b.title) for b in banks
            ]
            row.form.group.choices = [SelectChoice("", _l("Mọi nhóm"))] + [SelectChoice(g.code, g.name) for g in groups]

    def tie_fields(self) -> list[SelectField]:
        return [self.tie_1, self.tie_2, self.tie_3, self.tie_4]

    def mix_items(self) -> list[MixItem]:
        """The rows that name a bank; a row with a bank but no count asks for zero questions (refused)."""
        return [
            MixItem(
                bank_slug=row.form.bank.data,
                count=row.form.count.data or 0,
                topic=_none_if_blank(row.form.topic.data),
                difficulty=_none_if_blank(row.form.difficulty.data),
                group_code=_none_if_blank(row.form.group.data),
            )
            for row in self.mix
            if row.form.bank.data
        ]

    def rules(self, current: RoundRules | None = None) -> RoundRules:
        """Every rule as entered; ``current`` is not needed, the form holds them all."""
        return RoundRules(
            title=self.title.data or "",
            opens_at=self.opens_at.data,
            closes_at=self.closes_at.data,
            time_limit_seconds=60 * self.time_limit.data,
            mix=self.mix_items(),
            shuffle_questions=self.shuffle_questions.data,
            shuffle_choices=self.shuffle_choices.data,
            max_attempts=self.max_attempts.data,
            max_attempts_per_day=self.max_attempts_per_day.data,
            counting_policy=CountingPolicy(self.counting_policy.data),
            prediction_kind=PredictionKind(self.prediction_kind.data),
            prediction_prompt=self.prediction_prompt.data or "",
            tie_breaks=[TieBreak(f.data) for f in self.tie_fields() if f.data],
            is_practice=self.is_practice.data,
            leaderboard_visibility=LeaderboardVisibility(self.leaderboard_visibility.data),
            grace_seconds=self.grace_seconds.data,
            leaderboard_frozen_at=self.leaderboard_frozen_at.data,
            reveal_answers_after_close=self.reveal_answers_after_close.data,
            prize_quotas=self.quotas(),
        )


def round_data(rules: RoundRules | None, number: int) -> dict[str, Any]:
    """Initial form values: ``rules`` (an existing round's), or the common defaults for round ``number``."""
    if rules is None:
        rules = RoundRules(
            title=gettext("Tuần %(n)d", n=number),
            opens_at=None,
            closes_at=None,
            time_limit_seconds=600,
            mix=(),  # type: ignore[arg-type]
        )
    ties = [t.value for t in rules.tie_breaks] + [""] * 4
    return {
        "title": rules.title,
        "opens_at": rules.opens_at,
        "closes_at": rules.closes_at,
        "time_limit": rules.time_limit_seconds // 60,
        "mix": [
            {
                "bank": m.bank_slug,
                "topic": m.topic or "",
                "difficulty": m.difficulty or "",
                "group": m.group_code or "",
                "count": m.count,
            }
            for m in rules.mix
        ],
        "shuffle_questions": rules.shuffle_questions,
        "shuffle_choices": rules.shuffle_choices,
        "max_attempts": rules.max_attempts,
        "max_attempts_per_day": rules.max_attempts_per_day,
        "counting_policy": rules.counting_policy.value,
        "prediction_kind": rules.prediction_kind.value,
        "prediction_prompt": rules.prediction_prompt,
        **{f"tie_{i}": ties[i - 1] for i in range(1, 5)},
        "grace_seconds": rules.grace_seconds,
        "is_practice": rules.is_practice,
        "leaderboard_visibility": rules.leaderboard_visibility.value,
        "leaderboard_frozen_at": rules.leaderboard_frozen_at,
        "reveal_answers_after_close": rules.reveal_answers_after_close,
        "prize_quotas": "\n".join(f"{q['label']}: {q['count']}" for q in rules.prize_quotas),
    }


#: Service field names that are not form field names.
_FIELD_ALIASES = {"tie_breaks": "tie_1"}


def show_error(form: FlaskForm, exc: QuizError, locale: str) -> bool:
    """Put a refusal under the form field it names; return False when it names none (flash it then)."""
    name = _FIELD_ALIASES.get(getattr(exc, "field", None) or "", getattr(exc, "field", None))
    if name == "mix" and hasattr(form, "mix"):
        form.mix_errors = [exc.message(locale)]  # type: ignore[attr-defined]  # shown above the mix table
        return True
    if name == "groups" and hasattr(form, "groups"):
        form.group_errors = [exc.message(locale)]  # type: ignore[attr-defined]
        return True
    target = getattr(form, name, None) if name else None
    if target is None or not hasattr(target, "errors") or isinstance(target, FieldList):
        return False
    target.errors = [*target.errors, exc.message(locale)]
    return True


#: Labels of the rule values, for the pages that show a round's rules.
LABELS = {
    "tie_break": TIE_BREAK_LABELS,
    "counting": COUNTING_LABELS,
    "prediction": PREDICTION_LABELS,
    "visibility": VISIBILITY_LABELS,
    "standings": STANDINGS_LABELS,
    "difficulty": DIFFICULTY_LABELS,
}
