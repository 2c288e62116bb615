"""A whole contest round under load, on the real server, and the answer-save endpoint as a ratio (issue 9).

1. Starts Redis, builds the database with the migrations, seeds the demo contest with two
   20-question rounds and N registered contestants, and starts gunicorn with the production config.
2. Scripted contestants (:mod:`benchmarks.contestants`) sign in, start at a synchronised spike, save
   20 answers and a prediction with think time, submit (a share of them in the close rush) and read
   their result. Then every acknowledged answer and submission is looked for in the database.
3. wrk measures the answer-save endpoint against two reference endpoints on the same server
   (:mod:`benchmarks.wrk_ratios`).

Settings (environment): ``QUIZ_BENCH_CONTESTANTS`` (5000), ``QUIZ_BENCH_DATABASE_URL`` (a PostgreSQL
database the benchmark may wipe; default a fresh SQLite file), ``QUIZ_BENCH_THINK`` ("5,15" seconds),
``QUIZ_BENCH_TIME_LIMIT`` (360 s), ``QUIZ_BENCH_WRK_SECONDS`` (10). Traffic goes to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import resource
import statistics
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from benchmarks import contestants, load_stack, wrk_ratios
from benchmarks.report import machine, write_section

TARGET_RATIO = 0.80
TARGET_SAVE_P99 = 0.300
TARGET_START_SUBMIT_P99 = 1.0
RATIO_ATTEMPTS = 1000


@dataclass(frozen=True)
class Mark:
    """The clock and the CPU seconds used so far, at the start or end of a phase."""

    at: float
    generator: float
    server: float
    redis: float
    busy: float  # jiffies of the whole machine
    total: float

    def share(self, later: Mark) -> dict[str, float]:
        """Each part's share of all cores between this mark and ``later``, and the machine's busy share."""
        whole = (later.total - self.total) / os.sysconf("SC_CLK_TCK")
        return {
            "machine": (later.busy - self.busy) / (later.total - self.total),
            "generator": (later.generator - self.generator) / whole,
            "server": (later.server - self.server) / whole,
            "redis": (later.redis - self.redis) / whole,
        }


def _cpu_busy() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def verify(app, people: list[contestants.Contestant]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Count acknowledged answers and submissions, and those the database does not hold."""
    from quiz_engine.extensions import db
    from quiz_engine.models import Attempt, AttemptItem, AttemptStatus

    counts = dict.fromkeys(("answers", "answers_lost", "submissions", "submissions_lost", "predictions_lost"), 0)
    by_attempt = {who.attempt_id: who for who in people if who.attempt_id is not None}
    with app.app_context():
        attempts = {a.id: a for a in db.session.scalars(select(Attempt).where(Attempt.id.in_(list(by_attempt))))}
        selected: dict[int, dict[str, list[int]]] = defaultdict(dict)
        rows = db.session.execute(
            select(AttemptItem.attempt_id, AttemptItem.position, AttemptItem.selected).where(
                AttemptItem.attempt_id.in_(list(by_attempt))
            )
        )
        for attempt_id, position, chosen in rows:
            selected[attempt_id][str(position)] = sorted(chosen or [])
        for attempt_id, who in by_attempt.items():
            attempt = attempts.get(attempt_id)
            if who.submitted:
                counts["submissions"] += 1
                if attempt is None or attempt.status is not AttemptStatus.SUBMITTED:
                    counts["submissions_lost"] += 1
            for field_name, value in who.acked.items():
                counts["answers"] += 1
                if field_name == "p":
                    lost = attempt is None or attempt.prediction != int(value)
                    counts["predictions_lost"] += lost
                else:
                    lost = selected[attempt_id].get(field_name) != [int(value)]
                counts["answers_lost"] += lost
    return counts


async def _open_ratio_attempts(plan: contestants.Plan, people: list[contestants.Contestant]) -> list[wrk_ratios.Target]:
    """Start an attempt in the ratio round for each of ``people`` (signed in already)."""
    recorder = contestants.Recorder()
    client = contestants.Client(plan, recorder)
    try:
        for who in people:
            who.attempt_id = None
        await asyncio.gather(*(contestants.start(client, who) for who in people))
    finally:
        await client.close()
    return [
        wrk_ratios.Target(
            plan.round_id, who.attempt_id, "; ".join(f"{k}={v}" for k, v in who.cookies.items()), who.csrf
        )
        for who in people
        if who.attempt_id is not None
    ]


def main() -> None:
    count = int(os.environ.get("QUIZ_BENCH_CONTESTANTS", 5000))
    think_min, think_max = (float(x) for x in os.environ.get("QUIZ_BENCH_THINK", "5,15").split(","))
    time_limit = int(os.environ.get("QUIZ_BENCH_TIME_LIMIT", 360))
    wrk_seconds = int(os.environ.get("QUIZ_BENCH_WRK_SECONDS", 10))
    wrk_ratios.wrk_binary()  # fail before minutes of set-up, not after
    from quiz_engine.models import utcnow

    stack = load_stack.start_stack(Path(tempfile.mkdtemp(prefix="quiz-load-")))
    try:
        app = load_stack.app_for(stack)
        load_stack.migrate(app)
        seeded = load_stack.seed(app, count, time_limit_seconds=time_limit, now=utcnow())
        load_stack.prepare_papers(stack, seeded.round_id)  # what `quiz maintain` does before a round opens
        load_stack.start_server(stack)
        plan = contestants.Plan(
            base_url=stack.base_url,
            contest_slug=seeded.contest_slug,
            round_id=seeded.round_id,
            password=load_stack.PASSWORD,
            spike_seconds=10.0,
            think_min=think_min,
            think_max=think_max,
            late_share=0.3,
            login_concurrency=8,
            connections=32,
        )
        server_pid, redis_pid = stack.server_process.pid, stack.redis_process.pid  # type: ignore[union-attr]
        marks: dict[str, Mark] = {}

        def checkpoint(name: str) -> None:
            marks[name] = Mark(
                time.monotonic(),
                _self_cpu(),
                load_stack.process_tree_cpu(server_pid),
                load_stack.process_tree_cpu(redis_pid),
                *_cpu_busy(),
            )

        people, recorder = asyncio.run(contestants.run_round(plan, seeded.phones, checkpoint))
        checked = verify(app, people)
        if os.environ.get("QUIZ_BENCH_TIMELINE"):  # every request's start and latency, for a closer look
            Path(os.environ["QUIZ_BENCH_TIMELINE"]).write_text(
                "\n".join(f"{at - marks['round_start'].at:.3f}\t{e}\t{s:.4f}" for at, e, s in recorder.timeline)
            )
        ready = [who for who in people if who.submitted][:RATIO_ATTEMPTS]
        ratio_plan = dataclasses.replace(plan, round_id=seeded.ratio_round_id)
        targets = asyncio.run(_open_ratio_attempts(ratio_plan, ready))
        samples = wrk_ratios.measure(
            stack.base_url, stack.folder, targets, seconds=wrk_seconds, server_pid=server_pid, rounds=3
        )
        with app.app_context():
            from quiz_engine.extensions import db

            backend = db.engine.dialect.name
            version = stack.redis().info("server")["redis_version"]
            db.engine.dispose()
        body = report(
            count=count,
            backend=backend,
            redis_version=version,
            plan=plan,
            time_limit=time_limit,
            recorder=recorder,
            marks=marks,
            checked=checked,
            samples=samples,
            ratio_attempts=len(targets),
        )
        write_section(f"load-{backend}", body)
        print(body)
    finally:
        stack.stop()


def report(**r) -> str:  # type: ignore[no-untyped-def]
    rec: contestants.Recorder = r["recorder"]
    marks, checked, samples, plan = r["marks"], r["checked"], r["samples"], r["plan"]
    login, start, end = marks["login_start"], marks["round_start"], marks["round_end"]
    round_seconds, login_seconds = end.at - start.at, start.at - login.at
    cores = os.cpu_count() or 1
    login_share, round_share = login.share(start), start.share(end)

    def shares(part: dict[str, float]) -> str:
        return (
            f"machine busy {part['machine']:.0%}: load generator {part['generator']:.0%}, "
            f"gunicorn {part['server']:.0%}, Redis {part['redis']:.0%}"
        )

    total_requests = sum(len(v) for v in rec.latencies.values())
    errors = sum(rec.errors.values())
    lines = [
        "| Endpoint | Requests | p50 | p95 | p99 | max | Target (p99) |",
        "|---|---|---|---|---|---|---|",
    ]
    for endpoint, values in rec.latencies.items():
        target = ""
        if "answers" in endpoint or "prediction" in endpoint:
            ok = _percentile(values, 0.99) < TARGET_SAVE_P99
            target = f"< 300 ms {'✅' if ok else '❌'}"
        elif "start" in endpoint or "submit" in endpoint:
            ok = _percentile(values, 0.99) < TARGET_START_SUBMIT_P99
            target = f"< 1 s {'✅' if ok else '❌'}"
        lines.append(
            f"| {endpoint} | {len(values):,} | {_percentile(values, 0.5) * 1000:.0f} ms | "
            f"{_percentile(values, 0.95) * 1000:.0f} ms | {_percentile(values, 0.99) * 1000:.0f} ms | "
            f"{max(values) * 1000:.0f} ms | {target} |"
        )
    waits = rec.admission_waits or [0.0]
    b_rps = wrk_ratios.median(samples["hset"], "rps")
    ratio_rows = [
        "| Endpoint | req/s (median of 3) | runs | vs B | p50 | p99 | errors | server CPU per request | wrk's CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, label in wrk_ratios.ENDPOINTS.items():
        runs = samples[mode]
        rps = wrk_ratios.median(runs, "rps")
        per_request = statistics.median(s.server_cpu / s.requests * 1e6 for s in runs)
        wrk_share = statistics.median(s.wrk_cpu / (s.seconds * cores) * 100 for s in runs)
        ratio_rows.append(
            f"| {label} | {rps:,.0f} | {', '.join(f'{s.rps:,.0f}' for s in runs)} | {rps / b_rps:.2f} | "
            f"{wrk_ratios.median(runs, 'p50_ms'):.1f} ms | {wrk_ratios.median(runs, 'p99_ms'):.1f} ms | "
            f"{sum(s.errors for s in runs)} | {per_request:.0f} µs | {wrk_share:.0f} % of {cores} cores |"
        )
    save_ratio = wrk_ratios.median(samples["save"], "rps") / b_rps
    lost = checked["answers_lost"] + checked["submissions_lost"]
    verdicts = [
        f"- Answer save at **{save_ratio:.2f}** of the JSON+HSET reference (target ≥ {TARGET_RATIO:.2f}): "
        f"{'✅' if save_ratio >= TARGET_RATIO else '❌'}",
        f"- {r['count']:,} contestants through the round: **{errors} errors**, **{lost} lost** "
        f"({checked['answers']:,} acknowledged answers and predictions, {checked['submissions']:,} acknowledged "
        f"submissions, all looked up in the database afterwards): {'✅' if errors == 0 and lost == 0 else '❌'}",
    ]
    error_lines = "".join(f"\n- {what}: {n}" for what, n in rec.errors.most_common(10))
    round_requests = total_requests - 3 * r["count"]  # the sign-in phase made three per contestant
    sign_ins = len(rec.latencies["POST /auth/login"])
    per_sign_in_ms = (start.server - login.server) / sign_ins * 1000
    per_contestant = (end.server - start.server) / r["count"]
    per_round_request_us = (end.server - start.server) / round_requests * 1e6
    summary = [
        "| | |",
        "|---|---|",
        f"| Sign-in phase | {login_seconds:.0f} s: {sign_ins / login_seconds:,.1f} sign-ins/s, gunicorn CPU "
        f"{per_sign_in_ms:.0f} ms per sign-in (scrypt); {shares(login_share)} |",
        f"| Round phase | {round_seconds:.0f} s, {round_requests:,} requests: "
        f"{round_requests / round_seconds:,.0f} req/s; "
        f"{shares(round_share)} |",
        f"| gunicorn CPU per contestant (start to result) | {per_contestant:.3f} s: {per_round_request_us:,.0f} µs "
        f"per request on average |",
        f"| Start requests answered with the waiting page | {rec.queued:,} |",
        f'| From first "start" to the paper | p50 {statistics.median(waits):.1f} s, '
        f"p99 {_percentile(waits, 0.99):.1f} s, max {max(waits):.1f} s |",
        f"| Errors (unexpected status or no answer) | {errors} |",
    ]
    return f"""## A whole round under load, {r["backend"]} (issue 9)

{machine()}
gunicorn with the project's `gunicorn.conf.py` (gthread, {cores} workers × 8 threads, 16 connections each,
access log on), {r["backend"]} via the app's own settings, Redis {r["redis_version"]} on TCP loopback with
append-only persistence (everysec). The load generators run on the same {cores} cores.

{chr(10).join(verdicts)}

### The answer-save endpoint against references on the same server (wrk)
wrk 1 thread, 32 connections, {samples["save"][0].seconds:.0f} s per run, the three endpoints alternating
three times after a warm-up; every request carries a contestant's session cookie and CSRF header and the
same JSON body, spread over {r["ratio_attempts"]:,} open attempts. "Server CPU per request" is the gunicorn
processes' CPU time over the requests served.

{chr(10).join(ratio_rows)}

### Scripted contestants (one asyncio process, aiohttp, {plan.connections} pooled connections)
{r["count"]:,} contestants sign in through the form ({plan.login_concurrency} at a time), open the contest page,
then all press "start" within {plan.spike_seconds:.0f} s (the spike), load the paper page, save 20 answers and a
prediction with {plan.think_min:g}–{plan.think_max:g} s of think time each, submit the paper form and open the
result. {plan.late_share:.0%} of them wait to the last 1–6 s before their deadline ({r["time_limit"]} s after their
start) to submit: the close rush. Latency runs from issuing the request (pool wait included).

{chr(10).join(summary)}
{error_lines}

{chr(10).join(lines)}
"""


if __name__ == "__main__":
    main()
