"""A whole contest round under load, on the real server, and the answer-save endpoint as a ratio (issues 9, 14).

1. Starts Redis, builds the database with the migrations, seeds the demo contest with two
   20-question rounds and N registered contestants, and starts gunicorn with the production config.
2. Scripted contestants (:mod:`benchmarks.contestants`) sign in, start at a synchronised spike, save
   20 answers and a prediction with think time, submit (a share of them in the close rush) and read
   their result. Then every acknowledged answer and submission is looked for in the database.
3. wrk measures the answer-save endpoint against two reference endpoints on the same server
   (:mod:`benchmarks.wrk_ratios`).

Settings (environment): ``QUIZ_BENCH_CONTESTANTS`` (5000), ``QUIZ_BENCH_DATABASE_URL`` (a PostgreSQL
database the benchmark may wipe; default a fresh SQLite file), ``QUIZ_BENCH_THINK`` ("5,15" seconds),
``QUIZ_BENCH_TIME_LIMIT`` (360 s), ``QUIZ_BENCH_WRK_SECONDS`` (10), ``QUIZ_BENCH_SIGN_INS`` (500: contestants
who sign in through the form; the others hold the "remember me" cookie of an earlier sign-in). Traffic goes
to 127.0.0.1 only.
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
TARGET_START_CPU_MS = 4.0
TARGET_PAPER_P99 = 30.0
#: Starts (then papers) are measured at this share of the admission rate, the pace a spike admits them at
#: (a gthread worker's cost per request falls as it gets busier), and under it, so none queues.
COST_PACE_SHARE = 0.9
#: Starts measured back to back come after this many to warm the restarted server; "per second" of all at once.
BUSY_WARMUP = 1500
BACK_TO_BACK = 1e9
#: Share of a core that admitted starts may take at a spike; the rest serves autosaves and the queue.
ADMISSION_SHARE = 0.8


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


@dataclass(frozen=True)
class Cost:
    """Server CPU per request of one kind, served at a pace below capacity (nobody queued)."""

    requests: int
    queued: int
    app_ms: float  # gunicorn's processes
    database_ms: float  # PostgreSQL's processes (0 on SQLite, which runs inside gunicorn)


def database_cpu() -> float:
    """CPU seconds of every PostgreSQL server process on this machine (0 when none runs)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() in ("postgres", "postmaster"):
                    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                    total += (int(fields[11]) + int(fields[12])) / tick
            except OSError:
                continue
    return total


async def _paced(people: list[contestants.Contestant], per_second: float, step) -> None:  # type: ignore[no-untyped-def]
    async def one(index: int, who: contestants.Contestant) -> None:
        await asyncio.sleep(index / per_second)
        await step(who)

    await asyncio.gather(*(one(i, who) for i, who in enumerate(people)))


def measure_start_cost(
    plan: contestants.Plan, people: list[contestants.Contestant], server_pid: int, per_second: float
) -> tuple[Cost, Cost, list[wrk_ratios.Target]]:
    """Start an attempt in the ratio round for each of ``people`` (signed in, papers pre-drawn), then open
    each paper, both at ``per_second`` (below capacity: the queue does not engage); the CPU of each phase
    over its requests. The attempts are then the ones wrk saves answers to."""
    return asyncio.run(_measure_start_cost(plan, people, server_pid, per_second))


async def _measure_start_cost(
    plan: contestants.Plan, people: list[contestants.Contestant], server_pid: int, per_second: float
) -> tuple[Cost, Cost, list[wrk_ratios.Target]]:
    recorder = contestants.Recorder()
    client = contestants.Client(plan, recorder)

    async def open_paper(who: contestants.Contestant) -> None:
        status, _, _ = await client.call(who, "GET /attempts/<id>", "GET", f"/attempts/{who.attempt_id}")
        if status != 200:
            recorder.error("GET /attempts/<id>", status)

    async def phase(who_steps: list[contestants.Contestant], step, endpoint: str) -> Cost:  # type: ignore[no-untyped-def]
        queued_before = recorder.queued
        app_before, db_before = load_stack.process_tree_cpu(server_pid), database_cpu()
        await _paced(who_steps, per_second, step)
        served = len(recorder.latencies[endpoint])
        return Cost(
            served,
            recorder.queued - queued_before,
            (load_stack.process_tree_cpu(server_pid) - app_before) / served * 1000,
            (database_cpu() - db_before) / served * 1000,
        )

    try:
        for who in people:
            who.attempt_id = None
        start_cost = await phase(people, lambda who: contestants.start(client, who), "POST /rounds/<id>/start")
        started = [who for who in people if who.attempt_id is not None]
        paper_cost = await phase(started, open_paper, "GET /attempts/<id>")
    finally:
        await client.close()
    if recorder.errors:
        raise RuntimeError(f"start cost phase: {dict(recorder.errors)}")
    targets = [
        wrk_ratios.Target(
            plan.round_id, who.attempt_id, "; ".join(f"{k}={v}" for k, v in who.cookies.items()), who.csrf
        )
        for who in started
        if who.attempt_id is not None
    ]
    return start_cost, paper_cost, targets


def measure_busy_start_cost(
    stack: load_stack.Stack, plan: contestants.Plan, round_id: int, people: list[contestants.Contestant]
) -> tuple[Cost, Cost]:
    """Starts (then their paper pages) back to back, the server busy as during a spike and as the answer save is
    measured: gunicorn restarted with the start queue off (so none waits), :data:`BUSY_WARMUP` starts to warm it,
    then :data:`RATIO_ATTEMPTS` starts with the load generator's connections all in use, CPU over requests."""
    if len(people) <= BUSY_WARMUP:
        raise RuntimeError(f"the back-to-back starts need more than {RATIO_ATTEMPTS + BUSY_WARMUP} contestants")
    load_stack.stop_server(stack)
    load_stack.start_server(stack, QUIZ_ADMISSION_RATE="0")
    busy_plan = dataclasses.replace(plan, base_url=stack.base_url, round_id=round_id)
    server_pid = stack.server_process.pid  # type: ignore[union-attr]
    warm, measured = people[:BUSY_WARMUP], people[BUSY_WARMUP : BUSY_WARMUP + RATIO_ATTEMPTS]
    measure_start_cost(busy_plan, warm, server_pid, BACK_TO_BACK)
    start_cost, paper_cost, _ = measure_start_cost(busy_plan, measured, server_pid, BACK_TO_BACK)
    return start_cost, paper_cost


def remember_cookies(app, phones: list[str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The "remember me" cookie each contestant's phone holds after signing in on an earlier day: what the
    sign-in form sets (Flask-Login's signed ``User.get_id()``), made by the app's own code."""
    from flask_login.utils import encode_cookie

    from quiz_engine.extensions import db
    from quiz_engine.models import User
    from quiz_engine.services.people import accounts

    wanted = {accounts.normalise_phone(p): p for p in phones}
    with app.test_request_context():
        users = db.session.scalars(select(User).where(User.phone.in_(list(wanted))))
        return {wanted[u.phone]: encode_cookie(u.get_id()) for u in users}


def main() -> None:
    count = int(os.environ.get("QUIZ_BENCH_CONTESTANTS", 5000))
    think_min, think_max = (float(x) for x in os.environ.get("QUIZ_BENCH_THINK", "5,15").split(","))
    time_limit = int(os.environ.get("QUIZ_BENCH_TIME_LIMIT", 360))
    wrk_seconds = int(os.environ.get("QUIZ_BENCH_WRK_SECONDS", 10))
    cold_sign_ins = min(count, int(os.environ.get("QUIZ_BENCH_SIGN_INS", 500)))
    wrk_ratios.wrk_binary()  # fail before minutes of set-up, not after
    from quiz_engine.models import utcnow

    stack = load_stack.start_stack(Path(tempfile.mkdtemp(prefix="quiz-load-")))
    try:
        app = load_stack.app_for(stack)
        load_stack.migrate(app)
        seeded = load_stack.seed(app, count, time_limit_seconds=time_limit, now=utcnow())
        for round_id in (seeded.round_id, seeded.ratio_round_id, seeded.busy_round_id):  # as `quiz maintain` does
            load_stack.prepare_papers(stack, round_id)
        cookies = remember_cookies(app, seeded.phones)
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

        people, recorder = asyncio.run(
            contestants.run_round(plan, seeded.phones, checkpoint, cookies.__getitem__, cold_sign_ins=cold_sign_ins)
        )
        workers, threads = load_stack.server_shape(stack)
        checked = verify(app, people)
        if os.environ.get("QUIZ_BENCH_TIMELINE"):  # every request's start and latency, for a closer look
            Path(os.environ["QUIZ_BENCH_TIMELINE"]).write_text(
                "\n".join(f"{at - marks['round_start'].at:.3f}\t{e}\t{s:.4f}" for at, e, s in recorder.timeline)
            )
        ready = [who for who in people if who.submitted][:RATIO_ATTEMPTS]
        ratio_plan = dataclasses.replace(plan, round_id=seeded.ratio_round_id)
        starts_per_core = float(app.config["ADMISSION_STARTS_PER_CORE"])
        pace = COST_PACE_SHARE * starts_per_core * (os.cpu_count() or 1)
        start_cost, paper_cost, targets = measure_start_cost(ratio_plan, ready, server_pid, pace)
        samples = wrk_ratios.measure(
            stack.base_url, stack.folder, targets, seconds=wrk_seconds, server_pid=server_pid, rounds=3
        )
        busy_people = [who for who in people if who.submitted][RATIO_ATTEMPTS:]
        busy_start, busy_paper = measure_busy_start_cost(stack, plan, seeded.busy_round_id, busy_people)
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
            start_cost=start_cost,
            paper_cost=paper_cost,
            busy_start=busy_start,
            busy_paper=busy_paper,
            workers=workers,
            threads=threads,
            cold_sign_ins=cold_sign_ins,
            starts_per_core=starts_per_core,
            pace=pace,
        )
        write_section(f"load-{backend}", body)
        print(body)
    finally:
        stack.stop()


def report(**r) -> str:  # type: ignore[no-untyped-def]
    rec: contestants.Recorder = r["recorder"]
    marks, checked, samples, plan = r["marks"], r["checked"], r["samples"], r["plan"]
    start_cost: Cost = r["start_cost"]
    paper_cost: Cost = r["paper_cost"]
    busy_start: Cost = r["busy_start"]
    busy_paper: Cost = r["busy_paper"]
    login, back, start, end = marks["login_start"], marks["return_start"], marks["round_start"], marks["round_end"]
    round_seconds, login_seconds, back_seconds = end.at - start.at, back.at - login.at, start.at - back.at
    cores = os.cpu_count() or 1
    login_share, back_share, round_share = login.share(back), back.share(start), start.share(end)

    def shares(part: dict[str, float]) -> str:
        return (
            f"machine busy {part['machine']:.0%}: load generator {part['generator']:.0%}, "
            f"gunicorn {part['server']:.0%}, Redis {part['redis']:.0%}"
        )

    before_round = ("GET /auth/login", "POST /auth/login", contestants.RETURNING)
    round_requests = sum(len(v) for k, v in rec.latencies.items() if k not in before_round)
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
    per_request_us = {}
    for mode, label in wrk_ratios.ENDPOINTS.items():
        runs = samples[mode]
        rps = wrk_ratios.median(runs, "rps")
        per_request_us[mode] = statistics.median(s.server_cpu / s.requests * 1e6 for s in runs)
        wrk_share = statistics.median(s.wrk_cpu / (s.seconds * cores) * 100 for s in runs)
        ratio_rows.append(
            f"| {label} | {rps:,.0f} | {', '.join(f'{s.rps:,.0f}' for s in runs)} | {rps / b_rps:.2f} | "
            f"{wrk_ratios.median(runs, 'p50_ms'):.1f} ms | {wrk_ratios.median(runs, 'p99_ms'):.1f} ms | "
            f"{sum(s.errors for s in runs)} | {per_request_us[mode]:.0f} µs | {wrk_share:.0f} % of {cores} cores |"
        )
    save_ratio = wrk_ratios.median(samples["save"], "rps") / b_rps
    lost = checked["answers_lost"] + checked["submissions_lost"]
    start_p99 = _percentile(rec.latencies["POST /rounds/<id>/start"], 0.99)
    saves = rec.latencies["PUT /api/.../answers/<n>"]
    paper_p99 = _percentile(waits, 0.99)

    def mark(ok: bool) -> str:
        return "✅" if ok else "❌"

    verdicts = [
        f"- Start, server CPU per request with a pre-drawn paper, back to back as the answer save is measured: "
        f"**{busy_start.app_ms:.2f} ms** (target ≤ {TARGET_START_CPU_MS:g} ms): "
        f"{mark(busy_start.app_ms <= TARGET_START_CPU_MS)}; at the spike's admission pace, the server otherwise "
        f"idle: {start_cost.app_ms:.2f} ms",
        f'- From the first press of "start" to the paper, p99: **{paper_p99:.1f} s** '
        f"(target ≤ {TARGET_PAPER_P99:g} s): {mark(paper_p99 <= TARGET_PAPER_P99)}",
        f"- Start p99 **{start_p99 * 1000:.0f} ms** (target < 1 s): {mark(start_p99 < TARGET_START_SUBMIT_P99)}",
        f"- Answer save p99 **{_percentile(saves, 0.99) * 1000:.0f} ms** through the spike and the round "
        f"(target < 300 ms): {mark(_percentile(saves, 0.99) < TARGET_SAVE_P99)}",
        f"- Answer save at **{save_ratio:.2f}** of the JSON+HSET reference (target ≥ {TARGET_RATIO:.2f}): "
        f"{mark(save_ratio >= TARGET_RATIO)}",
        f"- {r['count']:,} contestants through the round: **{errors} errors**, **{lost} lost** "
        f"({checked['answers']:,} acknowledged answers and predictions, {checked['submissions']:,} acknowledged "
        f"submissions, all looked up in the database afterwards): {mark(errors == 0 and lost == 0)}",
    ]
    error_lines = "".join(f"\n- {what}: {n}" for what, n in rec.errors.most_common(10))
    sign_ins = len(rec.latencies["POST /auth/login"])
    returning = len(rec.latencies[contestants.RETURNING])
    per_sign_in_ms = (back.server - login.server) / max(1, sign_ins) * 1000
    per_return_ms = (start.server - back.server) / max(1, returning) * 1000
    per_contestant = (end.server - start.server) / r["count"]
    per_round_request_us = (end.server - start.server) / round_requests * 1e6
    pair_ms = busy_start.app_ms  # the start answers with the paper: one request per admitted contestant
    sustained = 1000 / pair_ms * ADMISSION_SHARE
    summary = [
        "| | |",
        "|---|---|",
        f"| Cold sign-ins (first day, through the form) | {sign_ins:,} in {login_seconds:.0f} s: "
        f"**{sign_ins / login_seconds:,.1f} sign-ins/s**, gunicorn CPU {per_sign_in_ms:.0f} ms per sign-in (scrypt); "
        f"{shares(login_share)} |",
        f"| Returning contestants (round day, remember cookie, no sign-in) | {returning:,} contest pages in "
        f"{back_seconds:.0f} s: {returning / back_seconds:,.0f}/s, gunicorn CPU {per_return_ms:.1f} ms each; "
        f"{shares(back_share)} |",
        f"| Round phase | {round_seconds:.0f} s, {round_requests:,} requests: "
        f"{round_requests / round_seconds:,.0f} req/s; {shares(round_share)} |",
        f"| gunicorn CPU per contestant (start to result) | {per_contestant:.3f} s: {per_round_request_us:,.0f} µs "
        f"per request on average |",
        f"| Start requests answered with the waiting page | {rec.queued:,} |",
        f'| From the first press of "start" to the paper | p50 {statistics.median(waits):.1f} s, '
        f"p99 {paper_p99:.1f} s, max {max(waits):.1f} s |",
        f"| Errors (unexpected status or no answer) | {errors} |",
    ]
    cost_rows = [
        "| Request | How | Requests | Queued | gunicorn CPU per request | PostgreSQL CPU per request | Target |",
        "|---|---|---|---|---|---|---|",
        f"| Start (`POST /rounds/<id>/start`, pre-drawn paper; answers with the paper page) | back to back | "
        f"{busy_start.requests:,} | {busy_start.queued} | "
        f"**{busy_start.app_ms:.2f} ms** | {busy_start.database_ms:.2f} ms | ≤ {TARGET_START_CPU_MS:g} ms "
        f"{mark(busy_start.app_ms <= TARGET_START_CPU_MS)} |",
        f"| Paper page again (`GET /attempts/<id>`: a reload) | back to back | {busy_paper.requests:,} | — | "
        f"{busy_paper.app_ms:.2f} ms | {busy_paper.database_ms:.2f} ms | |",
        f"| Start, as above | {r['pace']:.0f} a second | {start_cost.requests:,} | {start_cost.queued} | "
        f"{start_cost.app_ms:.2f} ms | {start_cost.database_ms:.2f} ms | |",
        f"| Paper page again | {r['pace']:.0f} a second | {paper_cost.requests:,} | — | {paper_cost.app_ms:.2f} ms | "
        f"{paper_cost.database_ms:.2f} ms | |",
        f"| Answer save (wrk, below) | back to back | | — | {per_request_us['save'] / 1000:.2f} ms | — | |",
    ]
    return f"""## A whole round under load, {r["backend"]} (issues 9 and 14)

{machine()}
gunicorn with the project's `gunicorn.conf.py` (gthread, {r["workers"]} workers × {r["threads"]} threads,
{2 * r["threads"]} connections each, idle connections kept {load_stack.KEEPALIVE} s as behind a proxy, access log
on), {r["backend"]} via the app's own settings, Redis {r["redis_version"]} on TCP loopback with append-only
persistence (everysec). The load generators run on the same {cores} cores.

{chr(10).join(verdicts)}

### What a start costs
Contestants start an attempt in another round (papers pre-drawn by `quiz papers prepare`), then reload their
papers, measured two ways; CPU is the server's over the requests served.

- **Back to back**, as the answer save below is measured and as a spike keeps the server: gunicorn restarted with
  the start queue off (so nobody waits), {BUSY_WARMUP} starts to warm it, then {busy_start.requests:,} starts with
  the load generator's {plan.connections} connections all in use, then their papers the same way. This is the
  figure the target and the admission rate are judged on: a gthread worker spends less per request when it is
  busy (fewer wake-ups per request), as it is while a spike is admitted.
- **At {r["pace"]:.0f} a second** ({COST_PACE_SHARE:.0%} of the admission rate, the pace a spike admits them at),
  one at a time, with nothing else running: each request pays the wake-ups of an idle server.

{chr(10).join(cost_rows)}

A start, its paper page included, costs {pair_ms:.1f} ms of gunicorn CPU, so one core sustains
{1000 / pair_ms:,.0f} a second, and {sustained:,.0f} at {ADMISSION_SHARE:.0%} of the core (the rest for autosaves
and the queue): the measure behind `ADMISSION_STARTS_PER_CORE` (config: {r["starts_per_core"]:g}).

### The answer-save endpoint against references on the same server (wrk)
wrk 1 thread, 32 connections, {samples["save"][0].seconds:.0f} s per run, the three endpoints alternating
three times after a warm-up; every request carries a contestant's session cookie and CSRF header and the
same JSON body, spread over {r["ratio_attempts"]:,} open attempts. "Server CPU per request" is the gunicorn
processes' CPU time over the requests served.

{chr(10).join(ratio_rows)}

### Scripted contestants (one asyncio process, aiohttp, {plan.connections} pooled connections)
{r["cold_sign_ins"]:,} contestants sign in through the form ({plan.login_concurrency} at a time); the other
{r["count"] - r["cold_sign_ins"]:,} signed in on an earlier day and hold the "remember me" cookie the form sets. On the
round's day all {r["count"]:,} come back with that cookie alone and open the contest page (no sign-in), then all
press "start" within {plan.spike_seconds:.0f} s (the spike), waiting as the waiting page says when queued (its exact
wait), load the paper page, save 20 answers and a prediction with {plan.think_min:g}–{plan.think_max:g} s of think
time each, submit the paper form and open the result. {plan.late_share:.0%} of them wait to the last 1–6 s before
their deadline ({r["time_limit"]} s after their start) to submit: the close rush. Latency runs from issuing the
request (pool wait included); "from the first press to the paper" runs from the first start request to the
paper page received.

{chr(10).join(summary)}
{error_lines}

{chr(10).join(lines)}
"""


if __name__ == "__main__":
    main()
