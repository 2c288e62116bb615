"""Organizer forms: shape checks only; the bank service validates content."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from quiz_engine.services.catalogue.question_schema import LETTERS

NEW_BANK = "__new__"


class BankUploadForm(FlaskForm):
    file = FileField(_l("Tệp câu hỏi (.xlsx, .csv, GIFT, Aiken)"), validators=[FileRequired(_l("Hãy chọn tệp."))])
    bank = SelectField(_l("Nhập vào ngân hàng"), choices=[])
    new_slug = StringField(
        _l("Mã ngân hàng mới (chữ thường không dấu, số, gạch ngang)"),
        validators=[Optional(), Length(max=80), Regexp(r"^[a-z0-9][a-z0-9-]*$", message=_l("Mã chỉ gồm a-z, 0-9, -."))],
    )
    new_title = StringField(_l("Tên ngân hàng mới"), validators=[Optional(), Length(max=255)])


class ConfirmForm(FlaskForm):
    """An empty form: only its CSRF token matters."""


class BankConfirmForm(FlaskForm):
    """Confirming a previewed bank import; the box only counts when the file has unsupported questions."""

    skip_unsupported = BooleanField(_l("Bỏ qua các câu chưa hỗ trợ và nhập các câu còn lại"))


class QuestionForm(FlaskForm):
    topic = StringField(_l("Chủ đề"), validators=[Length(max=120)])
    difficulty = SelectField(
        _l("Mức độ"),
        choices=[
            SelectChoice("dễ", _l("Dễ")),
            SelectChoice("trung bình", _l("Trung bình")),
            SelectChoice("khó", _l("Khó")),
        ],
    )
    question = TextAreaField(_l("Câu hỏi"), validators=[Length(max=1000)])
    choice_a = StringField(_l("Phương án A"), validators=[Length(max=500)])
    choice_b = StringField(_l("Phương án B"), validators=[Length(max=500)])
    choice_c = StringField(_l("Phương án C"), validators=[Length(max=500)])
    choice_d = StringField(_l("Phương án D"), validators=[Length(max=500)])
    choice_e = StringField(_l("Phương án E"), validators=[Length(max=500)])
    choice_f = StringField(_l("Phương án F"), validators=[Length(max=500)])
    correct = StringField(_l("Đáp án đúng (ví dụ B, hoặc A,C)"), validators=[Length(max=20)])
    explanation = TextAreaField(_l("Giải thích"), validators=[Length(max=2000)])
    source = StringField(_l("Nguồn"), validators=[Length(max=1000)])
    active = BooleanField(_l("Đang dùng"))

    def choice_fields(self) -> list:  # type: ignore[type-arg]
        return [getattr(self, f"choice_{letter.lower()}") for letter in LETTERS]


class UnitUploadForm(FlaskForm):
    file = FileField(_l("Tệp danh sách đơn vị (.xlsx, .csv)"), validators=[FileRequired(_l("Hãy chọn tệp."))])


EXPORT_KINDS = [
    SelectChoice("leaderboard", _l("Bảng xếp hạng")),
    SelectChoice("winners", _l("Danh sách đạt giải (có số điện thoại, e-mail)")),
    SelectChoice("units", _l("Thống kê theo đơn vị")),
    SelectChoice("attempts", _l("Toàn bộ bài thi và câu trả lời")),
    SelectChoice("distribution", _l("Phân bố điểm và lượt tham gia theo ngày")),
    SelectChoice("statistics", _l("Thống kê câu hỏi (độ khó, độ phân biệt, cảnh báo)")),
]


EXPORT_LABELS = {choice.value: choice.label for choice in EXPORT_KINDS}


class ExportForm(FlaskForm):
    kind = SelectField(_l("Tệp cần xuất"), choices=EXPORT_KINDS)


class OrganizerForm(FlaskForm):
    email = StringField(_l("E-mail của tài khoản ban tổ chức"), validators=[DataRequired(), Length(max=254)])
