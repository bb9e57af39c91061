"""The console in a real headless Chromium against the real system: the four services through
real Kafka and PostgreSQL, the console on a real port, every step through the pages a person uses.

A site user signs in, screens a subject (after a date the API refuses, shown in plain words next
to the field), enters her CA-125 values, sees the plot and the prediction, randomizes her after
the confirmation step, records a baseline scan and then a progression, corrects the baseline;
a statistician finds her in the CONSORT counts and the Kaplan-Meier figure (with the at-risk
table and a data cut-off); a user of another site cannot see her. Screenshots of the main pages
go to .local/test-output/console/ (copies in docs/console/ illustrate the README).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import math
import os
import shutil
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
import time_machine
import uvicorn
from axe_playwright_python.async_playwright import Axe
from harness import ELIGIBLE_FACTS, Platform, start_platform
from playwright.async_api import Browser, Page, async_playwright, expect

from rescue_console.app import create_app
from rescue_console.settings import ConsoleSettings
from rescue_shared.clock import today_in
from rescue_shared.testing import auth, eventually

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[4]
SHOTS = REPO / ".local" / "test-output" / "console"
K = 0.05  # her CA-125 elimination rate (/day): standardized KELIM 1.35, favourable
# Two cores shared with the rest of the suite: a page that calls four services may take a while.
expect.set_options(timeout=15_000)


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("RESCUE_REQUIRE_CHROMIUM") == "1":
            pytest.fail("RESCUE_REQUIRE_CHROMIUM=1 and no chromium: apt-get install chromium")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def console_serving(platform: Platform) -> AsyncIterator[str]:
    """The console on a real port, calling the in-process services."""
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=platform[name].app) for name in platform.services}
    app = create_app(ConsoleSettings(dev_sign_in=True), transports=transports)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None,
                                           access_log=False, lifespan="on"))
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "console did not start"
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = chromium()
    async with async_playwright() as p:
        launched = await p.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            await launched.close()


# axe-core's findings on every page photographed, reported together at the end of the journey.
ACCESSIBILITY: dict[str, list[str]] = {}


async def shot(page: Page, name: str) -> None:
    """Save the page's screenshot and check it with axe-core (WCAG 2 A/AA rules)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    results = await Axe().run(page, options={
        "resultTypes": ["violations"],
        "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})
    violations = [f"{v['id']} ({v['impact']}): {v['help']} — "
                  f"{[n['target'] for n in v['nodes']][:3]}"
                  for v in results.response["violations"]]
    if violations:
        ACCESSIBILITY[name] = violations


async def reload_until(page: Page, ready: Callable[[], Awaitable[bool]], what: str,
                       timeout: float = 60) -> None:
    """Events take a moment between services: reload (as a person would) until `ready`."""
    deadline = time.monotonic() + timeout
    while not await ready():
        assert time.monotonic() < deadline, f"{what} not shown within {timeout}s"
        await asyncio.sleep(0.5)
        await page.reload()


async def image_loaded(page: Page, selector: str) -> None:
    """The figure the console proxies from a service has arrived and decoded in the browser."""
    await page.wait_for_function(
        "s => { const i = document.querySelector(s); "
        "return i && i.complete && i.naturalWidth > 0 }",
        arg=selector, timeout=20_000)


async def sign_in(browser: Browser, base: str, site: str, *roles: str) -> Page:
    page = await (await browser.new_context(base_url=base, viewport={"width": 1280,
                                                                     "height": 900})).new_page()
    await page.goto("/sign-in")
    await page.fill("#in-site_id", site)
    for role in ("site_user", "investigator", "statistician", "monitor", "admin"):
        await page.set_checked(f"#role-{role}", role in roles)
    await page.click("form[action='/sign-in/dev'] button[type=submit]")
    await expect(page.locator(".who")).to_contain_text(", ".join(roles))
    return page


async def screen_her(page: Page, subject_id: str, today: dt.date) -> None:
    await page.goto("/screening/new")
    await page.fill("#in-subject_id", subject_id)
    for name, value in ELIGIBLE_FACTS.items():
        field = page.locator(f"#in-{name}")
        if await field.evaluate("e => e.tagName") == "SELECT":
            await field.select_option(str(value).lower() if isinstance(value, bool) else value)
        else:
            await field.fill(str(value))
    # A date the API refuses: said in plain words next to the field, nothing saved.
    await page.fill("#in-screening_date", (today + dt.timedelta(days=3)).isoformat())
    await page.click("form.facts button[type=submit]")
    await expect(page.locator("#err-screening_date")).to_contain_text("must not be in the future")
    await expect(page.locator("#problem")).to_contain_text(
        "Nothing was saved. Please correct: Screening date")
    assert "{" not in await page.locator("#problem").inner_text()  # never raw JSON
    await shot(page, "02-screening-form-error")
    await page.fill("#in-screening_date", (today - dt.timedelta(days=2)).isoformat())
    await page.click("form.facts button[type=submit]")
    await expect(page.locator("h1")).to_have_text(f"Subject {subject_id}")


async def other_site_randomizes_until_both_arms(platform: Platform, her_arm: str,
                                                today: dt.date) -> int:
    """Site S03 enrols through the API (as a hospital system would) until the other arm has a
    subject too: the analysis compares two arms. Returns how many S03 randomized."""
    s03 = auth("S03", "site_user")
    start = today - dt.timedelta(days=60)
    for n in range(1, 13):
        subject_id = f"S03-{uuid.uuid4().hex[:6]}"
        screening = await platform["eligibility"].client.post("/v1/screenings", headers=s03, json={
            "subject_id": subject_id, "screening_date": (today - dt.timedelta(days=2)).isoformat(),
            "facts": ELIGIBLE_FACTS})
        assert screening.status_code == 201, screening.text
        values = await platform["prediction"].client.post(
            f"/v1/subjects/{subject_id}/ca125", headers=s03, json={
                "chemotherapy_start_date": start.isoformat(), "measurements": [
                    {"date": (start + dt.timedelta(days=d)).isoformat(),
                     "value": round(900 * math.exp(-K * d), 1), "unit": "U/mL"}
                    for d in (0, 14, 28, 42)]})
        assert values.status_code in (201, 202), values.text

        async def randomizable(subject_id: str = subject_id) -> bool:
            candidate = await platform["randomization"].client.get(
                f"/v1/candidates/{subject_id}", headers=s03)
            return candidate.status_code == 200 and candidate.json()["randomizable"]

        await eventually(randomizable, timeout=60, description=f"{subject_id} randomizable")
        allocation = await platform["randomization"].client.post(
            "/v1/randomizations", headers=s03, json={
                "subject_id": subject_id, "consent_confirmed": True,
                "planned_maintenance": "parp_inhibitor"})
        assert allocation.status_code == 201, allocation.text
        if allocation.json()["arm"] != her_arm:
            return n
    raise AssertionError("twelve allocations in one arm")


# One engine is enough here (every service's own tests cover both): the deployment's.
@pytest.mark.parametrize("database_urls", ["postgresql"], indirect=True)
async def test_a_subject_from_screening_to_progression_through_the_console(
    kafka_bootstrap: str, topic_namespace: str, database_urls: dict[str, str], browser: Browser,
) -> None:
    subject_id = f"S01-{uuid.uuid4().hex[:6]}"
    ACCESSIBILITY.clear()
    async with (start_platform(kafka_bootstrap, topic_namespace, database_urls) as platform,
                console_serving(platform) as base):
        today = today_in(platform["randomization"].settings.trial_timezone)

        page = await (await browser.new_context(base_url=base)).new_page()
        await page.goto("/")
        await expect(page.locator("h1")).to_have_text("Sign in")
        await shot(page, "01-sign-in")

        # Site staff: screening, with every criterion and its reason.
        site = await sign_in(browser, base, "S01", "site_user", "investigator")
        await screen_her(site, subject_id, today)
        criteria = site.locator("table.data").first
        await expect(criteria).to_contain_text("INC-04")
        await expect(criteria).to_contain_text("age 57 years >= 19 years")
        await expect(site.locator("dl.status")).to_contain_text("eligible")
        await shot(site, "03-subject-screening")

        # CA-125: four values falling at K; the plot, the prediction and its explanation.
        await site.click("text=CA-125 and prediction")
        start = today - dt.timedelta(days=60)
        await site.fill("#in-chemotherapy_start_date", start.isoformat())
        for i, day in enumerate((0, 14, 28, 42)):
            await site.fill(f"#in-date-{i}", (start + dt.timedelta(days=day)).isoformat())
            await site.fill(f"#in-value-{i}", f"{900 * math.exp(-K * day):.1f}")
        await site.click("form[action$='/ca125'] button[type=submit]")
        await expect(site.locator(".notice")).to_contain_text("4 value(s) recorded")

        async def predicted() -> bool:
            return await site.locator(".verdict").count() > 0

        await reload_until(site, predicted, "the prediction")
        await expect(site.locator(".verdict")).to_contain_text("highly likely complete resection")
        await expect(site.locator("dl.figures")).to_contain_text("Half-life")
        await expect(site.locator("#kelim-points")).to_contain_text("used")
        await image_loaded(site, "#ca125-plot")
        # The lab's day-42 value was mistyped: corrected with its reason, the earlier one kept.
        await site.click("text=Correct a recorded value")
        await site.select_option("#in-correction-date", (start + dt.timedelta(days=42)).isoformat())
        await site.fill("#in-correction-value", "110.5")
        await site.fill("#in-correction-reason", "transcription error in the laboratory report")
        await site.click("form[action$='/ca125/correction'] button[type=submit]")
        await expect(site.locator(".notice")).to_contain_text("corrected")
        await expect(site.locator("table", has_text="Corrections")).to_contain_text(
            "transcription error in the laboratory report")
        await expect(site.locator(".verdict")).to_contain_text("highly likely complete resection")
        await shot(site, "04-ca125-prediction")

        # Randomization: offered once she is randomizable; consent, then a confirmation step.
        await site.click("text=Randomization")

        async def randomizable() -> bool:
            return await site.locator("#in-planned_maintenance").count() > 0

        await reload_until(site, randomizable, "the randomization form")
        await site.click("form[action$='/randomization/confirm'] button[type=submit]")
        await expect(site.locator("#err-consent_confirmed")).to_contain_text("informed consent")
        await site.check("#in-consent_confirmed")
        await site.select_option("#in-planned_maintenance", "parp_inhibitor")
        await site.click("form[action$='/randomization/confirm'] button[type=submit]")
        await expect(site.locator("form.confirm")).to_contain_text("PARP inhibitor")
        await site.click("#confirm-randomization")
        await expect(site.locator("#allocation")).to_be_visible()
        number = await site.locator("#randomization-number").inner_text()
        arm = await site.locator("#arm").inner_text()
        assert arm in ("SCS_CHEMO", "CHEMO") and number
        await shot(site, "05-randomized")
        await site.reload()
        await expect(site.locator("#allocation")).to_have_count(0)  # announced once
        await expect(site.locator("dl.figures")).to_contain_text(number)

        others = await other_site_randomizes_until_both_arms(platform, arm, today)

        # Follow-up: a baseline scan, then new lesions (progression); a correction with reason.
        await site.click("text=Follow-up")

        async def registered() -> bool:
            return await site.locator("#form-recist").count() > 0

        await reload_until(site, registered, "follow-up registration")
        await site.click("#form-recist summary")
        await site.fill("#in-recist-date", today.isoformat())
        await site.fill("#in-recist-target_lesion_sum_mm", "50")
        await site.click("#form-recist button[type=submit]")
        await expect(site.locator(".notice")).to_contain_text("RECIST 1.1 assessment recorded")
        await site.click("#records >> text=Correct")
        await site.fill("#in-recist-target_lesion_sum_mm", "52")
        await site.fill("#in-recist-correction_reason", "x")
        await site.click("#form-recist button[type=submit]")
        await expect(site.locator("#err-recist-correction_reason")).to_contain_text(
            "at least 3 words")
        await site.fill("#in-recist-correction_reason", "misread the radiology report")
        await site.click("#form-recist button[type=submit]")
        await expect(site.locator(".notice")).to_contain_text("corrected")

        # Three months later (the wall clock only; broker and databases are the real ones), the
        # next scan shows new lesions. The 8-hour session has ended meanwhile: sign in again.
        with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=91), tick=True):
            later = today_in(platform["randomization"].settings.trial_timezone)
            await later_in_the_trial(browser, base, subject_id, arm, today, later, others)
    assert ACCESSIBILITY == {}, "\n".join(
        f"{page}: {finding}" for page, findings in ACCESSIBILITY.items() for finding in findings)


async def later_in_the_trial(browser: Browser, base: str, subject_id: str, arm: str,
                             randomized_on: dt.date, today: dt.date, others: int) -> None:
    site = await sign_in(browser, base, "S01", "site_user", "investigator")
    await site.goto(f"/subjects/{subject_id}/followup")
    await site.click("#form-recist summary")
    await site.fill("#in-recist-date", (today - dt.timedelta(days=1)).isoformat())
    await site.fill("#in-recist-target_lesion_sum_mm", "52")
    await site.select_option("#in-recist-new_lesions", "true")
    await site.click("#form-recist button[type=submit]")
    await expect(site.locator("#pfs-status")).to_contain_text("Event: progression")
    await expect(site.locator("#records")).to_contain_text("misread the radiology report")
    await shot(site, "06-followup")

    await site.goto("/worklist")
    row = site.locator("#worklist tbody tr", has_text=subject_id)
    await expect(row).to_contain_text(arm)
    await expect(row).to_contain_text("progression")
    await shot(site, "00-worklist")

    # Another site sees nothing of her.
    other = await sign_in(browser, base, "S02", "site_user", "investigator")
    await expect(other.locator("main")).not_to_contain_text(subject_id)
    response = await other.goto(f"/subjects/{subject_id}")
    assert response is not None and response.status == 404
    await expect(other.locator(".problem")).to_contain_text(f"Subject {subject_id} not found")
    await shot(other, "09-other-site")

    # The statistician: CONSORT counts, the Kaplan-Meier figure, the at-risk table.
    team = await sign_in(browser, base, "", "statistician")
    await expect(team.locator("h1")).to_have_text("Trial overview")
    await expect(team.locator("#balance-h")).to_be_visible()
    await shot(team, "07-trial-overview")
    await team.click("text=Accrual by site over time")
    await expect(team.locator("#accrual-title")).to_have_count(1)
    await expect(team.locator("#accrual-by-site")).to_contain_text("S01")
    await shot(team, "12-accrual")
    await team.goto("/trial/consort")
    await expect(team.locator("#consort-randomized")).to_have_text(str(1 + others))
    await image_loaded(team, "#consort-diagram")
    await shot(team, "08-consort")
    await team.goto("/trial/pfs")
    arms = team.locator("#pfs-arms")
    # Her progression is the only event of the trial.
    await expect(arms.locator(f"#arm-{arm} .events")).to_have_text("1")
    await expect(team.locator("#at-risk")).to_contain_text(arm)
    await image_loaded(team, "#km-figure")
    # A data cut-off before her randomization: she is not in the analysis.
    await team.fill("#cutoff", (randomized_on - dt.timedelta(days=1)).isoformat())
    await team.click("form.inline-form button[type=submit]")
    await expect(team.locator("#cutoff")).to_have_value(
        (randomized_on - dt.timedelta(days=1)).isoformat())
    await expect(team.locator("#pfs-arms")).to_have_count(0)
    await expect(team.locator(".problem")).to_be_visible()
    await team.goto("/trial/pfs")
    await shot(team, "10-pfs")
    async with team.expect_download() as download:
        await team.click("text=Download the ADTTE")
    adtte = await (await download.value).path()
    assert subject_id in await asyncio.to_thread(Path(adtte).read_text)

    # A monitor: every service's audit chain verified (where the service keeps one).
    monitor = await sign_in(browser, base, "", "monitor")
    await monitor.goto("/trial/audit")
    await expect(monitor.locator("#audit-status tr", has_text="randomization")).to_contain_text(
        "Valid")
    await shot(monitor, "11-audit")
    await monitor.goto("/trial/dead-letters")
    await expect(monitor.locator("#dead-letters")).to_contain_text("none")

    # Her investigator finds the allocation was made in error: a reason is required, in words.
    await site.goto(f"/subjects/{subject_id}/randomization")
    await site.click("text=Mark this allocation as made in error")
    await site.fill("#in-invalidation-reason", "wrong")
    await site.click("form[action$='/invalidation'] button[type=submit]")
    await expect(site.locator("#err-invalidation-reason")).to_be_visible()
    await site.fill("#in-invalidation-reason", "prior malignancy found in the source documents")
    await site.click("form[action$='/invalidation'] button[type=submit]")
    await expect(site.locator(".notice")).to_contain_text("made in error")
    await expect(site.locator("dl.figures")).to_contain_text("invalidated")
