"""Question statistics of a round with 100,000 attempts × 20 questions (issue 15): target < 10 s.

The round is simulated (tests/answer_simulation.py: contestants of random ability, 60 questions of random
difficulty, one with a wrong key) and written straight into the database; then the statistics are computed
from it as the organizer's page does on its first visit, and read back as every later visit does. SQLite,
and PostgreSQL too when ``QUIZ_BENCH_DATABASE_URL`` names one (its tables are dropped and made again).
``QUIZ_BENCH_STATISTICS_ATTEMPTS`` changes the count.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from benchmarks import load_stack
from benchmarks.report import machine, write_section
from quiz_engine import create_app
from quiz_engine.embedded_redis import EmbeddedRedis
from quiz_engine.extensions import db
from quiz_engine.models import Question, utcnow
from quiz_engine.services.results import question_statistics as stats
from tests import answer_simulation, contest_fixture

ATTEMPTS = 100_000
PER_PAPER = 20
BANK = 60
TARGET_SECONDS = 10.0


def _measure(database_url: str, redis_url: str, attempts: int) -> dict[str, float | int | str]:
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "REDIS_URL": redis_url, "SECRET_KEY": "bench"})
    load_stack.migrate(app)  # PostgreSQL: emptied first
    with app.app_context():
        built = contest_fixture.build(db.session, questions=BANK, per_paper=PER_PAPER)
        wrong = db.session.scalars(select(Question.id).order_by(Question.code)).all()[7]
        began = time.perf_counter()
        answer_simulation.simulate(
            db.session, built.round, attempts, now=utcnow(), per_paper=PER_PAPER, wrong_key=wrong
        )
        filled = time.perf_counter() - began
        thresholds = stats.Thresholds()
        began, cpu = time.perf_counter(), time.process_time()
        figures = stats.round_figures(db.session, built.round, thresholds, now=utcnow())
        db.session.commit()
        computed, computed_cpu = time.perf_counter() - began, time.process_time() - cpu
        began = time.perf_counter()
        again = stats.round_figures(db.session, built.round, thresholds, now=utcnow())
        kept = time.perf_counter() - began
        flagged = [q for q in again.questions if any(f.code == "wrong_key" for f in q.flags)]
        assert again.computed_at == figures.computed_at, "the second visit computed again"
        result = {
            "backend": db.engine.dialect.name,
            "filled": filled,
            "computed": computed,
            "computed_cpu": computed_cpu,
            "kept": kept,
            "questions": len(figures.questions),
            "answers": sum(q.seen for q in figures.questions),
            "wrong_key_found": int([q.question_id for q in flagged] == [wrong]),
        }
    return result


def main(attempts: int | None = None) -> None:
    attempts = attempts or int(os.environ.get("QUIZ_BENCH_STATISTICS_ATTEMPTS", ATTEMPTS))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = EmbeddedRedis(Path(tmp))
        redis_url = redis_server.ensure_running()
        try:
            databases = [f"sqlite:///{Path(tmp) / 'statistics.sqlite'}"]
            if os.environ.get("QUIZ_BENCH_DATABASE_URL"):
                databases.append(os.environ["QUIZ_BENCH_DATABASE_URL"])
            for url in databases:
                results.append(_measure(url, redis_url, attempts))
                print(results[-1], flush=True)
        finally:
            redis_server.stop()
    rows = "\n".join(
        f"| {r['backend']} | {r['answers']:,} | **{r['computed']:.1f} s** "
        f"{'✅' if r['computed'] < TARGET_SECONDS else '❌'} | {r['computed_cpu']:.1f} s | "
        f"{r['kept'] * 1000:.0f} ms | {'yes' if r['wrong_key_found'] else 'NO ❌'} | {r['filled']:.0f} s |"
        for r in results
    )
    body = f"""## Question statistics, {attempts:,} attempts × {PER_PAPER} questions (issue 15)

{machine()}
A simulated round (contestants of random ability, {BANK} questions of random difficulty, papers of {PER_PAPER},
one question with a deliberately wrong key) written straight into the database, then its question statistics
computed from it as the organizer's page does on its first visit after an answer changed (two grouped queries:
answers by question, answer and score band; answer times by question), and read back as every later visit
does. Target: computed in < {TARGET_SECONDS:.0f} s.

| Database | Answers read | Computed | CPU (app) | Read back | Wrong key flagged alone | Round written in |
|---|---|---|---|---|---|---|
{rows}
"""
    write_section("question_statistics", body)
    print(body)


if __name__ == "__main__":
    main()
