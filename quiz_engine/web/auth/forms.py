"""Sign-in form: shape checks only; credentials are checked by the accounts service."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length


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
    remember = BooleanField(_l("Ghi nhớ đăng nhập trên thiết bị này"))
    next = HiddenField()
