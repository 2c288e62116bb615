"""Certificates for a finalised round: issuing from the stored ranking, verifying a code, revoking.

A verification code looks like ``CN-7K3P-Q9XD``: the prefix and eight characters drawn with
``secrets`` from an alphabet without look-alikes (no 0/O, 1/I/L), about 40 bits, so codes can be
read aloud and typed from paper, and cannot usefully be guessed. Look-ups ignore case, dashes and
spaces. Functions flush; the caller commits.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from quiz_engine.models import Certificate, Round, RoundResult, Unit, User
from quiz_engine.services.errors import ConflictError, ValidationError
from quiz_engine.services.people import audit
from quiz_engine.services.results import rankings

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
PREFIX = "CN"
BODY_LENGTH = 8
PERFECT_AWARD = "Hoàn thành xuất sắc — trả lời đúng tất cả các câu"
MAX_TOP_N = 1000
_BODY = re.compile(f"[{ALPHABET}]{{{BODY_LENGTH}}}")


def award_for_rank(rank: int) -> str:
    """The award printed for a final rank: 1 first, 2–3 second, 4–6 third, the rest consolation.

    A stand-in until prize quotas per round are modelled; that feature replaces this function.
    """
    if rank == 1:
        return "Giải Nhất"
    if rank <= 3:
        return "Giải Nhì"
    if rank <= 6:
        return "Giải Ba"
    return "Giải Khuyến khích"


def new_code() -> str:
    """A fresh random code in canonical form, ``CN-XXXX-XXXX``."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return f"{PREFIX}-{body[:4]}-{body[4:]}"


def normalise_code(text: str) -> str | None:
    """``" cn 7k3p-q9xd "`` -> ``"CN-7K3P-Q9XD"``; None when it cannot be a code."""
    compact = re.sub(r"[\s\-‐‑–—]", "", text or "").upper()
    if len(compact) == len(PREFIX) + BODY_LENGTH and compact.startswith(PREFIX):
        compact = compact[len(PREFIX) :]
    if not _BODY.fullmatch(compact):
        return None
    return f"{PREFIX}-{compact[:4]}-{compact[4:]}"


def _unique_code(session: Session, taken: set[str]) -> str:
    # Collisions are astronomically rare; the unique constraint on ``code`` is the real guarantee.
    for _ in range(20):
        code = new_code()
        if code not in taken and session.scalar(select(Certificate.id).where(Certificate.code == code)) is None:
            taken.add(code)
            return code
    raise RuntimeError("could not draw an unused certificate code")


def _awards(results: Iterable[RoundResult], top_n: int, perfect: bool) -> dict[int, str]:
    """Which results get a certificate, and with which award (a rank award wins over "perfect")."""
    chosen: dict[int, str] = {}
    for result in results:
        if result.rank <= top_n:
            chosen[result.id] = award_for_rank(result.rank)
        elif perfect and result.scored_count > 0 and result.correct_count == result.scored_count:
            chosen[result.id] = PERFECT_AWARD
    return chosen


def issuable(round_: Round) -> bool:
    """Certificates rest on the stored final ranking: only finalised, ranked rounds have one."""
    return round_.finalized_at is not None and not round_.is_practice


def _check_request(round_: Round, top_n: int, perfect: bool) -> None:
    if not issuable(round_):
        raise ConflictError(
            "Đợt thi chưa có kết quả chung cuộc: chỉ cấp giấy chứng nhận sau khi kết quả được chốt.",
            "This round has no final results yet: certificates are issued only once results are final.",
        )
    if not 0 <= top_n <= MAX_TOP_N:
        raise ValidationError(
            f"Số người đứng đầu phải từ 0 đến {MAX_TOP_N}.", f"Top N must be 0 to {MAX_TOP_N}.", field="top_n"
        )
    if top_n == 0 and not perfect:
        raise ValidationError(
            "Hãy chọn số người đứng đầu, hoặc cấp cho mọi bài làm đúng tất cả các câu.",
            "Choose a top N, or certificates for every perfect paper.",
            field="top_n",
        )


def issue_for_round(
    session: Session,
    round_: Round,
    *,
    top_n: int,
    perfect: bool,
    actor_id: int | None,
    now: datetime,
    origin: audit.Origin = audit.CLI,
) -> list[Certificate]:
    """Certificates for the round's top ``top_n`` ranks (ties at the cut-off included) and/or perfect papers.

    Idempotent: a person who already holds a certificate for the round keeps it unchanged (revoked or
    not) and it is returned as it is. Accounts already anonymised get none: there is no name to print.

    :raises ConflictError: if the round is not finalised (or is a practice round).
    :raises ValidationError: if ``top_n`` is out of range, or neither ``top_n`` nor ``perfect`` is asked for.
    :return: the certificates covered by the request, new and existing, in rank order.
    """
    _check_request(round_, top_n, perfect)
    results = session.scalars(rankings.stored(round_.id)).all()
    awards = _awards(results, top_n, perfect)
    existing = {c.user_id: c for c in session.scalars(select(Certificate).where(Certificate.round_id == round_.id))}
    holders = _holders(session, [r for r in results if r.id in awards and r.user_id not in existing])
    taken: set[str] = set()
    out: list[Certificate] = []
    try:
        # Everything new is flushed at once below, so a concurrent issue shows up here and nowhere else.
        with session.no_autoflush:
            for result in results:
                if result.id not in awards:
                    continue
                if result.user_id not in existing and result.user_id in holders:
                    existing[result.user_id] = _certificate(
                        session, result, awards[result.id], holders[result.user_id], now=now, by=actor_id, taken=taken
                    )
                if result.user_id in existing:
                    out.append(existing[result.user_id])
        session.flush()
    except IntegrityError as exc:
        raise ConflictError(
            "Giấy chứng nhận của đợt này vừa được cấp ở nơi khác. Hãy tải lại trang và thử lại.",
            "Certificates for this round were just issued elsewhere. Reload the page and try again.",
        ) from exc
    audit.record(
        session,
        "certificate.issue",
        now=now,
        actor_id=actor_id,
        target=("round", round_.id),
        origin=origin,
        top_n=top_n,
        perfect=perfect,
        issued=len(taken),  # one code drawn per new certificate
        covered=len(out),
    )
    return out


def _certificate(
    session: Session,
    result: RoundResult,
    award: str,
    holder: tuple[str, str | None],
    *,
    now: datetime,
    by: int | None,
    taken: set[str],
) -> Certificate:
    name, unit_name = holder
    certificate = Certificate(
        code=_unique_code(session, taken),
        round_id=result.round_id,
        user_id=result.user_id,
        result_id=result.id,
        award=award,
        holder_name=name,
        unit_name=unit_name,
        issued_at=now,
        issued_by=by,
    )
    session.add(certificate)
    return certificate


def _holders(session: Session, results: list[RoundResult]) -> dict[int, tuple[str, str | None]]:
    """Name and unit name to print for each result's contestant; anonymised accounts are left out."""
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_([r.user_id for r in results])))}
    # The unit is the one the contestant competed for (copied onto the result), else their current one.
    unit_of = {r.user_id: r.unit_id if r.unit_id is not None else users[r.user_id].unit_id for r in results}
    wanted = {unit_id for unit_id in unit_of.values() if unit_id is not None}
    names = {unit_id: name for unit_id, name in session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(wanted)))}
    return {
        user_id: (users[user_id].full_name, None if unit_id is None else names.get(unit_id))
        for user_id, unit_id in unit_of.items()
        if users[user_id].anonymised_at is None  # the name is gone: nothing true to print
    }


def verify(session: Session, code: str) -> Certificate | None:
    """The certificate with this code, revoked or not; case, dashes and spaces do not matter."""
    canonical = normalise_code(code)
    if canonical is None:
        return None
    return session.scalar(select(Certificate).where(Certificate.code == canonical))


def round_certificates(session: Session, round_id: int) -> list[Certificate]:
    """Every certificate issued for a round, in the order they were issued (rank order within one issue)."""
    return list(session.scalars(select(Certificate).where(Certificate.round_id == round_id).order_by(Certificate.id)))


def revoke(
    session: Session,
    certificate: Certificate,
    *,
    actor_id: int | None,
    now: datetime,
    origin: audit.Origin = audit.CLI,
) -> Certificate:
    """Mark a certificate revoked (its code then verifies as revoked); revoking again changes nothing."""
    if certificate.revoked_at is not None:
        return certificate
    certificate.revoked_at = now
    session.flush()
    audit.record(
        session,
        "certificate.revoke",
        now=now,
        actor_id=actor_id,
        target=("certificate", certificate.id),
        origin=origin,
        code=certificate.code,
        round_id=certificate.round_id,
        user_id=certificate.user_id,
    )
    return certificate
