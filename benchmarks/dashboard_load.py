#!/usr/bin/env python
"""Load time of the dashboard's overview and study pages on a store of 10,000 trials.

Builds (once, cached at ``--store``; or into the empty database at ``--url``) a
store holding one random-search study of ``--trials`` finished trials with
``--epochs`` epochs each (rows inserted in bulk through the store's tables; the
toy objective gives the values) and four small studies, then measures,
``--repeats`` times each:

* server: the time to build a page in the dashboard process: the overview; the
  study page's shell (header and trial table, sent at once); and its figures
  (learning curves, parallel coordinates, slices), read and drawn from scratch;
* browser: headless Debian Chromium (Playwright), from ``page.goto`` to the
  overview table filled, to the study page's trial table shown, and to the plot
  traces of every figure of the study page drawn: with the study's trials read
  afresh (as after a change in the store) and again unchanged (read once, shared);
  the study page in a new browser profile (first visit: nothing cached); and the
  time from a click on "interactive" to the WebGL parallel coordinates drawn.

Medians (with min and max) are printed. The goal of issue 5 is under 2 s for
each page. ``--study small-random`` loads an 8-trial study instead (what does
not depend on the store); ``--screenshot`` saves the study page (docs/dashboard.png).

Run from the repository root::

    python benchmarks/dashboard_load.py
    python benchmarks/dashboard_load.py --trials 10000 --epochs 3 --repeats 5
    python benchmarks/dashboard_load.py --url postgresql+psycopg://postgres@127.0.0.1:54329/bench
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from hpsearch import FunctionTrainer, Store, StudyState, parse_study, run_study  # noqa: E402
from hpsearch.store import schema as s  # noqa: E402
from tests.conftest import study_config, toy_metrics  # noqa: E402
from tests.dashboard_server import chromium, served  # noqa: E402

BIG = "big-random"
DRAWN = ".js-plotly-plot :is(g.trace, g.parcoords)"


def build_store(path: Path | str, trials: int, epochs: int, seed: int = 0) -> None:
    """One study of ``trials`` finished trials (bulk-inserted) and four small ones (run normally),
    in the SQLite file ``path`` (replaced) or the empty database at the SQLAlchemy URL ``path``."""
    if isinstance(path, Path):
        for stale in path.parent.glob(path.name + "*"):
            stale.unlink()
    config = parse_study(
        {
            "strategy": "random",
            "seed": seed,
            "budget": {"trials": trials, "epochs": epochs},
            "space": {
                "width": {"low": 32, "high": 512, "log": True},
                "dropout": {"low": 0.0, "high": 0.5},
                "optimizer": ["adam", "adamw", "sgd", "rmsprop", "nadam"],
                "learning_rate": {"low": 1e-4, "high": 1e-2},
            },
        },
        default_name=BIG,
    )
    rng = random.Random(seed)
    with Store.open(path) as store:
        study = store.create_study(config, n_trials=trials)
        t0 = time.time() - trials * 2.0
        trial_rows, epoch_rows = [], []
        for n in range(trials):
            params = {
                "width": round(math.exp(rng.uniform(math.log(32), math.log(512)))),
                "dropout": rng.uniform(0.0, 0.5),
                "optimizer": rng.choice(["adam", "adamw", "sgd", "rmsprop", "nadam"]),
                "learning_rate": math.exp(rng.uniform(math.log(1e-4), math.log(1e-2))),
            }
            start = t0 + 2.0 * n
            metrics = [toy_metrics(params, e, n) for e in range(1, epochs + 1)]
            trial_rows.append(
                {
                    "study_id": study.id,
                    "number": n,
                    "state": "COMPLETE",
                    "params": params,
                    "seed": n,
                    "epochs": epochs,
                    "attempt": 1,
                    "value": metrics[-1]["val_accuracy"],
                    "epochs_done": epochs,
                    "worker_id": "bench",
                    "host": "bench",
                    "pid": 1,
                    "created_at": start,
                    "started_at": start,
                    "finished_at": start + 1.5,
                    "heartbeat_at": start + 1.5,
                    "start_epoch": 0,
                }
            )
            for e, m in enumerate(metrics, start=1):
                epoch_rows.append({"number": n, "attempt": 1, "epoch": e, **m, "seconds": 0.5, "recorded_at": start + 0.5 * e})
        with store._write() as conn:
            conn.execute(s.trials.insert(), trial_rows)
            found = conn.execute(select(s.trials.c.number, s.trials.c.id).where(s.trials.c.study_id == study.id))
            ids = {number: trial_id for number, trial_id in found}
            for row in epoch_rows:
                row["trial_id"] = ids[row.pop("number")]
            conn.execute(s.epochs.insert(), epoch_rows)
        store.set_study_state(study.id, StudyState.COMPLETE)
    for strategy in ("grid", "random", "tpe", "pbt"):
        run_study(study_config(strategy, name=f"small-{strategy}", trials=8, epochs=2), str(path), trainer=FunctionTrainer(toy_metrics))


def server_times(path: Path | str, repeats: int, study: str = BIG) -> dict[str, list[float]]:
    """Seconds to build each page in the dashboard process: the overview; the study page's
    shell (header and trial table); and its figures (the study page's first callback)."""
    from hpsearch.show.dashboard import data, figures
    from hpsearch.show.dashboard.app import render_page

    out: dict[str, list[float]] = {"overview": [], "study": [], "figures": []}
    with Store.open(path, read_only=True) as store:
        for _ in range(repeats):
            for key, url in (("overview", "/"), ("study", f"/study/{study}")):
                start = time.perf_counter()
                render_page(store, url, "", 2000)
                out[key].append(time.perf_counter() - start)
            start = time.perf_counter()
            data.fingerprint(store, study)
            data.study_header(store, study)
            data.trial_page(store, study)
            figures.study_figures(store, study)
            out["figures"].append(time.perf_counter() - start)
    return out


def _load_study(page: Any, base: str, study: str) -> tuple[float, float]:
    """Seconds from ``page.goto`` of the big study's page to its trial table shown, and to every figure drawn."""
    start = time.perf_counter()
    page.goto(f"{base}/study/{study}")
    page.wait_for_selector("#study-table td[data-dash-column=number]")
    table = time.perf_counter() - start
    for graph in ("learning-curves", "parallel", "slices"):
        page.wait_for_selector(f"#study-{graph} {DRAWN}", state="attached")
    return table, time.perf_counter() - start


def browser_times(store: Any, repeats: int, study: str = BIG, screenshot: Path | None = None) -> dict[str, list[float]]:
    """Seconds, in headless Chromium, from ``page.goto`` to: the overview table filled; the study
    page's trial table shown; every figure of the study page drawn; and, after a click on
    "interactive", the WebGL parallel coordinates drawn. One browser tab, as a person uses it
    (the scripts are cached after the first, uncounted, round). Also the study page in a new
    browser profile each time (``first visit``: nothing cached, plotly.js fetched and compiled)."""
    out: dict[str, list[float]] = {
        "overview": [],
        "study": [],
        "figures": [],
        "figures, cached": [],
        "webgl parallel": [],
        "first visit": [],
    }
    apps: list[Any] = []
    with served(store, poll_interval=60.0, apps=apps) as base, chromium() as browser:
        frames = apps[0].server.extensions["hpsearch_frames"]
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        page = context.new_page()
        page.set_default_timeout(60_000)
        for i in range(repeats + 1):
            start = time.perf_counter()
            page.goto(base + "/")
            page.wait_for_selector("#overview-table td[data-dash-column=study] a")
            overview = time.perf_counter() - start
            frames.clear()  # as after a change in the store: the study's trials are read again
            table, drawn = _load_study(page, base, study)
            _, cached = _load_study(page, base, study)  # the same page again, nothing changed: the trials frame is shared
            start = time.perf_counter()
            page.get_by_label("interactive", exact=False).check()
            page.wait_for_selector("#study-parallel g.parcoords", state="attached")
            webgl = time.perf_counter() - start
            if screenshot is not None and i == 0:  # the study page as drawn (SVG parallel coordinates), top 1800 pixels
                page.get_by_label("lines", exact=False).check()
                page.wait_for_timeout(1500)
                page.screenshot(path=str(screenshot), clip={"x": 0, "y": 0, "width": 1400, "height": 1800}, full_page=True)
            if i:
                for key, value in zip(out, (overview, table, drawn, cached, webgl)):
                    out[key].append(value)
        context.close()
        for _ in range(repeats):
            frames.clear()
            fresh = browser.new_context(viewport={"width": 1400, "height": 900})
            page = fresh.new_page()
            page.set_default_timeout(60_000)
            out["first visit"].append(_load_study(page, base, study)[1])
            fresh.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--store", type=Path, default=Path("/tmp/hpsearch-dashboard-bench/store.db"), help="the SQLite file (built once, kept)"
    )
    parser.add_argument("--trials", type=int, default=10_000, help="trials of the big study (default 10000)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per trial (default 3)")
    parser.add_argument("--repeats", type=int, default=5, help="loads per measure (default 5; medians are printed)")
    parser.add_argument("--url", help="an SQLAlchemy URL of an empty database to use instead of --store (e.g. PostgreSQL)")
    parser.add_argument("--study", default=BIG, help=f"the study page to load (default {BIG}; small-random has 8 trials)")
    parser.add_argument("--screenshot", type=Path, help="save a picture of the study page there (docs/dashboard.png)")
    parser.add_argument("--rebuild", action="store_true", help="build the store even if it exists")
    parser.add_argument("--no-browser", action="store_true", help="server-side times only")
    args = parser.parse_args(argv)

    store: Path | str = args.store
    if args.url:  # e.g. PostgreSQL: built once into an empty database
        store = args.url
        with Store.open(store) as opened:
            built = BIG in {st.name for st in opened.studies()}
        if not built:
            build_store(store, args.trials, args.epochs)
    else:
        args.store.parent.mkdir(parents=True, exist_ok=True)
        marker = args.store.with_suffix(f".{args.trials}x{args.epochs}.built")
        if args.rebuild or not marker.exists():
            start = time.perf_counter()
            build_store(args.store, args.trials, args.epochs)
            marker.write_text("ok")
            print(f"built {args.store}: {args.trials} trials x {args.epochs} epochs in {time.perf_counter() - start:.1f} s")
    results: dict[str, dict[str, list[float]]] = {"server": server_times(store, args.repeats, args.study)}
    if not args.no_browser:
        results["browser"] = browser_times(store, args.repeats, args.study, args.screenshot)
    with Store.open(store, read_only=True) as opened:
        print(f"\n{args.trials} trials in {BIG} (+4 small studies) in {opened.label}; study page of {args.study}")
    print(f"median of {args.repeats} loads, seconds")
    print(f"{'measure':<10} {'page':<16} {'median':>8} {'min':>8} {'max':>8}")
    for where, times in results.items():
        for page_name, values in times.items():
            print(f"{where:<10} {page_name:<16} {statistics.median(values):>8.3f} {min(values):>8.3f} {max(values):>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
