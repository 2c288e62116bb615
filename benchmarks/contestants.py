"""Scripted contestants in one asyncio process: each does what the browser does, over real HTTP.

A contestant signs in through the form (or did so on an earlier day and holds the "remember me" cookie),
comes back on the round's day with that cookie alone and opens the contest page, and at the start spike
posts the start form (waiting when the server queues it, as the waiting page does), loads the paper page,
autosaves each answer and the prediction with think time as ``attempt.js`` does (resending after a
failure), submits the paper form, and opens the result page. A share of them keep their paper to the
last seconds before the deadline: the close rush. Every answer and submission the server
acknowledged is remembered, to be looked for in the database afterwards.

Requests share a pool of keep-alive connections, as a reverse proxy's upstream pool would, and a request
waiting for one is served in the order it was issued, as a proxy that caps its connections to the app queues
them (HAProxy's ``maxconn`` per server): :class:`FifoSlots`. aiohttp's own pool does not keep that order (a
request issued just as a connection comes free takes it before those already waiting), which made the answer
saves after a think time wait behind the requests contestants fire back to back. Each contestant keeps its own
cookies. Latency runs from the moment a request is issued (waiting for a connection included) to the end of
its response.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import aiohttp

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SAVE_URL = re.compile(r'id="q-(\d+|prediction)"[^>]*?data-save-url="([^"]+)"', re.S)
CHOICE = re.compile(r'name="q(\d+)" value="(\d+)"')
REMAINING = re.compile(r'data-remaining-ms="(\d+)"')
WAIT_MS = re.compile(r'data-wait-ms="(\d+)"')
#: Flask-Login's "remember me" cookie: a contestant who signed in on this phone before holds only this.
REMEMBER_COOKIE = "remember_token"
RETURNING = "GET /contests/<slug> (returning: remember cookie only)"
ATTEMPT_PATH = re.compile(r"/attempts/(\d+)$")
#: The paper page names its own address (a start that draws a paper ahead of time answers with the page).
PAPER_PAGE = re.compile(r'data-page-url="/attempts/(\d+)"')
SAVE_RETRIES = 5


@dataclass
class Recorder:
    """Latencies per endpoint, and every response that was not the expected one."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    #: (issued at, monotonic; endpoint; seconds) of every request, to see when the slow ones happened.
    timeline: list[tuple[float, str, float]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    queued: int = 0
    admission_waits: list[float] = field(default_factory=list)

    def add(self, endpoint: str, seconds: float) -> None:
        self.latencies[endpoint].append(seconds)
        self.timeline.append((time.monotonic() - seconds, endpoint, seconds))

    def error(self, endpoint: str, what: object) -> None:
        self.errors[f"{endpoint}: {what}"] += 1


@dataclass
class Contestant:
    phone: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""
    attempt_id: int | None = None
    #: field ("0".."19", "p") -> the value the server acknowledged last ("2", "0,3", "120").
    acked: dict[str, str] = field(default_factory=dict)
    submitted: bool = False
    late: bool = False
    #: When the contestant first pressed "start" (monotonic), until the paper is on the screen.
    pressed_at: float | None = None
    #: The paper page when the start answered with it (else the contestant loads it).
    paper: str | None = None


@dataclass(frozen=True)
class Plan:
    base_url: str
    contest_slug: str
    round_id: int
    password: str
    spike_seconds: float  # starts are spread uniformly over this window (people clicking at open)
    think_min: float
    think_max: float
    late_share: float  # contestants who submit in the last seconds: the close rush
    login_concurrency: int
    connections: int


class FifoSlots:
    """At most ``size`` requests in flight; the others wait and are let in strictly in the order they came."""

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiting: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> None:
        if self._free > 0 and not self._waiting:
            self._free -= 1
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        await turn  # the slot is handed over by release(), never taken by a newcomer

    def release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1


class Client:
    def __init__(self, plan: Plan, recorder: Recorder) -> None:
        self.plan = plan
        self.recorder = recorder
        self.slots = FifoSlots(plan.connections)
        connector = aiohttp.TCPConnector(limit=plan.connections, force_close=False)
        self.http = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=60),
        )

    async def close(self) -> None:
        await self.http.close()

    async def call(
        self, who: Contestant, endpoint: str, method: str, path: str, **kwargs: object
    ) -> tuple[int, dict[str, str], str]:
        headers = dict(kwargs.pop("headers", {}) or {})  # type: ignore[call-overload]
        if who.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in who.cookies.items())
        started = time.perf_counter()
        await self.slots.acquire()
        try:
            async with self.http.request(
                method, self.plan.base_url + path, headers=headers, allow_redirects=False, **kwargs
            ) as response:
                body = await response.text()
                status, response_headers = response.status, dict(response.headers)
                for raw in response.headers.getall("Set-Cookie", []):
                    self._keep_cookie(who, raw)
        except (TimeoutError, aiohttp.ClientError) as exc:
            self.recorder.add(endpoint, time.perf_counter() - started)
            self.recorder.error(endpoint, type(exc).__name__)
            return 0, {}, ""
        finally:
            self.slots.release()
        self.recorder.add(endpoint, time.perf_counter() - started)
        return status, response_headers, body

    @staticmethod
    def _keep_cookie(who: Contestant, raw: str) -> None:
        cookie: SimpleCookie = SimpleCookie()
        cookie.load(raw)
        for name, morsel in cookie.items():
            if morsel.value == "" or morsel["max-age"] == "0":
                who.cookies.pop(name, None)
            else:
                who.cookies[name] = morsel.value


async def sign_in(client: Client, who: Contestant) -> bool:
    """Sign in through the form, as on the first day (the form remembers the phone by default)."""
    status, _, body = await client.call(who, "GET /auth/login", "GET", "/auth/login")
    token = CSRF.search(body)
    if status != 200 or token is None:
        client.recorder.error("GET /auth/login", status)
        return False
    form = {"csrf_token": token.group(1), "login": who.phone, "password": client.plan.password, "remember": "y"}
    status, _, _ = await client.call(who, "POST /auth/login", "POST", "/auth/login", data=form)
    if status != 302 or REMEMBER_COOKIE not in who.cookies:
        client.recorder.error("POST /auth/login", status)
        return False
    return True


async def come_back(client: Client, who: Contestant) -> bool:
    """On the round's day: the browser kept only the "remember me" cookie; open the contest page.

    No sign-in: the cookie restores the session on this request (one account read, no password hash).
    """
    who.cookies = {REMEMBER_COOKIE: who.cookies[REMEMBER_COOKIE]}
    endpoint = RETURNING
    status, _, body = await client.call(who, endpoint, "GET", f"/contests/{client.plan.contest_slug}")
    token = CSRF.search(body)
    if status != 200 or token is None or "session" not in who.cookies:
        client.recorder.error(endpoint, status)
        return False
    who.csrf = token.group(1)
    return True


async def start(client: Client, who: Contestant) -> bool:
    """Post the start form until admitted (the waiting page posts it again after its wait)."""
    who.pressed_at = time.monotonic()
    path = f"/rounds/{client.plan.round_id}/start"
    for _ in range(1000):
        status, headers, body = await client.call(
            who, "POST /rounds/<id>/start", "POST", path, data={"csrf_token": who.csrf}
        )
        location = headers.get("Location", "")
        found = ATTEMPT_PATH.search(location)
        if status == 302 and found:
            who.attempt_id, who.paper = int(found.group(1)), None
            return True
        paper = PAPER_PAGE.search(body) if status == 200 else None
        if paper:  # the start answered with the paper itself
            who.attempt_id, who.paper = int(paper.group(1)), body
            return True
        if status in (200, 429, 503):
            # Queued (the waiting page) or told to slow down: wait as the page says (waiting.js: the exact
            # wait and 150 ms more, else Retry-After), then post again.
            client.recorder.queued += 1
            exact = WAIT_MS.search(body)
            wait = int(exact.group(1)) / 1000 + 0.15 if exact else float(headers.get("Retry-After", "2"))
            await asyncio.sleep(wait)
            token = CSRF.search(body)
            if token:
                who.csrf = token.group(1)
            continue
        client.recorder.error("POST /rounds/<id>/start", status)
        return False
    return False


async def _paper(client: Client, who: Contestant, page: str) -> tuple[int, str]:
    if who.paper is not None:  # the start brought it
        body, who.paper = who.paper, None
        return 200, body
    status, _, body = await client.call(who, "GET /attempts/<id>", "GET", page)
    return status, body


async def take(client: Client, who: Contestant, rng: random.Random) -> None:
    """Load the paper (unless the start brought it), answer every question with think time, predict, submit,
    read the result."""
    page = f"/attempts/{who.attempt_id}"
    status, body = await _paper(client, who, page)
    token, remaining = CSRF.search(body), REMAINING.search(body)
    if status != 200 or token is None or remaining is None:
        client.recorder.error("GET /attempts/<id>", status)
        return
    loaded = time.monotonic()
    if who.pressed_at is not None:
        client.recorder.admission_waits.append(loaded - who.pressed_at)  # from the first press to the paper
    deadline = loaded + int(remaining.group(1)) / 1000
    csrf = token.group(1)
    urls = dict(SAVE_URL.findall(body))
    choices: dict[str, list[str]] = defaultdict(list)
    for position, value in CHOICE.findall(body):
        choices[position].append(value)
    headers = {"X-CSRFToken": csrf, "Content-Type": "application/json", "Accept": "application/json"}
    for position in sorted(choices, key=int):
        await asyncio.sleep(rng.uniform(client.plan.think_min, client.plan.think_max))
        value = rng.choice(choices[position])
        await save(client, who, "PUT /api/.../answers/<n>", urls[position], position, value, headers)
    if "prediction" in urls:
        prediction = str(rng.randint(1000, 9000))
        await save(client, who, "PUT /api/.../prediction", urls["prediction"], "p", prediction, headers)
    if who.late:  # keep the paper open to the last seconds: everyone late arrives together
        await asyncio.sleep(max(0.0, deadline - time.monotonic() - rng.uniform(1.0, 6.0)))
    form = {"csrf_token": csrf, **{f"q{f}": v for f, v in who.acked.items() if f != "p"}}
    if "p" in who.acked:
        form["prediction"] = who.acked["p"]
    status, headers_back, _ = await client.call(who, "POST /attempts/<id>/submit", "POST", f"{page}/submit", data=form)
    if status == 302 and headers_back.get("Location", "").endswith("/result"):
        who.submitted = True
    else:
        client.recorder.error("POST /attempts/<id>/submit", status)
        return
    status, _, _ = await client.call(who, "GET /attempts/<id>/result", "GET", f"{page}/result")
    if status != 200:
        client.recorder.error("GET /attempts/<id>/result", status)


async def save(
    client: Client, who: Contestant, endpoint: str, url: str, field_name: str, value: str, headers: dict[str, str]
) -> None:
    body = {"value": int(value)} if field_name == "p" else {"choices": [int(value)]}
    for attempt in range(SAVE_RETRIES):
        status, _, _ = await client.call(who, endpoint, "PUT", url, json=body, headers=headers)
        if status == 200:
            who.acked[field_name] = value
            return
        client.recorder.error(endpoint, status)
        await asyncio.sleep(1.0 + attempt)  # attempt.js keeps the answer and resends it


async def run_round(
    plan: Plan,
    phones: list[str],
    checkpoint: Callable[[str], None],
    remembered: Callable[[str], str],
    *,
    cold_sign_ins: int,
    seed: int = 57,
) -> tuple[list[Contestant], Recorder]:
    """Sign in, come back on the round's day, then the spike, the answering, the close rush.

    The first ``cold_sign_ins`` contestants sign in through the form (that measures sign-ins a second); the
    others signed in on an earlier day and hold the "remember me" cookie ``remembered(phone)`` gives (what
    the form sets). On the round's day everyone comes back with that cookie alone and opens the contest page.
    ``checkpoint`` is called with "login_start", "return_start", "round_start" and "round_end".
    """
    recorder = Recorder()
    client = Client(plan, recorder)
    rng = random.Random(seed)
    people = [Contestant(phone, late=rng.random() < plan.late_share) for phone in phones]
    try:
        gate = asyncio.Semaphore(plan.login_concurrency)

        async def signed_in(who: Contestant) -> bool:
            async with gate:
                return await sign_in(client, who)

        async def returned(who: Contestant) -> bool:
            async with gate:
                return await come_back(client, who)

        checkpoint("login_start")
        cold = people[:cold_sign_ins]
        ok = await asyncio.gather(*(signed_in(who) for who in cold))
        signed = [who for who, fine in zip(cold, ok, strict=True) if fine]
        for who in people[cold_sign_ins:]:
            who.cookies = {REMEMBER_COOKIE: remembered(who.phone)}
            signed.append(who)
        checkpoint("return_start")
        ok = await asyncio.gather(*(returned(who) for who in signed))
        ready = [who for who, fine in zip(signed, ok, strict=True) if fine]

        async def sit(who: Contestant, offset: float, own_rng: random.Random) -> None:
            await asyncio.sleep(offset)
            if await start(client, who):
                await take(client, who, own_rng)

        checkpoint("round_start")
        await asyncio.gather(
            *(sit(who, rng.uniform(0, plan.spike_seconds), random.Random(rng.random())) for who in ready)
        )
        checkpoint("round_end")
    finally:
        await client.close()
    return people, recorder
