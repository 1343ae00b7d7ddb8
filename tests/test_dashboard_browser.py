"""The dashboard in a real browser: headless Debian Chromium driven by Playwright.

Each test serves the dashboard of a store it builds (toy objective, no TensorFlow)
on a free port of 127.0.0.1 and keeps a screenshot of each page in
``test-artifacts/``. Skipped, with the reason, where ``/usr/bin/chromium`` or
Playwright is missing; ``.ci/run`` installs both.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hpsearch import FunctionTrainer, Store, run_study
from tests.comparison_store import build_comparison_store
from tests.conftest import study_config, toy_metrics
from tests.dashboard_server import CHROMIUM, chromium, served
from tests.test_dashboard import XSS, rename_study

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no browser: {CHROMIUM} is missing (apt-get install chromium)")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')")

TRACE = ".js-plotly-plot .trace"
#: a drawn trace of any kind (parallel coordinates draw ``g.parcoords``, not ``g.trace``)
DRAWN = ".js-plotly-plot :is(g.trace, g.parcoords)"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.dialogs = []  # any alert() would be a script run from a study name
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.set_default_timeout(20_000)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The comparison store (a study of every strategy) plus a study named like a script."""
    db = build_comparison_store(tmp_path_factory.mktemp("dash") / "store.db")
    run_study(study_config("random", name="xss", trials=3), str(db), trainer=FunctionTrainer(toy_metrics))
    rename_study(db, "xss", XSS)
    return db


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def cell(page: Any, study: str, column: str) -> str:
    """The text of one cell of the overview table: the row of ``study``, the column with id ``column``."""
    row = page.locator("#overview-table tr", has=page.locator("td[data-dash-column=study]", has_text=study))
    return str(row.locator(f"td[data-dash-column={column}]").inner_text()).strip()


def test_overview_lists_studies_and_shows_script_names_as_text(store: Path, page: Any) -> None:
    with served(store) as url:
        page.goto(url + "/")
        page.wait_for_selector("#overview-table td[data-dash-column=study] a")
        links = page.eval_on_selector_all("#overview-table td[data-dash-column=study] a", "els => els.map(e => e.textContent)")
        assert links == ["cmp-grid", "cmp-random", "cmp-tpe", "cmp-pbt", "cmp-evolution", "cmp-hyperband", "cmp-empty", "cmp-partial", XSS]
        assert cell(page, "cmp-grid", "state") == "finished"
        assert cell(page, "cmp-grid", "finished") == "8"
        assert cell(page, "cmp-random", "failed") == "1"
        assert page.get_by_text(XSS, exact=True).is_visible()
        assert page.evaluate("document.querySelectorAll('#overview-table script').length") == 0
        # sortable: a click on a header sorts by it
        page.click("#overview-table th[data-dash-column=finished] .column-header--sort")
        page.wait_for_timeout(300)
        shot(page, "dashboard-overview.png")
        # a study page of the script-named study shows the name as its title
        page.get_by_text(XSS, exact=True).click()
        page.wait_for_selector("#study-title")
        assert page.inner_text("#study-title") == XSS
        assert page.dialogs == []


def test_a_dashboard_with_a_token_answers_401_without_it_and_works_with_it(store: Path, browser: Any, page: Any) -> None:
    token = "team-token-Zq9"
    with served(store, token=token) as url:
        try:
            response = page.goto(url + "/")
            refused = response is not None and response.status == 401
        except playwright.Error as err:  # headless Chromium cancels the password prompt of a 401
            refused = "ERR_INVALID_AUTH_CREDENTIALS" in str(err)
        assert refused and page.locator("#overview-table").count() == 0
        context = browser.new_context(http_credentials={"username": "anyone", "password": token})
        try:
            allowed = context.new_page()
            statuses: list[int] = []
            allowed.on("response", lambda r: statuses.append(r.status) if "/_dash-update-component" in r.url else None)
            assert allowed.goto(url + "/").status == 200
            # the table is drawn by Dash's callbacks: each answered with the credentials
            allowed.wait_for_selector("#overview-table td[data-dash-column=study] a", timeout=20_000)
            assert allowed.get_by_text(XSS, exact=True).is_visible()  # still shown as text
            assert statuses and set(statuses) <= {200, 204}
            # the same callback and layout asked for by the page without the credentials: refused
            ask = "async ([path, body]) => (await fetch(path, {method: body ? 'POST' : 'GET', credentials: 'omit', body})).status"
            assert allowed.evaluate(ask, ["/_dash-update-component", '{"output": "page.children"}']) == 401
            assert allowed.evaluate(ask, ["/_dash-layout", None]) == 401
        finally:
            context.close()


def test_study_page_renders_plots_and_filters_trials(store: Path, page: Any) -> None:
    with served(store) as url:
        page.goto(url + "/")
        page.click("#overview-table a:text-is('cmp-pbt')")
        page.wait_for_url("**/study/cmp-pbt")
        page.wait_for_selector(TRACE)
        for graph in ("learning-curves", "parallel", "slices", "pbt-schedule", "pbt-lineage"):
            page.wait_for_selector(f"#study-{graph} {DRAWN}", state="attached")
        assert page.inner_text("#study-trials") == "12 / 12"
        assert page.inner_text("#study-test") != "not evaluated yet"
        assert page.inner_text("#study-count") == "12 trials shown"
        assert page.locator("#study-parallel g.parcoords").count() == 0  # SVG lines by default
        # a log-scale slider says values, not exponents: its tooltip transform is served, it has no typed bounds
        assert page.evaluate("window.dccFunctions.hpsearchPow10(-3)") == 0.001
        assert page.get_by_text("learning_rate (log scale)").is_visible()
        shot(page, "dashboard-study.png")
        page.get_by_label("interactive", exact=False).check()  # brushing: WebGL parcoords, drawn on request
        page.wait_for_selector("#study-parallel g.parcoords", state="attached")
        assert page.locator("#study-learning-curves g.trace").count() > 0  # the other figures stay

        page.goto(url + "/study/cmp-random")
        page.wait_for_selector(TRACE)
        assert page.inner_text("#study-count") == "8 trials shown"
        page.locator("#filter-state label", has_text="COMPLETE").click()  # uncheck COMPLETE: only the FAIL trial is left
        page.wait_for_function("document.querySelector('#study-count').textContent === '1 trial shown'")
        assert page.locator("#study-table td[data-dash-column=state]").all_inner_texts() == ["FAIL"]


def test_compare_page_draws_the_figures_side_by_side(store: Path, page: Any) -> None:
    with served(store) as url:
        page.goto(url + "/compare?studies=cmp-grid,cmp-tpe,cmp-pbt")
        page.wait_for_selector(f"#compare-best-so-far {TRACE}")
        for graph in ("best-so-far", "distribution", "parallel", "slices", "learning-curves"):
            page.wait_for_selector(f"#compare-{graph} {DRAWN}", state="attached")
        boxes = [page.locator(f"#compare-{g}").bounding_box() for g in ("best-so-far", "distribution")]
        assert boxes[0] and boxes[1] and boxes[0]["y"] == boxes[1]["y"]  # side by side
        page.wait_for_timeout(500)
        shot(page, "dashboard-compare.png")


def _start_study(db: Path, name: str, trials: int, epochs: int, delay: float, allowed: Path | None = None) -> subprocess.Popen[str]:
    """The study of ``tests/slow_study.py`` in a background process (paced by the file ``allowed`` when given)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.slow_study", str(db), name, str(trials), str(epochs), str(delay), *([str(allowed)] * bool(allowed))],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_study(db: Path, name: str, proc: subprocess.Popen[str], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if db.exists():
            try:
                with Store.open(db, read_only=True) as s:
                    s.study(name)
                    return
            except Exception:  # not created yet
                pass
        time.sleep(0.1)
    raise AssertionError(f"{name} did not appear in {db}")


def _finish(proc: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 0, err
    assert "locked" not in err.lower() and "Traceback" not in err, err
    return out, err


#: How many trials the learning curves of the study page draw (distinct trial numbers of its points).
CURVES = """(() => {
  const plot = document.querySelector('#study-learning-curves .js-plotly-plot');
  const numbers = new Set();
  for (const trace of (plot && plot.data) || []) for (const row of trace.customdata || []) if (row && row[1] != null) numbers.add(row[1]);
  return numbers.size;
})()"""


def test_trial_count_rises_on_the_page_without_reload(tmp_path: Path, page: Any) -> None:
    db = tmp_path / "live.db"
    allowed = tmp_path / "allowed"  # how many trials the study may start: the test paces it
    allowed.write_text("2")
    proc = _start_study(db, "live", trials=8, epochs=2, delay=0.1, allowed=allowed)
    finished = (
        "() => { const c = document.querySelector('#overview-table td[data-dash-column=finished]');"
        " return c && c.innerText.trim() === '%s'; }"
    )
    try:
        _wait_for_study(db, "live", proc)
        with served(db, poll_interval=0.5) as url:
            page.goto(url + "/")
            page.wait_for_function(finished % "2", timeout=30_000)
            assert cell(page, "live", "state") == "running"
            page.evaluate("window.__not_reloaded = true")
            allowed.write_text("5")
            page.wait_for_function(finished % "5", timeout=30_000)  # the count rose on the page
            assert page.evaluate("window.__not_reloaded") is True
            # the study page follows it too, to the end: table, header and figures
            page.click("#overview-table a:text-is('live')")
            page.wait_for_selector(f"#study-learning-curves {TRACE}")
            page.evaluate("window.__not_reloaded = true")
            assert page.evaluate(CURVES) == 5 and page.inner_text("#study-trials") == "5 / 8"
            allowed.write_text("8")
            page.wait_for_function("document.querySelector('#study-trials').textContent === '8 / 8'", timeout=60_000)
            page.wait_for_function("document.querySelector('#study-state').textContent === 'finished'", timeout=10_000)
            page.wait_for_function(f"({CURVES}) === 8", timeout=10_000)  # the figures followed, without a reload
            assert page.inner_text("#study-count") == "8 trials shown"
            assert page.evaluate("window.__not_reloaded") is True
            shot(page, "dashboard-live-study.png")
        _finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_study_running_while_pages_poll_every_second_finishes_without_error(tmp_path: Path, browser: Any) -> None:
    """Three pages poll the store every second while a study writes an epoch every 50 ms."""
    db = tmp_path / "busy.db"
    proc = _start_study(db, "busy", trials=30, epochs=5, delay=0.05)
    try:
        _wait_for_study(db, "busy", proc)
        with served(db, poll_interval=1.0) as url:
            context = browser.new_context()
            pages = [context.new_page() for _ in range(3)]
            for pg, path in zip(pages, ["/", "/study/busy", "/compare?studies=busy"]):
                pg.goto(url + path)
            out, _err = _finish(proc)
            assert "busy: 30/30 finished, states ['COMPLETE']" in out
            pages[1].wait_for_function("document.querySelector('#study-trials').textContent === '30 / 30'", timeout=15_000)
            context.close()
        with Store.open(db, read_only=True) as s:
            trials = s.trials(s.study("busy").id)
        assert len(trials) == 30 and all(t.state.value == "COMPLETE" and t.attempt == 1 and t.error is None for t in trials)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
