"""Certificate forms: shape checks only; the certificates service checks the rules."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from quiz_engine.services.results.certificates import MAX_TOP_N


class IssueForm(FlaskForm):
    """What an organizer asks for: the top N ranks, every perfect paper, or both."""

    top_n = IntegerField(
        _l("Cấp cho người xếp hạng từ 1 đến (N)"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=MAX_TOP_N)],
    )
    perfect = BooleanField(_l("Cấp cho mọi bài làm đúng tất cả các câu"))


class VerifyForm(FlaskForm):
    """The public look-up: a plain GET form, so it needs no session and no CSRF token."""

    class Meta:
        csrf = False

    code = StringField(_l("Mã xác thực"), validators=[DataRequired(_l("Hãy nhập mã xác thực.")), Length(max=40)])
