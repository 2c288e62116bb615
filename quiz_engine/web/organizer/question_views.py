"""Editing, retiring and restoring one question (each edit of content adds a version)."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext
from flask_login import current_user

from quiz_engine.extensions import db
from quiz_engine.models import Question
from quiz_engine.services.catalogue import banks
from quiz_engine.services.catalogue.question_schema import COLUMNS, DIFFICULTY_VI, RawQuestion
from quiz_engine.services.errors import ValidationError
from quiz_engine.services.people import audit
from quiz_engine.web import deps
from quiz_engine.web.access import organizer_required
from quiz_engine.web.organizer.blueprint import bp
from quiz_engine.web.organizer.forms import ConfirmForm, QuestionForm


def _form_for(question: Question) -> QuestionForm:
    row = banks.spec_of(question).as_row()
    form = QuestionForm(
        data={
            **{k: row[k] for k in COLUMNS if k not in ("code", "active")},
            "difficulty": DIFFICULTY_VI[question.difficulty],
            "active": question.is_active,
        }
    )
    return form


@bp.route("/questions/<int:question_id>/edit", methods=["GET", "POST"])
@organizer_required
def question_edit(question_id: int) -> ResponseReturnValue:
    """Show and save the question form; past papers keep the version they drew."""
    question = db.get_or_404(Question, question_id)
    form = QuestionForm() if QuestionForm().is_submitted() else _form_for(question)
    if not form.validate_on_submit():
        return render_template("organizer/question_edit.html", question=question, form=form)
    cells = {key: str(getattr(form, key).data or "") for key in COLUMNS if key not in ("code", "active")}
    cells["active"] = "có" if form.active.data else "không"
    try:
        banks.edit_question(
            db.session,
            question,
            RawQuestion(row=0, cells=cells),
            now=deps.now(),
            actor_id=current_user.id,
            origin=deps.origin(),
        )
    except ValidationError as exc:
        db.session.rollback()
        flash(exc.message(deps.locale()), "error")
        return render_template("organizer/question_edit.html", question=question, form=form), 400
    db.session.commit()
    flash(gettext("Đã lưu câu hỏi %(code)s.", code=question.code), "success")
    return redirect(url_for("organizer.bank_detail", slug=question.bank.slug))


@bp.post("/questions/<int:question_id>/<any(retire, restore):action>")
@organizer_required
def question_set_active(question_id: int, action: str) -> ResponseReturnValue:
    """Retire a question (never drawn again) or bring it back."""
    question = db.get_or_404(Question, question_id)
    if ConfirmForm().validate_on_submit():
        banks.set_active(db.session, question, action == "restore", now=deps.now())
        audit.record(
            db.session,
            f"question.{action}",
            now=deps.now(),
            actor_id=current_user.id,
            target=("question", question.id),
            origin=deps.origin(),
        )
        db.session.commit()
        flash(
            gettext("Đã ngừng dùng câu %(code)s.", code=question.code)
            if action == "retire"
            else gettext("Đã dùng lại câu %(code)s.", code=question.code),
            "success",
        )
    return redirect(url_for("organizer.bank_detail", slug=question.bank.slug))
