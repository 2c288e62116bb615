"""Certificates: codes, awards by rank, perfect papers, idempotent issuing, verification, revoking."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from quiz_engine.models import Attempt, AttemptStatus, AuditEvent, Certificate, User, utcnow
from quiz_engine.services.errors import ConflictError, ValidationError
from quiz_engine.services.people import accounts
from quiz_engine.services.results import certificates, rankings
from tests import contest_fixture

CODE = re.compile(r"^CN-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}$")
# Correct answers out of 10 for eight contestants, each with a different time, so ranks are 1..8.
SCORES = [10, 10, 9, 8, 8, 7, 6, 10]


def _attempt(session, round_, user_id: int, correct: int, seconds: int, unit_id=None) -> None:  # type: ignore[no-untyped-def]
    submitted = round_.opens_at + timedelta(seconds=600)
    session.add(
        Attempt(
            round_id=round_.id,
            user_id=user_id,
            number=1,
            status=AttemptStatus.SUBMITTED,
            started_at=submitted - timedelta(seconds=seconds),
            deadline_at=submitted,
            submitted_at=submitted,
            duration_ms=seconds * 1000,
            question_count=10,
            scored_count=10,
            correct_count=correct,
            unit_id=unit_id,
        )
    )


@pytest.fixture
def finalised(session):  # type: ignore[no-untyped-def]
    """A finalised round with eight ranked contestants; returns the round and the user ids in rank order."""
    built = contest_fixture.build(session, questions=10, per_paper=10)
    users = [built.user_id] + [
        accounts.create_user(
            session, full_name=f"Lê Thị Người {i}", email=f"c{i}@example.vn", password="mat-khau-123", now=utcnow()
        ).id
        for i in range(1, len(SCORES))
    ]
    unit_id = built.contest.units[0].id
    for i, (user_id, correct) in enumerate(zip(users, SCORES, strict=True)):
        _attempt(session, built.round, user_id, correct, seconds=100 + 10 * i, unit_id=unit_id if i == 0 else None)
    built.round.closes_at = utcnow() - timedelta(minutes=1)
    rankings.finalize_round(session, built.round, utcnow())
    session.commit()
    # SCORES sorted by correct answers, then time: users 0, 1, 7 (10), 2 (9), 3, 4 (8), 5 (7), 6 (6).
    return built.round, [users[i] for i in (0, 1, 7, 2, 3, 4, 5, 6)]


def _issue(session, round_, **kwargs):  # type: ignore[no-untyped-def]
    kwargs.setdefault("top_n", 0)
    kwargs.setdefault("perfect", False)
    out = certificates.issue_for_round(session, round_, actor_id=None, now=kwargs.pop("now", utcnow()), **kwargs)
    session.commit()
    return out


def test_codes_are_well_formed_unique_and_free_of_look_alikes() -> None:
    codes = {certificates.new_code() for _ in range(3000)}
    assert len(codes) == 3000
    assert all(CODE.fullmatch(c) for c in codes)
    assert not set("".join(c[3:] for c in codes)) & set("01OIL")


def test_award_for_rank() -> None:
    labels = [certificates.award_for_rank(r) for r in range(1, 9)]
    assert labels == ["Giải Nhất", "Giải Nhì", "Giải Nhì", "Giải Ba", "Giải Ba", "Giải Ba"] + ["Giải Khuyến khích"] * 2


def test_top_n_gets_awards_by_rank_with_name_and_unit_copied(session, finalised) -> None:
    round_, ranked = finalised
    issued = _issue(session, round_, top_n=7)
    assert [c.user_id for c in issued] == ranked[:7]
    assert [c.award for c in issued] == [certificates.award_for_rank(r) for r in range(1, 8)]
    assert len({c.code for c in issued}) == 7 and all(CODE.fullmatch(c.code) for c in issued)
    first = issued[0]
    assert (first.holder_name, first.unit_name) == ("Nguyễn Văn An", "Xã Một")
    assert issued[1].unit_name is None and issued[1].holder_name.startswith("Lê Thị Người")
    assert all(c.result_id is not None and c.revoked_at is None for c in issued)
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "certificate.issue"))
    assert event.target_id == round_.id and event.details["issued"] == 7 and event.details["covered"] == 7


def test_issuing_again_changes_nothing_and_returns_the_same_codes(session, finalised) -> None:
    round_, ranked = finalised
    first_time = utcnow() - timedelta(hours=1)
    first = {c.user_id: (c.id, c.code, c.award, c.issued_at) for c in _issue(session, round_, top_n=3, now=first_time)}
    again = _issue(session, round_, top_n=3)
    assert {c.user_id: (c.id, c.code, c.award, c.issued_at) for c in again} == first
    wider = _issue(session, round_, top_n=5, perfect=True)
    assert [c.user_id for c in wider] == ranked[:5]
    assert all({c.user_id: (c.id, c.code, c.award, c.issued_at) for c in wider}[u] == first[u] for u in first)
    assert session.scalar(select(func.count(Certificate.id))) == 5
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "certificate.issue").order_by(AuditEvent.id))
    assert [e.details["issued"] for e in events] == [3, 0, 2]


def test_every_perfect_paper_and_rank_award_wins(session, finalised) -> None:
    round_, ranked = finalised
    only_perfect = _issue(session, round_, perfect=True)
    assert [c.user_id for c in only_perfect] == ranked[:3]  # the three with 10/10
    assert {c.award for c in only_perfect} == {certificates.PERFECT_AWARD}
    assert certificates.PERFECT_AWARD == "Hoàn thành xuất sắc — trả lời đúng tất cả các câu"


def test_rank_award_takes_precedence_over_perfect_for_a_new_certificate(session, finalised) -> None:
    round_, ranked = finalised
    issued = _issue(session, round_, top_n=1, perfect=True)
    assert [(c.user_id, c.award) for c in issued] == [
        (ranked[0], "Giải Nhất"),
        (ranked[1], certificates.PERFECT_AWARD),
        (ranked[2], certificates.PERFECT_AWARD),
    ]


def test_ties_at_the_cut_off_are_all_included(session) -> None:
    built = contest_fixture.build(session, questions=10, per_paper=10)
    other = contest_fixture.register(session, built.contest, "binh@example.vn")
    third = contest_fixture.register(session, built.contest, "chi@example.vn")
    for user_id, correct in ((built.user_id, 9), (other, 8), (third, 8)):
        _attempt(session, built.round, user_id, correct, seconds=200)  # same time: 8/10 share rank 2
    built.round.closes_at = utcnow() - timedelta(minutes=1)
    rankings.finalize_round(session, built.round, utcnow())
    session.commit()
    issued = _issue(session, built.round, top_n=2)
    assert sorted(c.award for c in issued) == ["Giải Nhì", "Giải Nhì", "Giải Nhất"]


def test_verify_ignores_case_dashes_and_spaces(session, finalised) -> None:
    round_, _ranked = finalised
    code = _issue(session, round_, top_n=1)[0].code
    body = code[3:].replace("-", "")
    for typed in (code, code.lower(), code.replace("-", ""), f"  {body.lower()} ", f"cn {body[:4]}–{body[4:]}"):
        assert certificates.verify(session, typed).code == code, typed
    assert certificates.normalise_code(body.lower()) == code
    assert certificates.verify(session, "CN-2222-2222") is None
    for bad in ("", "CN-0000-OOOO", "CN-ABCD", "x" * 40, "CN-ABCD-EFGH-JKMN"):
        assert certificates.normalise_code(bad) is None, bad
        assert certificates.verify(session, bad) is None


def test_revoked_certificate_still_verifies_as_revoked(session, finalised) -> None:
    round_, _ranked = finalised
    certificate = _issue(session, round_, top_n=1)[0]
    when = utcnow()
    certificates.revoke(session, certificate, actor_id=None, now=when)
    certificates.revoke(session, certificate, actor_id=None, now=when + timedelta(days=1))  # no change
    session.commit()
    found = certificates.verify(session, certificate.code)
    assert found is not None and found.is_revoked and found.revoked_at == when
    again = _issue(session, round_, top_n=1)
    assert again[0].id == certificate.id and again[0].is_revoked  # re-issuing does not restore it
    revocations = session.scalars(select(AuditEvent).where(AuditEvent.action == "certificate.revoke")).all()
    assert len(revocations) == 1 and revocations[0].details["code"] == certificate.code


def test_refuses_a_round_without_final_results_and_an_empty_request(session, finalised) -> None:
    round_, _ranked = finalised
    with pytest.raises(ValidationError):
        certificates.issue_for_round(session, round_, top_n=0, perfect=False, actor_id=None, now=utcnow())
    with pytest.raises(ValidationError):
        certificates.issue_for_round(session, round_, top_n=-1, perfect=True, actor_id=None, now=utcnow())
    round_.finalized_at = None
    with pytest.raises(ConflictError):
        certificates.issue_for_round(session, round_, top_n=3, perfect=False, actor_id=None, now=utcnow())
    assert not certificates.issuable(round_)
    round_.finalized_at, round_.is_practice = utcnow(), True
    with pytest.raises(ConflictError):
        certificates.issue_for_round(session, round_, top_n=3, perfect=False, actor_id=None, now=utcnow())


def test_certificate_outlives_anonymisation_and_refinalising(session, finalised) -> None:
    round_, ranked = finalised
    code = _issue(session, round_, top_n=1)[0].code
    holder, unissued = session.get(User, ranked[0]), session.get(User, ranked[1])
    for user in (holder, unissued):
        user.full_name, user.email, user.anonymised_at = "Ẩn danh", None, utcnow()
    session.commit()
    certificate = certificates.verify(session, code)
    assert certificate.holder_name == "Nguyễn Văn An"  # copied at issue time
    assert [c.user_id for c in _issue(session, round_, top_n=2)] == [ranked[0]]  # no name left to print
    rankings.finalize_round(session, round_, utcnow())  # results are replaced...
    session.commit()
    session.refresh(certificate)
    assert certificate.result_id is None and certificates.verify(session, code) is not None  # ...the certificate stays
