"""Every page, in Vietnamese and in English, scanned with axe-core in a real Chromium: no serious or critical
accessibility violations.

The pages come from the app's routes: every GET endpoint that answers HTML is opened by the visitor the route
sweep (tests/web/test_route_sweep.py) says may use it, so a new page is scanned without being listed here (and
one that needs a value this test does not know fails loudly). The contestant's attempt is taken in the browser
(start, answer, the submit dialog, the confirmation without script, the result), and states beyond a plain GET
are scanned too: refused forms, search results, a retired question, both kinds of bank import preview, an
export's progress page, a temporary password. Desktop in both languages, then every page again on a phone in
Vietnamese: contestants mostly take part on phones, and narrow tables scroll there.

axe-core comes from ``node_modules/`` (``npm ci`` installs it from package-lock.json; ``make test`` does). A
Playwright route serves it at a path on the app's own origin, so the page loads it under its own strict CSP
(``script-src 'self'``): the scan needs no ``bypass_csp`` and sees each page exactly as a visitor's browser
renders it, and a CSP violation on any page fails the test too. Every finding of every impact, and what axe
could not decide ("incomplete"), is written to ``test-artifacts/accessibility.json``; run with
``QUIZ_A11Y_VERBOSE=1 -s`` to print the summary.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from flask import Flask, url_for
from sqlalchemy import select

from quiz_engine.extensions import db
from quiz_engine.models import Certificate, Contest, Question, QuestionBank, User, utcnow
from quiz_engine.services import demo
from quiz_engine.services.people import accounts
from quiz_engine.services.results import certificates
from quiz_engine.services.taking import admission
from tests.browser.conftest import PASSWORD, sign_in
from tests.contest_fixture import HEADER
from tests.web.test_route_sweep import classify

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: Where pages load axe from: a path on the app's origin that only this test's route answers.
AXE_PATH = "/__test__/axe.min.js"
#: axe's default rules (WCAG 2.0-2.2 A and AA, best practices), plus three it leaves off by default:
#: target-size (WCAG 2.2 AA, 2.5.8: contestants tap answers on phones) and duplicate-id(-active), deprecated
#: with WCAG 4.1.1 but still worth reporting (a repeated id breaks label and ARIA references).
AXE_OPTIONS = {
    "resultTypes": ["violations", "incomplete"],
    "rules": {name: {"enabled": True} for name in ("target-size", "duplicate-id", "duplicate-id-active")},
}
FAILING_IMPACTS = ("serious", "critical")

#: GET endpoints that answer something other than an HTML page (JSON, a workbook, a file).
NOT_PAGES = {
    "static",
    "main.healthz",
    "auth.personal_data_json",
    "organizer.audit_export",
    "organizer.bank_export",
    "organizer.bank_template",
    "organizer.export_download",
    "organizer.export_job_data",
    "organizer.round_dashboard_data",
    # A contest's brand: images and a stylesheet, not pages.
    "contest.contest_logo",
    "contest.contest_banner",
    "contest.contest_brand_css",
    "organizer.contest_branding_css",
    "organizer.contest_branding_image",
}
#: Pages reached through the browser rather than by an address alone: the flows below scan them.
FLOWS = {"contest.take_attempt", "contest.attempt_result", "organizer.bank_preview"}
#: Pages whose screenshot is kept, per language and device.
SCREENSHOTS = {
    "main.index": "home",
    "contest.show_contest": "contest",
    "contest.round_leaderboard": "leaderboard",
    "contest.take_attempt": "attempt",
    "contest.attempt_result": "result",
    "organizer.bank_detail": "bank",
    "organizer.contest_detail": "organizer-contest",
    "organizer.round_dashboard": "dashboard",
    "organizer.round_statistics": "statistics",
}
#: An account not entered in the demo contest: the join form and the contest page as an outsider sees it.
NEWCOMER = "moi-den@example.vn"


@dataclass(frozen=True)
class Pass:
    lang: str
    device: str
    contestant: str  # each takes one attempt of week 1; the demo's contestants have submitted one of three

    @property
    def viewport(self) -> dict[str, int]:
        return {"width": 1280, "height": 900} if self.device == "desktop" else {"width": 360, "height": 740}

    def label(self, name: str) -> str:
        return f"{self.lang}-{name}" if self.device == "desktop" else f"{self.lang}-{self.device}-{name}"


PASSES = (
    Pass("vi", "desktop", "ts0@example.vn"),
    Pass("en", "desktop", "ts1@example.vn"),
    Pass("vi", "phone", "ts2@example.vn"),
)


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"EXPORT_INLINE_WAIT_SECONDS": 0}  # an export goes through its progress page, which is scanned


def url_for_page(app: Flask, endpoint: str, arguments: set[str], values: dict[str, object]) -> str:
    args = dict(values)
    if endpoint.startswith("organizer.bank"):
        args["slug"] = "chuyen-doi-so"
    missing = arguments - args.keys()
    assert not missing, f"{endpoint} needs {missing}: give the accessibility scan a value for it"
    with app.test_request_context():
        return url_for(endpoint, **{k: args[k] for k in arguments})


def page_urls(app: Flask, values: dict[str, object], visitor: str) -> list[tuple[str, str]]:
    """``(endpoint, url)`` of every HTML page ``visitor`` may open by its address."""
    kinds = {"anonymous": {"public"}, "contestant": {"signed-in"}, "organizer": {"organizer", "admin"}}[visitor]
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        endpoint = rule.endpoint
        if "GET" not in rule.methods or endpoint in NOT_PAGES | FLOWS or endpoint.startswith("api."):
            continue
        if classify(endpoint) in kinds:
            out.append((endpoint, url_for_page(app, endpoint, rule.arguments, values)))
    return out


def use_language(page, lang: str) -> None:  # type: ignore[no-untyped-def]
    """Switch with the header's language button, as a visitor would."""
    if page.evaluate("document.documentElement.lang") != lang:
        with page.expect_navigation():
            page.locator("header form[action^='/language/'] button").click()
    assert page.evaluate("document.documentElement.lang") == lang


def submit(page, form: str = "main form") -> None:  # type: ignore[no-untyped-def]
    """Press the submit button of the page's form and wait for the answer."""
    with page.expect_navigation():
        page.locator(f"{form} button[type=submit]").first.click()


def sign_in_as(page, base: str, login: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/auth/login")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", PASSWORD)
    submit(page)
    assert "/auth/login" not in page.url, f"{login} could not sign in"


def visit(page, url: str, *, status: int = 200) -> None:  # type: ignore[no-untyped-def]
    response = page.goto(url)
    assert response is not None and response.status == status, f"{url} answered {response and response.status}"


@dataclass
class Tour:
    """The visitors' walks through the site, and what axe found on every page they saw."""

    app: Flask
    browser: object
    base: str
    values: dict[str, object]
    artifacts: Path
    uploads: tuple[Path, Path]
    violations: list[dict[str, object]] = field(default_factory=list)
    incomplete: list[dict[str, object]] = field(default_factory=list)
    csp_errors: list[str] = field(default_factory=list)
    seen: set[tuple[Pass, str, str]] = field(default_factory=set)
    pages: int = 0

    def context(self, run: Pass):  # type: ignore[no-untyped-def]
        """A fresh browser context whose pages can load axe-core from ``AXE_PATH``."""
        context = self.browser.new_context(  # type: ignore[attr-defined]
            viewport=run.viewport,
            is_mobile=run.device == "phone",
            locale="vi-VN" if run.lang == "vi" else "en-US",
        )
        context.route(f"{self.base}{AXE_PATH}", lambda route: route.fulfill(path=AXE, content_type="text/javascript"))
        context.on("console", lambda m: self._console(m.text))
        return context

    def _console(self, text: str) -> None:
        if "Content Security Policy" in text:
            self.csp_errors.append(text)

    def scan(self, page, run: Pass, visitor: str, name: str, *, shot: str | None = None) -> None:  # type: ignore[no-untyped-def]
        """Run axe on what ``page`` shows now; a page reached again (by a redirect) is not scanned twice."""
        path = page.url.split("#")[0].removeprefix(self.base)
        key = (run, visitor, f"{path} {name}" if name.startswith("state:") else path)
        if key in self.seen:
            return
        self.seen.add(key)
        assert page.evaluate("document.documentElement.lang") == run.lang, f"{path} is not in {run.lang}"
        if page.evaluate("typeof window.axe === 'undefined'"):
            page.add_script_tag(url=self.base + AXE_PATH)
        found = page.evaluate(
            "options => axe.run(document, options).then(r => ({violations: r.violations, incomplete: r.incomplete}))",
            AXE_OPTIONS,
        )
        self.pages += 1
        where = {"lang": run.lang, "device": run.device, "visitor": visitor, "page": name, "url": path}
        for kind, out in (("violations", self.violations), ("incomplete", self.incomplete)):
            for rule in found[kind]:
                for node in rule["nodes"]:
                    out.append(
                        where
                        | {
                            "rule": rule["id"],
                            "impact": node["impact"] or rule["impact"],
                            "target": " ".join(json.dumps(t, ensure_ascii=False) for t in node["target"]),
                            "help": rule["help"],
                            "summary": node["failureSummary"],
                        }
                    )
        if shot:
            page.screenshot(path=str(self.artifacts / f"a11y-{run.label(shot)}.png"), full_page=True)

    def by_address(self, page, run: Pass, visitor: str, values: dict[str, object]) -> None:  # type: ignore[no-untyped-def]
        for endpoint, url in page_urls(self.app, values, visitor):
            visit(page, self.base + url)
            self.scan(page, run, visitor, endpoint, shot=SCREENSHOTS.get(endpoint))

    def anonymous(self, run: Pass) -> None:
        context = self.context(run)
        page = context.new_page()
        page.goto(f"{self.base}/")
        use_language(page, run.lang)
        self.by_address(page, run, "anonymous", self.values)
        visit(page, f"{self.base}/khong-co-trang-nay", status=404)
        self.scan(page, run, "anonymous", "state: not found")
        visit(page, f"{self.base}/verify?code=CN-0000-0000", status=404)
        self.scan(page, run, "anonymous", "state: verify, no such code")
        page.goto(f"{self.base}/auth/login")
        page.fill("input[name=login]", "ts0@example.vn")
        page.fill("input[name=password]", "sai-mat-khau")
        submit(page)
        self.scan(page, run, "anonymous", "state: sign-in refused")
        page.goto(f"{self.base}/auth/register")
        submit(page)
        self.scan(page, run, "anonymous", "state: registration refused")
        context.close()

    def contestant(self, run: Pass) -> None:
        context = self.context(run)
        page = context.new_page()
        sign_in_as(page, self.base, NEWCOMER)
        use_language(page, run.lang)
        slug = self.values["slug"]
        visit(page, f"{self.base}/auth/contests/{slug}/join")
        self.scan(page, run, "newcomer", "auth.join_contest")
        submit(page)
        self.scan(page, run, "newcomer", "state: joining refused")
        visit(page, f"{self.base}/contests/{slug}")
        self.scan(page, run, "newcomer", "contest.show_contest")
        context.close()

        context = self.context(run)
        page = context.new_page()
        sign_in_as(page, self.base, run.contestant)
        use_language(page, run.lang)
        self.by_address(page, run, "contestant", self.values)
        visit(page, f"{self.base}/contests/{slug}")
        self.scan(page, run, "contestant", "contest.show_contest", shot=SCREENSHOTS["contest.show_contest"])
        self.queue(page, run)
        self.attempt(page, run)
        context.close()

    def queue(self, page, run: Pass) -> None:  # type: ignore[no-untyped-def]
        """A crowded start: someone is ahead in the queue, so starting shows the waiting page. The queue is
        then emptied, and :meth:`attempt` goes on from that page's own form ("Thử lại")."""
        round_id = self.values["round_id"]
        client, prefix = self.app.extensions["quiz_redis"], self.app.config["REDIS_KEY_PREFIX"]
        saved = {k: self.app.config[k] for k in ("ADMISSION_RATE", "ADMISSION_BURST")}
        keys = (admission.tickets_key(prefix, round_id), admission.last_key(prefix, round_id))
        client.delete(*keys)  # this contestant's ticket from earlier starts (still admitted) goes too
        self.app.config.update(ADMISSION_RATE=0.01, ADMISSION_BURST=1)  # 100 s a place: the script waits
        admission.admit(client, prefix, round_id=round_id, user_id=0, now=utcnow(), rate=0.01, burst=1)
        submit(page, f"form[action='/rounds/{round_id}/start']")
        page.locator("#queue-position").wait_for()
        self.scan(page, run, "contestant", "state: start queue, waiting")
        client.delete(*keys)
        self.app.config.update(saved)

    def attempt(self, page, run: Pass) -> None:  # type: ignore[no-untyped-def]
        """Start (from the queue's waiting page), answer, open the submit dialog; then without script,
        confirm and submit."""
        submit(page, f"form[action='/rounds/{self.values['round_id']}/start']")
        assert "/attempts/" in page.url
        page.locator("fieldset.question label.choice").first.click()
        page.locator("#save-state:not(.unsaved)").wait_for()
        self.scan(page, run, "contestant", "contest.take_attempt", shot=SCREENSHOTS["contest.take_attempt"])
        page.locator("#submit-button").click()
        page.locator("#confirm-dialog[open]").wait_for()
        self.scan(page, run, "contestant", "state: attempt, submit dialog open")
        page.locator("#confirm-no").click()
        # The paper's script fails to load: the form posts to the server, which asks to confirm.
        page.route("**/static/js/attempt.*js", lambda route: route.abort())  # any fingerprint
        page.reload()
        with page.expect_navigation():
            page.locator("#submit-button").click()
        self.scan(page, run, "contestant", "state: attempt, confirm without script")
        submit(page)
        assert page.url.endswith("/result")
        self.scan(page, run, "contestant", "contest.attempt_result", shot=SCREENSHOTS["contest.attempt_result"])

    def organizer(self, run: Pass) -> None:
        context = self.context(run)
        page = context.new_page()
        sign_in(page, self.base)
        use_language(page, run.lang)
        visit(page, f"{self.base}/organizer/banks/chuyen-doi-so")
        retire = f"form[action='/organizer/questions/{self.values['question_id']}/retire']"
        if page.locator(retire).count():  # a retired question is shown differently
            submit(page, retire)
        job_id = self.export(page, run)
        self.by_address(page, run, "organizer", self.values | {"job_id": job_id})
        visit(page, f"{self.base}/organizer/users?q=example.vn")
        self.scan(page, run, "organizer", "state: users, search results")
        visit(page, f"{self.base}/organizer/users/{self.values['user_id']}/reset")
        submit(page)
        self.scan(page, run, "organizer", "state: password reset, temporary password shown")
        visit(page, f"{self.base}/organizer/contests/{self.values['contest_id']}/rounds/new")
        page.fill("#title", "")
        submit(page, "main form.form")
        self.scan(page, run, "organizer", "state: round form refused")
        for upload, state in zip(self.uploads, ("valid", "refused"), strict=True):
            visit(page, f"{self.base}/organizer/banks/import?bank=chuyen-doi-so")
            page.set_input_files("input[type=file]", str(upload))
            submit(page)
            assert "/organizer/banks/import/" in page.url
            self.scan(page, run, "organizer", f"state: bank import preview, {state}")
        context.close()

    def export(self, page, run: Pass) -> int:  # type: ignore[no-untyped-def]
        """Ask for a leaderboard export on the contest page; scan its progress page once it is ready."""
        visit(page, f"{self.base}/organizer/contests/{self.values['contest_id']}")
        form = f"form[action='/organizer/rounds/{self.values['round_id']}/exports']"
        page.locator(f"{form} select").select_option("leaderboard")
        submit(page, form)
        assert "/organizer/exports/" in page.url
        page.locator("#export-ready").wait_for()
        self.scan(page, run, "organizer", "organizer.export_job")
        return int(page.url.rsplit("/", 1)[1])


def _world(app: Flask, round_id: int) -> dict[str, object]:
    """Ids the pages need; a certificate so its public pages render; an account not in the contest."""
    with app.app_context():
        contest = db.session.scalar(select(Contest).where(Contest.slug == demo.DEMO_CONTEST_SLUG))
        holder = db.session.scalar(select(User).where(User.email == "ts0@example.vn"))
        question_id = db.session.scalar(
            select(Question.id).join(QuestionBank).where(QuestionBank.slug == "chuyen-doi-so").order_by(Question.code)
        )
        certificate = Certificate(
            code=certificates.new_code(),
            round_id=round_id,
            user_id=holder.id,
            award="Giải Nhất",
            holder_name=holder.full_name,
            issued_at=utcnow(),
        )
        db.session.add(certificate)
        accounts.create_user(db.session, full_name="Người Mới Đến", email=NEWCOMER, password=PASSWORD, now=utcnow())
        db.session.commit()
        return {
            "slug": contest.slug,
            "contest_id": contest.id,
            "round_id": round_id,
            "question_id": question_id,
            "user_id": holder.id,
            "code": certificate.code,
        }


def _bank_files(directory: Path) -> tuple[Path, Path]:
    """A file the import accepts, and one with a refused row."""
    header = ",".join(HEADER)
    good = directory / "cau-hoi-moi.csv"
    good.write_text(f"{header}\nA11Y-1,Chung,dễ,Câu hỏi thử một?,Một,Hai,Ba,Bốn,A,Vì một.\n", encoding="utf-8")
    bad = directory / "cau-hoi-loi.csv"
    bad.write_text(
        f"{header}\nA11Y-1,Chung,dễ,Câu hỏi thử một?,Một,Hai,Ba,Bốn,A,Vì một.\n"
        "A11Y-2,Chung,khó,Câu hỏi thử hai?,Một,Hai,Ba,Bốn,Z,Không có đáp án Z.\n",
        encoding="utf-8",
    )
    return good, bad


def _report(violations: list[dict[str, object]]) -> str:
    lines = [
        f"[{v['lang']} {v['device']}] {v['url']} ({v['visitor']}, {v['page']}): {v['rule']} ({v['impact']}) "
        f"at {v['target']} — {v['help']}"
        for v in violations
    ]
    counts = Counter(f"{v['rule']} ({v['impact']})" for v in violations)
    lines.append("By rule: " + (", ".join(f"{rule}: {n}" for rule, n in counts.most_common()) or "none"))
    return "\n".join(lines)


def test_no_page_has_a_serious_accessibility_violation(  # type: ignore[no-untyped-def]
    app, browser, live_server, demo_round, artifacts, tmp_path
) -> None:
    if not AXE.exists():
        pytest.skip("axe-core is not installed: run `npm ci` (make test does)")
    app.config["WTF_CSRF_ENABLED"] = True  # the browser goes through the real forms
    started = time.monotonic()
    values = _world(app, demo_round)
    tour = Tour(app, browser, live_server, values, artifacts, _bank_files(tmp_path))
    for run in PASSES:
        tour.anonymous(run)
        tour.contestant(run)
        tour.organizer(run)
    (artifacts / "accessibility.json").write_text(
        json.dumps(
            {"pages": tour.pages, "violations": tour.violations, "incomplete": tour.incomplete},
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    if os.environ.get("QUIZ_A11Y_VERBOSE"):
        print(f"\n{tour.pages} pages scanned in {time.monotonic() - started:.1f}s\n" + _report(tour.violations))
    assert tour.pages >= 100, f"only {tour.pages} pages were scanned"
    assert tour.csp_errors == []
    failures = [v for v in tour.violations if v["impact"] in FAILING_IMPACTS]
    assert not failures, f"{len(failures)} serious or critical accessibility violations:\n" + _report(failures)
