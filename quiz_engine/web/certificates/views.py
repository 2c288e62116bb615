"""Public certificate pages: the printable certificate and the verification of a code."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from quiz_engine.extensions import db
from quiz_engine.models import Certificate
from quiz_engine.services.people.names import mask_name
from quiz_engine.services.results import certificates
from quiz_engine.web.certificates.forms import VerifyForm

bp = Blueprint("certificates", __name__)


@bp.get("/certificates/<code>")
def show_certificate(code: str) -> ResponseReturnValue:
    """The certificate as printed (A4 landscape), or a notice that it was revoked."""
    certificate = certificates.verify(db.session, code)
    if certificate is None:
        abort(404)
    if certificate.code != code:  # typed in lower case or without dashes: settle on one address
        return redirect(url_for("certificates.show_certificate", code=certificate.code))
    response = make_response(
        render_template(
            "certificates/show_certificate.html",
            certificate=certificate,
            verify_url=url_for("certificates.verify_code", code=certificate.code, _external=True),
        ),
        410 if certificate.is_revoked else 200,
    )
    # The page carries a full name: reachable by whoever holds the code, but kept out of search engines.
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/verify")
def verify() -> ResponseReturnValue:
    """The verification form; a submitted code goes to its own verification address."""
    form = VerifyForm(request.args)
    if "code" not in request.args or not form.validate():
        return render_template("certificates/verify.html", form=form, state=None)
    canonical = certificates.normalise_code(form.code.data)
    if canonical is None:
        return _verification(form, None), 404
    return redirect(url_for("certificates.verify_code", code=canonical))


@bp.get("/verify/<code>")
def verify_code(code: str) -> ResponseReturnValue:
    """Whether a code belongs to a valid, a revoked or no certificate; the holder's name is masked."""
    certificate = certificates.verify(db.session, code)
    if certificate is not None and certificate.code != code:
        return redirect(url_for("certificates.verify_code", code=certificate.code))
    page = _verification(VerifyForm(data={"code": code}), certificate)
    return page, 404 if certificate is None else 200


def _verification(form: VerifyForm, certificate: Certificate | None) -> str:
    state = "not_found" if certificate is None else ("revoked" if certificate.is_revoked else "valid")
    return render_template(
        "certificates/verify.html",
        form=form,
        state=state,
        certificate=certificate,
        # Only what the certificate itself shows, with the name masked: never contact or identity data.
        masked_name=mask_name(certificate.holder_name) if certificate else None,
    )
