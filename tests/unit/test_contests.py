"""Contest and round services: sanitised rules, round rules, edits frozen by attempts, the TOML spec."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from quiz_engine.models import (
    Attempt,
    Contest,
    CountingPolicy,
    LeaderboardVisibility,
    PredictionKind,
    Registration,
    Round,
    RoundMixItem,
    TieBreak,
    UnitKind,
    utcnow,
)
from quiz_engine.services.catalogue import banks
from quiz_engine.services.errors import ConflictError, ValidationError
from quiz_engine.services.organising import contest_spec, contests, rounds, units
from quiz_engine.services.organising.rounds import MixItem, RoundRules
from quiz_engine.services.organising.units import UnitSpec, import_units
from quiz_engine.services.people import accounts
from tests.contest_fixture import bank_csv

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "contest.toml"
NOW = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def _bank(session, slug: str = "bank", count: int = 12) -> None:  # type: ignore[no-untyped-def]
    bank = banks.get_or_create_bank(session, slug, slug)
    assert banks.import_file(session, bank, f"{slug}.csv", bank_csv(count), now=NOW).ok


def _contest(session, **kwargs):  # type: ignore[no-untyped-def]
    _bank(session)
    return contests.create_contest(
        session,
        "thi",
        contests.ContestDetails(title="Cuộc thi", groups=[("can-bo", "Cán bộ"), ("nhan-dan", "Nhân dân")], **kwargs),
        now=NOW,
    )


def _rules(**changes) -> RoundRules:  # type: ignore[no-untyped-def]
    rules = RoundRules(
        title="Tuần 1",
        opens_at=NOW + timedelta(days=1),
        closes_at=NOW + timedelta(days=8),
        time_limit_seconds=600,
        mix=[MixItem("bank", 5)],
    )
    return replace(rules, **changes)


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(select(func.count(model.id)))


def _attempt(session, round_: Round) -> None:  # type: ignore[no-untyped-def]
    user = accounts.create_user(session, full_name="Lê Văn C", email="c@example.vn", password="mat-khau-123", now=NOW)
    session.add(
        Attempt(round_id=round_.id, user_id=user.id, number=1, started_at=NOW, deadline_at=NOW, question_count=5)
    )
    session.commit()


# --- Rules text ------------------------------------------------------------------------------------


def test_rules_keep_basic_tags_and_lose_everything_else() -> None:
    dirty = (
        '<h3 onclick="x()">Thể lệ</h3><p>Đọc <a href="https://so.gov.vn" target="_blank">đây</a> '
        '<a href="javascript:alert(1)">và đây</a><script>alert(1)</script><img src=x onerror=y></p>'
        "<h1>Lớn</h1><ul><li><strong>Một</strong> <em>hai</em></li></ul><blockquote>Trích</blockquote>"
    )
    clean = contests.sanitise_rules(dirty)
    assert clean == (
        '<h3>Thể lệ</h3><p>Đọc <a href="https://so.gov.vn" rel="noopener noreferrer">đây</a> '
        '<a rel="noopener noreferrer">và đây</a></p>'
        "Lớn<ul><li><strong>Một</strong> <em>hai</em></li></ul><blockquote>Trích</blockquote>"
    )


def test_plain_text_rules_become_paragraphs() -> None:
    assert contests.sanitise_rules("Dòng một\r\ndòng hai & ba\r\n\r\nĐoạn hai") == (
        "<p>Dòng một<br>dòng hai &amp; ba</p><p>Đoạn hai</p>"
    )
    assert contests.sanitise_rules("  ") == ""


def test_create_contest_sanitises_rules_and_checks_slug_and_groups(session) -> None:
    contest = _contest(session, rules_html="<p>Luật<script>x</script></p>", published=False)
    assert contest.rules_html == "<p>Luật</p>" and [g.code for g in contest.groups] == ["can-bo", "nhan-dan"]
    with pytest.raises(ConflictError):
        contests.create_contest(session, "thi", contests.ContestDetails(title="Khác"), now=NOW)
    with pytest.raises(ValidationError) as bad_slug:
        contests.create_contest(session, "Thi Mới", contests.ContestDetails(title="Khác"), now=NOW)
    assert bad_slug.value.field == "slug"
    with pytest.raises(ValidationError) as twin_groups:
        contests.create_contest(
            session, "thi-2", contests.ContestDetails(title="Khác", groups=[("a", "A"), ("a", "B")]), now=NOW
        )
    assert twin_groups.value.field == "groups"
    with pytest.raises(ValidationError):
        contests.create_contest(session, "thi-3", contests.ContestDetails(title="Khác", groups=[("a", "")]), now=NOW)


# --- Round rules -----------------------------------------------------------------------------------


def test_a_mix_the_banks_cannot_fill_is_refused_and_nothing_is_added(session) -> None:
    contest = _contest(session)
    session.commit()
    with pytest.raises(ValidationError) as exc:
        rounds.add_round(session, contest, _rules(mix=[MixItem("bank", 13)]), now=NOW)
    assert exc.value.field == "mix" and "cần 13, chỉ còn 12" in exc.value.vi
    session.rollback()
    with pytest.raises(ValidationError, match="Mức độ 'rất khó'"):
        rounds.add_round(session, contest, _rules(mix=[MixItem("bank", 1, difficulty="rất khó")]), now=NOW)
    session.rollback()
    with pytest.raises(ValidationError, match="Không có ngân hàng"):
        rounds.add_round(session, contest, _rules(mix=[MixItem("khong-co", 1)]), now=NOW)
    session.rollback()
    assert _count(session, Round) == 0 and _count(session, RoundMixItem) == 0


def test_group_mix_is_checked_on_its_own(session) -> None:
    contest = _contest(session)
    mix = [MixItem("bank", 10), MixItem("bank", 12, group_code="can-bo")]
    round_ = rounds.add_round(session, contest, _rules(mix=mix), now=NOW)
    assert round_.question_count(contest.groups[0].id) == 12 and round_.question_count() == 10
    with pytest.raises(ValidationError, match="Không có nhóm"):
        rounds.add_round(session, contest, _rules(mix=[MixItem("bank", 1, group_code="khac")]), now=NOW)


@pytest.mark.parametrize(
    "order",
    [
        [TieBreak.PREDICTION, TieBreak.CORRECT],
        [TieBreak.CORRECT, TieBreak.DURATION, TieBreak.DURATION],
        [],
    ],
)
def test_tie_break_order_must_start_with_correct_answers_and_not_repeat(session, order) -> None:  # type: ignore[no-untyped-def]
    contest = _contest(session)
    with pytest.raises(ValidationError) as exc:
        rounds.add_round(session, contest, _rules(tie_breaks=order), now=NOW)
    assert exc.value.field == "tie_breaks"


def test_a_custom_tie_break_order_is_stored_in_order(session) -> None:
    contest = _contest(session)
    order = [TieBreak.CORRECT, TieBreak.DURATION, TieBreak.PREDICTION]
    round_ = rounds.add_round(
        session,
        contest,
        _rules(tie_breaks=order, prediction_kind=PredictionKind.ALL_CORRECT, prediction_prompt=" Bao nhiêu? "),
        now=NOW,
    )
    assert round_.tie_breaks == ["correct", "duration", "prediction"] and round_.prediction_prompt == "Bao nhiêu?"
    assert rounds.rules_of(session, round_).tie_breaks == order


def test_practice_rounds_are_unlimited_and_ask_no_prediction(session) -> None:
    contest = _contest(session)
    round_ = rounds.add_round(
        session,
        contest,
        _rules(
            is_practice=True,
            max_attempts=3,
            max_attempts_per_day=1,
            prediction_kind=PredictionKind.PARTICIPANTS,
            prediction_prompt="Bao nhiêu người?",
        ),
        now=NOW,
    )
    assert (round_.max_attempts, round_.max_attempts_per_day) == (None, None)
    assert round_.prediction_kind is PredictionKind.NONE and round_.prediction_prompt == ""


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"closes_at": NOW}, "closes_at"),
        ({"time_limit_seconds": 10}, "time_limit"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"prediction_kind": PredictionKind.PARTICIPANTS}, "prediction_prompt"),
        ({"leaderboard_visibility": LeaderboardVisibility.FROZEN}, "leaderboard_frozen_at"),
        (
            {"leaderboard_visibility": LeaderboardVisibility.FROZEN, "leaderboard_frozen_at": NOW + timedelta(days=30)},
            "leaderboard_frozen_at",
        ),
        ({"grace_seconds": 301}, "grace_seconds"),
        ({"mix": []}, "mix"),
        ({"title": "  "}, "title"),
    ],
)
def test_round_rules_are_checked(session, changes, field) -> None:  # type: ignore[no-untyped-def]
    contest = _contest(session)
    with pytest.raises(ValidationError) as exc:
        rounds.add_round(session, contest, _rules(**changes), now=NOW)
    assert exc.value.field == field


def test_a_frozen_leaderboard_keeps_its_freeze_time_and_others_drop_it(session) -> None:
    contest = _contest(session)
    freeze = NOW + timedelta(days=7)
    frozen = rounds.add_round(
        session,
        contest,
        _rules(leaderboard_visibility=LeaderboardVisibility.FROZEN, leaderboard_frozen_at=freeze),
        now=NOW,
    )
    live = rounds.add_round(session, contest, _rules(title="Tuần 2", leaderboard_frozen_at=freeze), now=NOW)
    assert frozen.leaderboard_frozen_at == freeze and live.leaderboard_frozen_at is None
    assert (frozen.number, live.number) == (1, 2)


# --- Editing ---------------------------------------------------------------------------------------


def test_a_round_without_attempts_can_change_everything(session) -> None:
    contest = _contest(session)
    round_ = rounds.add_round(session, contest, _rules(), now=NOW)
    session.commit()
    later = NOW + timedelta(hours=1)
    new = _rules(
        title="Tuần một",
        mix=[MixItem("bank", 3, difficulty="easy"), MixItem("bank", 4, group_code="nhan-dan")],
        max_attempts=2,
        counting_policy=CountingPolicy.LAST,
        tie_breaks=[TieBreak.CORRECT, TieBreak.SUBMITTED_AT],
    )
    changed = rounds.update_round(session, round_, new, now=later)
    session.commit()
    assert set(changed) == {"title", "mix", "max_attempts", "counting_policy", "tie_breaks"}
    assert round_.updated_at == later and round_.question_count() == 3
    assert round_.question_count(contest.groups[1].id) == 4
    assert rounds.rules_of(session, round_).mix == (
        MixItem("bank", 3, None, "easy", None),
        MixItem("bank", 4, None, None, "nhan-dan"),
    )
    assert rounds.update_round(session, round_, rounds.rules_of(session, round_), now=later) == []


def test_an_unfillable_edit_is_refused_and_changes_nothing(session) -> None:
    contest = _contest(session)
    round_ = rounds.add_round(session, contest, _rules(), now=NOW)
    session.commit()
    with pytest.raises(ValidationError, match="Không đủ câu hỏi"):
        rounds.update_round(session, round_, _rules(title="Mới", mix=[MixItem("bank", 50)]), now=NOW)
    session.rollback()
    assert round_.title == "Tuần 1" and round_.question_count() == 5


def test_after_an_attempt_only_title_close_leaderboard_and_reveal_may_change(session) -> None:
    contest = _contest(session)
    round_ = rounds.add_round(session, contest, _rules(), now=NOW)
    _attempt(session, round_)
    assert rounds.has_attempts(session, round_)
    for frozen in (
        {"mix": [MixItem("bank", 6)]},
        {"time_limit_seconds": 900},
        {"opens_at": NOW + timedelta(days=2)},
        {"tie_breaks": [TieBreak.CORRECT]},
        {"max_attempts": 1},
    ):
        with pytest.raises(ConflictError):
            rounds.update_round(session, round_, _rules(**frozen), now=NOW)
        session.rollback()
    assert round_.time_limit_seconds == 600 and round_.question_count() == 5 and round_.max_attempts is None
    freeze = NOW + timedelta(days=5)
    allowed = _rules(
        title="Tuần 1 (gia hạn)",
        closes_at=NOW + timedelta(days=9),
        leaderboard_visibility=LeaderboardVisibility.FROZEN,
        leaderboard_frozen_at=freeze,
        reveal_answers_after_close=False,
        prize_quotas=[{"label": "Giải Đặc biệt", "count": 1}, {"label": "Giải Nhất", "count": 3}],
    )
    changed = rounds.update_round(session, round_, allowed, now=NOW)
    session.commit()
    assert sorted(changed) == sorted(rounds.EDITABLE_AFTER_START)
    assert round_.prize_quotas == [{"label": "Giải Đặc biệt", "count": 1}, {"label": "Giải Nhất", "count": 3}]
    bad = replace(allowed, prize_quotas=[{"label": "", "count": 2}])
    with pytest.raises(ValidationError) as err:
        rounds.update_round(session, round_, bad, now=NOW)
    assert err.value.field == "prize_quotas"
    assert round_.closes_at == NOW + timedelta(days=9) and round_.leaderboard_frozen_at == freeze


def test_after_an_attempt_the_close_cannot_move_into_the_past(session) -> None:
    contest = _contest(session)
    round_ = rounds.add_round(session, contest, _rules(opens_at=NOW - timedelta(days=2)), now=NOW)
    _attempt(session, round_)
    with pytest.raises(ValidationError) as exc:
        rounds.update_round(
            session, round_, _rules(opens_at=NOW - timedelta(days=2), closes_at=NOW - timedelta(hours=1)), now=NOW
        )
    assert exc.value.field == "closes_at"
    session.rollback()
    assert round_.closes_at == NOW + timedelta(days=8)


def test_delete_round_only_without_attempts(session) -> None:
    contest = _contest(session)
    first = rounds.add_round(session, contest, _rules(), now=NOW)
    second = rounds.add_round(session, contest, _rules(title="Tuần 2"), now=NOW)
    _attempt(session, first)
    with pytest.raises(ConflictError):
        rounds.delete_round(session, first)
    rounds.delete_round(session, second)
    session.commit()
    assert [r.title for r in session.scalars(select(Round))] == ["Tuần 1"]
    assert _count(session, RoundMixItem) == 1 and [r.title for r in contest.rounds] == ["Tuần 1"]


def _units(session) -> None:  # type: ignore[no-untyped-def]
    specs = [
        UnitSpec("T", "Tỉnh", UnitKind.PROVINCE, None, None, 2),
        UnitSpec("H1", "Huyện Một", UnitKind.OTHER, "T", None, 3),
        UnitSpec("X1", "Xã Một", UnitKind.COMMUNE, "H1", 100, 4),
        UnitSpec("X2", "Xã Hai", UnitKind.COMMUNE, "H1", 100, 5),
        UnitSpec("S", "Sở Khác", UnitKind.AGENCY, None, 50, 6),
    ]
    assert import_units(session, specs).ok


def test_units_in_tree_order_and_all_under_a_parent(session) -> None:
    _units(session)
    tree = [(u.code, depth) for u, depth in units.unit_tree(session)]
    assert tree == [("S", 0), ("T", 0), ("H1", 1), ("X2", 2), ("X1", 2)]
    by_code = {u.code: u for u, _ in units.unit_tree(session)}
    assert {u.code for u in units.choose_units(session, [], by_code["H1"].id)} == {"H1", "X1", "X2"}
    assert {u.code for u in units.choose_units(session, [by_code["S"].id])} == {"S"}
    with pytest.raises(ValidationError):
        units.choose_units(session, [9999])
    with pytest.raises(ValidationError, match="ZZ"):
        units.units_by_codes(session, ["X1", "ZZ"])


def test_update_contest_syncs_groups_by_code_and_keeps_used_ones(session) -> None:
    _units(session)
    picked = units.units_by_codes(session, ["X1", "X2"])
    contest = _contest(session, units=picked)
    user = accounts.create_user(session, full_name="A", email="a@example.vn", password="mat-khau-123", now=NOW)
    session.add(
        Registration(
            contest_id=contest.id,
            user_id=user.id,
            group_id=contest.groups[1].id,
            unit_id=picked[0].id,
            registered_at=NOW,
        )
    )
    session.commit()
    changed = contests.update_contest(
        session,
        contest,
        contests.ContestDetails(
            title="Cuộc thi mới",
            rules_html="Thể lệ",
            groups=[("nhan-dan", "Nhân dân cả tỉnh"), ("hoc-sinh", "Học sinh")],
            units=picked,
        ),
        now=NOW,
    )
    session.commit()
    assert set(changed) == {"title", "rules_html", "groups"}
    assert [(g.code, g.name, g.position) for g in sorted(contest.groups, key=lambda g: g.position)] == [
        ("nhan-dan", "Nhân dân cả tỉnh", 0),
        ("hoc-sinh", "Học sinh", 1),
    ]
    with pytest.raises(ValidationError) as used_group:
        contests.update_contest(
            session,
            contest,
            contests.ContestDetails(title="X", groups=[("hoc-sinh", "Học sinh")], units=picked),
            now=NOW,
        )
    assert used_group.value.field == "groups"
    session.rollback()
    with pytest.raises(ValidationError) as used_unit:
        contests.update_contest(
            session, contest, contests.ContestDetails(title="X", groups=[("nhan-dan", "N")], units=picked[1:]), now=NOW
        )
    assert used_unit.value.field == "units"
    session.rollback()
    assert contest.title == "Cuộc thi mới" and len(contest.units) == 2 and len(contest.groups) == 2


# --- The TOML spec ---------------------------------------------------------------------------------


def test_the_example_spec_parses_with_local_times() -> None:
    spec = contest_spec.load_contest_spec(EXAMPLE.read_text(encoding="utf-8"))
    assert spec.slug == "chuyen-doi-so-2026" and spec.unit_codes is None and not spec.published
    assert spec.groups == [("can-bo", "Cán bộ, công chức, viên chức, người lao động"), ("nhan-dan", "Nhân dân")]
    week1, week2, practice = spec.rounds
    assert week1.opens_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
    assert week1.time_limit_seconds == 600 and week1.max_attempts == 3 and week1.max_attempts_per_day == 1
    assert week1.mix == [MixItem("chuyen-doi-so", 5), MixItem("nghi-quyet-57", 5)]
    assert week2.prediction_kind is PredictionKind.ALL_CORRECT
    assert week2.leaderboard_frozen_at == datetime(2026, 12, 14, 1, 0, tzinfo=UTC)
    assert practice.is_practice and practice.max_attempts is None
    assert "<h3>Đối tượng dự thi</h3>" in spec.rules_html


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('slug = "a"\ntitle = "T"\ncolour = "red"', "khoá không hợp lệ: colour"),
        ('slug = "a"', "title: thiếu giá trị"),
        ('slug = "a"\ntitle = "T"\npublished = "yes"', "published: sai kiểu"),
        ('slug = "a"\ntitle = "T"\nstandings = "avg"', "standings: phải là một trong: sum, best_round"),
        ('slug = "a"\ntitle = "T"\nunits = 3', "units"),
        ('slug = "a"\ntitle = "T"\n[[rounds]]\ntitle = "R"\nopens = "1/12/2026"', "rounds[1].opens: thời gian"),
        ('slug = "a"\ntitle = "T"\n[[rounds]]\ntitle = "R"\nopens = "2026-12-01"', "rounds[1].opens: thời gian"),
        (
            'slug = "a"\ntitle = "T"\n[[rounds]]\ntitle = "R"\nopens = "2026-12-01 08:00"\n'
            'closes = "2026-12-02 08:00"\ntime_limit_minutes = 10\ntie_breaks = ["correct", "luck"]',
            "tie_breaks: mỗi tiêu chí",
        ),
        (
            'slug = "a"\ntitle = "T"\n[[rounds]]\ntitle = "R"\nopens = "2026-12-01 08:00"\n'
            'closes = "2026-12-02 08:00"\ntime_limit_minutes = 10\n[[rounds.mix]]\nbank = "b"\ncount = 2\nlevel = 1',
            "rounds[1].mix[1]: khoá không hợp lệ: level",
        ),
        ("slug = ", "không phải TOML hợp lệ"),
    ],
)
def test_spec_errors_name_where_the_problem_is(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as exc:
        contest_spec.load_contest_spec(text)
    assert message in exc.value.vi


def test_spec_accepts_vietnamese_difficulty_and_toml_datetimes() -> None:
    spec = contest_spec.load_contest_spec(
        'slug = "a"\ntitle = "T"\nunits = { under = "T" }\n[[rounds]]\ntitle = "R"\n'
        "opens = 2026-12-01T08:00:00\ncloses = 2026-12-02T08:00:00+07:00\ntime_limit_minutes = 5\n"
        '[[rounds.mix]]\nbank = "b"\ncount = 2\ndifficulty = "Trung bình"\ntopic = "Đề án 06"'
    )
    assert spec.units_under == "T"
    (round_,) = spec.rounds
    assert round_.opens_at == round_.closes_at - timedelta(days=1)
    assert round_.mix == [MixItem("b", 2, "Đề án 06", "medium")]


def test_a_spec_is_created_whole_or_not_at_all(session) -> None:
    _bank(session, "chuyen-doi-so", 12)
    _bank(session, "nghi-quyet-57", 12)
    _units(session)
    session.commit()
    text = EXAMPLE.read_text(encoding="utf-8")
    contest = contest_spec.create_contest_from_spec(session, contest_spec.load_contest_spec(text), now=utcnow())
    assert [r.title for r in contest.rounds] == ["Tuần 1", "Tuần 2", "Luyện tập"] and len(contest.units) == 5
    session.rollback()
    broken = text.replace('slug = "chuyen-doi-so-2026"', 'slug = "khac"').replace(
        "2026-12-14 08:00", "2026-12-20 08:00"
    )
    with pytest.raises(ValidationError, match=r"^Đợt 2 \(Tuần 2\): Bảng xếp hạng đóng băng") as exc:
        contest_spec.create_contest_from_spec(session, contest_spec.load_contest_spec(broken), now=utcnow())
    assert exc.value.field == "leaderboard_frozen_at"
    session.rollback()
    assert _count(session, Contest) == 0 and _count(session, Round) == 0
