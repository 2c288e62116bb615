"""Taking a round in the browser without JavaScript, and the server closing attempts by itself."""

import dataclasses
import random
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Attempt, AttemptItem, AttemptStatus, Round, utcnow
from quiz_engine.services.organising import rounds
from quiz_engine.services.taking import attempt_state, paper_pool
from tests import contest_fixture

PASSWORD = "mat-khau-123"


@pytest.fixture
def setup(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        built = contest_fixture.build(
            db.session,
            per_paper=5,
            max_attempts=2,
            prediction_kind="all_correct",
            prediction_prompt="Bao nhiêu người trả lời đúng tất cả?",
        )
        return built.round.id, built.user_id, built.contest.slug


@pytest.fixture
def signed_in(client, setup):  # type: ignore[no-untyped-def]
    client.post("/auth/login", data={"login": "an@example.vn", "password": PASSWORD})
    return setup


def _start(client, round_id):  # type: ignore[no-untyped-def]
    response = client.post(f"/rounds/{round_id}/start")
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def _right_answers(app, attempt_id):  # type: ignore[no-untyped-def]
    with app.app_context():
        items = db.session.scalars(
            select(AttemptItem).where(AttemptItem.attempt_id == attempt_id).order_by(AttemptItem.position)
        ).all()
        return [i.question_version.correct_positions[0] for i in items]


def test_contest_page_offers_the_open_round(client, signed_in) -> None:
    _round_id, _user, slug = signed_in
    page = client.get(f"/contests/{slug}").get_data(as_text=True)
    assert "Tuần 1" in page and "Bắt đầu làm bài" in page and "5 câu hỏi, 10 phút" in page


def test_take_save_reload_confirm_submit_and_see_the_result(app, client, signed_in, static_url) -> None:
    round_id, _user, _slug = signed_in
    attempt_id = _start(client, round_id)
    page = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert page.count('class="card question"') == 5 and re.search(r'id="time-left">(10:00|09:5\d)<', page)
    assert "Bao nhiêu người trả lời đúng tất cả?" in page and static_url("js/attempt.js") in page
    assert "Giải thích" not in page and 'class="correct"' not in page
    right = _right_answers(app, attempt_id)
    form = {
        "q0": str(right[0]),
        "q1": str(right[1]),
        "q2": str((right[2] + 1) % 4),
        "prediction": "42",
        "action": "save",
    }
    assert client.post(f"/attempts/{attempt_id}", data=form).status_code == 302
    reloaded = client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert '<p class="flash flash-success" role="status">Đã lưu các câu trả lời.</p>' in reloaded
    assert "Đã lưu các câu trả lời." not in client.get(f"/attempts/{attempt_id}").get_data(as_text=True)  # shown once
    assert re.search(rf'name="q0" value="{right[0]}" checked', reloaded)
    assert 'value="42"' in reloaded and 'id="nav-0" class="answered"' in reloaded
    confirm = client.post(f"/attempts/{attempt_id}", data={**form, "action": "submit"}).get_data(as_text=True)
    assert "Các câu chưa trả lời:" in confirm and ">4</a>, " in confirm and ">5</a>." in confirm
    done = client.post(f"/attempts/{attempt_id}/submit")
    assert done.headers["Location"] == f"/attempts/{attempt_id}/result"
    result = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert (
        "<strong>2/5</strong>" in result and "đã nộp" in result and "sẽ được công bố sau khi đợt thi kết thúc" in result
    )
    client.post(f"/attempts/{attempt_id}/submit")  # a second submit changes nothing
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert (attempt.status, attempt.correct_count, attempt.prediction) == (AttemptStatus.SUBMITTED, 2, 42)
    assert client.get(f"/attempts/{attempt_id}").headers["Location"].endswith("/result")
    history = client.get("/me/attempts").get_data(as_text=True)
    assert "Tuần 1" in history and "2/5" in history


def test_corrections_appear_after_the_round_closes(app, client, signed_in, monkeypatch) -> None:
    round_id, _user, _slug = signed_in
    attempt_id = _start(client, round_id)
    client.post(f"/attempts/{attempt_id}/submit")
    with app.app_context():
        closes = db.session.get(Round, round_id).closes_at
    monkeypatch.setattr("quiz_engine.web.deps.now", lambda: closes + timedelta(minutes=1))
    page = client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)
    assert page.count("đáp án đúng</span>") == 5 and "Giải thích" in page


def test_deadline_passing_with_the_browser_closed(app, client, runner, signed_in, monkeypatch) -> None:
    round_id, user_id, _slug = signed_in
    attempt_id = _start(client, round_id)
    client.get(f"/attempts/{attempt_id}")
    right = _right_answers(app, attempt_id)
    client.post(f"/attempts/{attempt_id}", data={"q0": str(right[0]), "q1": str(right[1]), "action": "save"})
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        late = attempt.deadline_at + timedelta(seconds=30)
        result = attempt_state.save_answer(
            app.extensions["quiz_redis"],
            "quiz",
            round_id=round_id,
            attempt_id=attempt_id,
            user_id=user_id,
            field="2",
            value=str(right[2]),
            now=late,
        )
        assert result is attempt_state.SaveResult.LATE
    monkeypatch.setattr("quiz_engine.cli.utcnow", lambda: late + timedelta(minutes=1))  # the browser stays closed
    output = runner.invoke(args=["quiz", "close-overdue"]).output
    assert "Đã đóng 1 bài quá hạn" in output
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.status is AttemptStatus.EXPIRED and attempt.correct_count == 2
    assert "Đã đóng 0 bài quá hạn" in runner.invoke(args=["quiz", "close-overdue"]).output
    assert "hết giờ, hệ thống tự nộp" in client.get(f"/attempts/{attempt_id}/result").get_data(as_text=True)


def test_practice_round_reveals_each_answer_right_away(app, client, signed_in) -> None:
    round_id, _user, _slug = signed_in
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        practice = rounds.add_round(
            db.session,
            round_.contest,
            rounds.RoundRules(
                title="Luyện tập",
                opens_at=round_.opens_at,
                closes_at=round_.closes_at,
                time_limit_seconds=300,
                mix=[rounds.MixItem("bank", 3)],
                is_practice=True,
            ),
            now=utcnow(),
        )
        db.session.commit()
        practice_id = practice.id
    attempt_id = client.post(f"/api/v1/rounds/{practice_id}/attempts").get_json()["id"]
    paper = client.get(f"/api/v1/attempts/{attempt_id}").get_json()
    question = paper["questions"][0]
    reply = client.put(question["save_url"] + "?feedback=1", json={"choices": [question["choices"][0]["id"]]})
    feedback = reply.get_json()["feedback"]
    assert len(feedback["correct"]) == 1 and feedback["explanation"].startswith("Giải thích")
    exam = client.post(f"/api/v1/rounds/{round_id}/attempts")
    assert exam.status_code == 409  # the practice attempt is still in progress


def test_starting_without_joining_the_contest_leads_to_joining(client, setup, make_user) -> None:
    round_id, _user, _slug = setup
    make_user("khach@example.vn")
    client.post("/auth/login", data={"login": "khach@example.vn", "password": "mat-khau-thu-nghiem"})
    response = client.post(f"/rounds/{round_id}/start")
    assert response.status_code == 302 and "/rounds/" not in response.headers["Location"]


def _same_page(html: str) -> str:
    """The page without what differs from one answer to the next: the form tokens and the time left."""
    html = re.sub(r'name="csrf_token" (type="hidden" )?value="[^"]+"', "csrf", html)
    html = re.sub(r'data-remaining-ms="\d+"', "", html)
    return re.sub(r'id="time-left">\d\d:\d\d<', "", html)


def test_a_paper_drawn_ahead_comes_back_with_the_start(app, client, signed_in, redis_client) -> None:
    round_id, user_id, _slug = signed_in
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        settings = paper_pool.PoolSettings(timedelta(hours=1), 1.0, 1, 10, 10)
        paper_pool.prepare_round(
            db.session, redis_client, "quiz", round_, settings=settings, now=utcnow(), rng=random.Random(5), count=2
        )
        pool = paper_pool.pool_for("quiz", round_, None)
        drawn = paper_pool.decode(redis_client.lindex(pool.list_key, 0), pool.items)
    started = client.post(f"/rounds/{round_id}/start")
    page = started.get_data(as_text=True)
    assert started.status_code == 200 and started.headers["Cache-Control"].startswith("no-store")
    attempt_id = int(re.search(r'data-page-url="/attempts/(\d+)"', page).group(1))
    with app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert (attempt.user_id, attempt.status) == (user_id, AttemptStatus.IN_PROGRESS)
        assert [(i.position, i.question_version_id) for i in attempt.items] == [
            (p.position, p.version_id) for p in drawn
        ]
    # The very page the paper's own address serves, with every address naming this attempt.
    assert _same_page(page) == _same_page(client.get(f"/attempts/{attempt_id}").get_data(as_text=True))
    assert page.count(f"/api/v1/rounds/{round_id}/attempts/{attempt_id}/answers/") == 5
    assert f'action="/attempts/{attempt_id}/submit"' in page and "Nguyễn Văn An" in page
    assert page.count('class="card question"') == 5 and "\x00" not in page
    # Starting again resumes the same attempt (the full path, by redirect).
    again = client.post(f"/rounds/{round_id}/start")
    assert again.status_code == 302 and again.headers["Location"] == f"/attempts/{attempt_id}"


def test_the_paper_page_shows_a_round_edit_at_once(app, client, signed_in) -> None:
    round_id, _user, _slug = signed_in
    attempt_id = _start(client, round_id)
    assert "<h1>Tuần 1</h1>" in client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    with app.app_context():
        round_ = db.session.get(Round, round_id)
        rules = dataclasses.replace(rounds.rules_of(db.session, round_), title="Tuần 1 (đã sửa)")
        rounds.update_round(db.session, round_, rules, now=utcnow())
        db.session.commit()
    english = client.get(f"/attempts/{attempt_id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Tuần 1 (đã sửa)</h1>" in client.get(f"/attempts/{attempt_id}").get_data(as_text=True)
    assert "<h1>Tuần 1 (đã sửa)</h1>" in english
