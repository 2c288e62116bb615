"""Account forms: shape checks only; the accounts and registration services check the rules."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from quiz_engine.models import Contest, UnitKind
from quiz_engine.services.errors import QuizError
from quiz_engine.services.people.registration import EntryChoice, PersonalDetails

UNIT_KIND_LABELS = {
    UnitKind.PROVINCE: _l("Tỉnh"),
    UnitKind.COMMUNE: _l("Xã"),
    UnitKind.WARD: _l("Phường"),
    UnitKind.AGENCY: _l("Cơ quan, sở, ban, ngành"),
    UnitKind.SCHOOL: _l("Trường học"),
    UnitKind.ENTERPRISE: _l("Doanh nghiệp"),
    UnitKind.OTHER: _l("Khác"),
}


class LoginForm(FlaskForm):
    login = StringField(
        _l("Số điện thoại hoặc e-mail"),
        validators=[DataRequired(_l("Vui lòng nhập số điện thoại hoặc e-mail.")), Length(max=254)],
        render_kw={"autocomplete": "username", "inputmode": "email"},
    )
    password = PasswordField(
        _l("Mật khẩu"),
        validators=[DataRequired(_l("Vui lòng nhập mật khẩu.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    #: Ticked unless the person unticks it: a contestant signed in on their phone once should not have to
    #: sign in again at a round's start, when thousands of sign-ins at once cost minutes of scrypt.
    remember = BooleanField(_l("Ghi nhớ đăng nhập trên thiết bị này"), default=True)
    next = HiddenField()


class EntryForm(FlaskForm):
    """The group and unit of one contest entry; choices come from the contest (see :func:`offer_entry`)."""

    # validate_choice=False: whether a choice belongs to the contest is the service's rule.
    group = RadioField(_l("Đối tượng dự thi"), choices=[], validate_choice=False)
    unit = SelectField(_l("Đơn vị"), choices=[], validate_choice=False)

    def entry(self) -> EntryChoice:
        """The chosen group and unit as ids (None where nothing valid was chosen)."""
        return EntryChoice(group_id=_int_or_none(self.group.data), unit_id=_int_or_none(self.unit.data))


class JoinForm(EntryForm):
    consent = BooleanField(_l("Tôi đồng ý cho Ban Tổ chức xử lý dữ liệu cá nhân của tôi theo mục đích nêu trên."))


class ProfileForm(FlaskForm):
    full_name = StringField(
        _l("Họ và tên"),
        validators=[DataRequired(_l("Vui lòng nhập họ và tên.")), Length(max=120)],
        render_kw={"autocomplete": "name"},
    )
    date_of_birth = DateField(
        _l("Ngày sinh"),
        format=["%Y-%m-%d", "%d/%m/%Y"],
        validators=[Optional()],  # required for contestants only: the registration service says so
        invalid_value_message=_l("Ngày sinh không hợp lệ; ví dụ 31/12/1990."),
        render_kw={"autocomplete": "bday"},
    )
    cccd = StringField(
        _l("Số căn cước công dân (CCCD, 12 chữ số)"),
        validators=[Length(max=20)],
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    phone = StringField(
        _l("Số điện thoại"),
        validators=[Length(max=20)],
        render_kw={"type": "tel", "inputmode": "tel", "autocomplete": "tel"},
    )
    email = EmailField(_l("E-mail"), validators=[Length(max=254)], render_kw={"autocomplete": "email"})

    def details(self) -> PersonalDetails:
        """The typed details, as the registration service takes them."""
        return PersonalDetails(
            full_name=self.full_name.data or "",
            date_of_birth=self.date_of_birth.data,
            cccd=self.cccd.data or "",
            phone=self.phone.data or "",
            email=self.email.data or "",
        )


class RegisterForm(ProfileForm, JoinForm):
    password = PasswordField(
        _l("Mật khẩu (ít nhất 8 ký tự)"),
        validators=[DataRequired(_l("Vui lòng nhập mật khẩu.")), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )
    password_confirm = PasswordField(
        _l("Nhập lại mật khẩu"),
        validators=[EqualTo("password", _l("Hai lần nhập mật khẩu không khớp."))],
        render_kw={"autocomplete": "new-password"},
    )

    def application(self) -> dict[str, Any]:
        """What the person filled in, as ``registration.register`` takes it."""
        return {
            "details": self.details(),
            "password": self.password.data or "",
            "entry": self.entry(),
            "consented": bool(self.consent.data),
        }


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Mật khẩu hiện tại"),
        validators=[DataRequired(_l("Vui lòng nhập mật khẩu hiện tại.")), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("Mật khẩu mới (ít nhất 8 ký tự)"),
        validators=[DataRequired(_l("Vui lòng nhập mật khẩu mới.")), Length(max=200)],
        render_kw={"autocomplete": "new-password"},
    )
    new_password_confirm = PasswordField(
        _l("Nhập lại mật khẩu mới"),
        validators=[EqualTo("new_password", _l("Hai lần nhập mật khẩu không khớp."))],
        render_kw={"autocomplete": "new-password"},
    )
    next = HiddenField()


def offer_entry(form: EntryForm, contest: Contest) -> None:
    """Offer the contest's groups and its units (grouped by kind when there are several kinds)."""
    form.group.choices = [SelectChoice(str(g.id), g.name) for g in contest.groups]
    units = sorted(contest.units, key=lambda u: (list(UnitKind).index(u.kind), u.name))
    by_kind = [(kind, list(members)) for kind, members in groupby(units, key=lambda u: u.kind)]
    form.unit.choices = [SelectChoice("", _l("— Chọn đơn vị —"))] + [
        SelectChoice(str(u.id), u.name, optgroup=str(UNIT_KIND_LABELS[kind]) if len(by_kind) > 1 else None)
        for kind, members in by_kind
        for u in members
    ]


def show_error(form: FlaskForm, exc: QuizError, locale: str) -> None:
    """Put a service's refusal under the field it names, else flash it."""
    name = getattr(exc, "field", None)
    field = form._fields.get(name) if name else None
    if field is None:
        flash(exc.message(locale), "error")
    else:
        field.errors = [*field.errors, exc.message(locale)]


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, str) and value.isdigit() else None
