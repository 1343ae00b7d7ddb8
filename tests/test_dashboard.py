"""The dashboard without a browser: its data layer, polling, routing, the command line and its imports."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from hpsearch import FunctionTrainer, Store, api, run_study
from hpsearch.core.errors import ConfigError
from hpsearch.show.dashboard import data
from tests.comparison_store import shared_comparison_store
from tests.conftest import study_config, toy_metrics

REPO = Path(__file__).resolve().parents[1]
XSS = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def cmp_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_comparison_store(tmp_path_factory)


@pytest.fixture
def ro(cmp_store: Path) -> Any:
    with Store.open(cmp_store, read_only=True) as store:
        yield store


def rename_study(db: Path, old: str, new: str) -> None:
    """Give a study a name the study-file rules refuse (as another tool writing the store might)."""
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(text("UPDATE hpsearch_studies SET name = :new WHERE name = :old"), {"new": new, "old": old})
    engine.dispose()


def test_overview_rows_are_the_status_lines_and_agree_with_the_study_summaries(ro: Store, cmp_store: Path) -> None:
    rows = data.overview_rows(ro)
    assert [(r.name, r.stored_state, r.best_trial, r.test_accuracy) for r in rows] == [
        (st.name, st.stored_state, st.best_trial, st.test_accuracy) for st in api.status(cmp_store)
    ]
    for row in rows:
        summary = api.study_summary(row.name, cmp_store)  # trial by trial, in Python
        assert (row.strategy, row.stored_state, row.finished, row.n_trials, row.metric) == (
            summary.study.strategy,
            summary.study.state,
            summary.finished,
            summary.study.n_trials,
            summary.study.metric,
        )
        assert (row.running, row.failed) == (summary.counts.get("RUNNING", 0), summary.counts.get("FAIL", 0))
        best = summary.best
        assert row.best_trial == (None if best is None else best.number)
        assert row.best_value == pytest.approx(best.value) if best is not None else row.best_value is None
        tested = best is not None and summary.test is not None and summary.test.trial_number == best.number
        assert row.test_accuracy == (summary.test.accuracy if tested and summary.test is not None else None)
    by_name = {r.name: r for r in rows}
    assert by_name["cmp-grid"].state == "finished"
    assert by_name["cmp-random"].failed == 1
    assert by_name["cmp-pbt"].test_accuracy is not None and by_name["cmp-partial"].test_accuracy is None
    assert [r.name for r in data.overview_rows(ro, name="cmp-tpe")] == ["cmp-tpe"]


def test_a_running_study_without_heartbeat_is_interrupted(ro: Store) -> None:
    later = time.time() + data.INTERRUPTED_AFTER_S + 60
    rows = {r.name: r for r in data.overview_rows(ro, now=later)}
    assert rows["cmp-partial"].state == "interrupted"  # RUNNING in the store, nothing heard of since
    assert rows["cmp-grid"].state == "finished"
    assert {r.name: r.state for r in data.overview_rows(ro)}["cmp-partial"] == "running"


def test_study_header_has_best_trial_and_test_accuracy(ro: Store, cmp_store: Path) -> None:
    header = data.study_header(ro, "cmp-pbt")
    best = api.best("cmp-pbt", cmp_store)
    assert best is not None and header.best_trial == best.number
    assert header.test_accuracy is not None
    assert data.study_header(ro, "cmp-empty").best_trial is None


def test_trial_rows_filter_by_state_and_range(ro: Store) -> None:
    every = data.trial_rows(ro, "cmp-random")
    assert [r["number"] for r in every] == list(range(8))
    assert {r["state"] for r in data.trial_rows(ro, "cmp-random", states=["FAIL"])} == {"FAIL"}
    narrow = data.trial_rows(ro, "cmp-random", ranges={"learning_rate": (1e-4, 1e-3)})
    assert narrow and all(1e-4 <= r["learning_rate"] <= 1e-3 for r in narrow)
    assert len(narrow) < len(every)
    assert data.trial_rows(ro, "cmp-random", optimizers=["nope"]) == []


def test_fingerprint_changes_with_the_store_only(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    run_study(study_config("random", name="fp", trials=2), str(db), trainer=FunctionTrainer(toy_metrics))
    with Store.open(db, read_only=True) as store:
        before, one = data.fingerprint(store), data.fingerprint(store, "fp")
        assert data.fingerprint(store) == before
        run_study(study_config("random", name="fp", trials=3), str(db), trainer=FunctionTrainer(toy_metrics))
        assert data.fingerprint(store) != before
        assert data.fingerprint(store, "fp") != one


def _post(client: Any, outputs: list[tuple[str, str]], inputs: list[dict[str, Any]], state: list[dict[str, Any]]) -> Any:
    body = {
        "output": ".." + "...".join(f"{i}.{p}" for i, p in outputs) + "..",
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": inputs,
        "state": state,
        "changedPropIds": [f"{inputs[0]['id']}.{inputs[0]['property']}"],
    }
    return client.post("/_dash-update-component", json=body)


def test_polling_skips_work_when_nothing_changed(tmp_path: Path) -> None:
    from hpsearch.show.dashboard import create_app
    from hpsearch.show.dashboard.app import _overview_fp

    db = tmp_path / "s.db"
    run_study(study_config("random", name="poll", trials=2), str(db), trainer=FunctionTrainer(toy_metrics))
    app = create_app(db)
    client = app.server.test_client()
    outputs = [("overview-table", "data"), ("overview-empty", "children"), ("overview-fp", "data")]
    with Store.open(db, read_only=True) as store:
        fp = json.loads(json.dumps(_overview_fp(store)))
    tick = [{"id": "overview-tick", "property": "n_intervals", "value": 1}]
    unchanged = _post(client, outputs, tick, [{"id": "overview-fp", "property": "data", "value": fp}])
    # every output no_update: nothing sent, nothing redrawn (older Dash answers 204, Dash 4 an empty response)
    assert unchanged.status_code == 204 or unchanged.get_json()["response"] == {}
    run_study(study_config("random", name="poll", trials=3), str(db), trainer=FunctionTrainer(toy_metrics))
    changed = _post(client, outputs, tick, [{"id": "overview-fp", "property": "data", "value": fp}])
    assert changed.status_code == 200
    rows = changed.get_json()["response"]["overview-table"]["data"]
    assert [(r["name"], r["finished"]) for r in rows] == [("poll", 3)]


def test_a_poll_right_after_a_filter_change_still_applies_it(tmp_path: Path) -> None:
    """Dash drops a pending request when a newer one of the same callback starts: the poll that
    follows a filter change carries the new filter, and the table must follow it."""
    from hpsearch.show.dashboard import create_app

    db = tmp_path / "s.db"
    run_study(study_config("random", name="race", trials=6), str(db), trainer=FunctionTrainer(toy_metrics))
    client = create_app(db).server.test_client()
    with Store.open(db, read_only=True) as store:
        fp = json.loads(json.dumps(list(data.fingerprint(store, "race"))))
        sgd = data.trial_page(store, "race", optimizers=["sgd"]).total
    assert 0 < sgd < 6
    outputs = [
        ("study-header", "children"),
        ("study-table", "data"),
        ("study-table", "page_count"),
        ("study-table", "page_current"),
        ("study-count", "children"),
        ("study-fp", "data"),
    ]
    every = ["WAITING", "RUNNING", "COMPLETE", "PRUNED", "FAIL"]
    shown = {"fp": fp, "filters": [every, [], [["adam", "sgd"]]], "sort": [], "page": 0}  # what the page drew
    optimizer = {"type": "choice", "param": "optimizer"}  # the choice filters (ALL): the optimizer's

    def tick(optimizers: list[str]) -> Any:
        inputs = [
            {"id": "study-version", "property": "data", "value": {"fp": fp, "at": 1.0}},
            {"id": "filter-state", "property": "value", "value": every},
            [],  # the range sliders (ALL): none moved
            [{"id": optimizer, "property": "value", "value": optimizers}],
            {"id": "study-table", "property": "page_current", "value": 0},
            {"id": "study-table", "property": "sort_by", "value": []},
        ]
        state = [
            [],
            [{"id": optimizer, "property": "id", "value": optimizer}],
            {"id": "study-name", "property": "data", "value": "race"},
            {"id": "study-fp", "property": "data", "value": shown},
        ]
        return _post(client, outputs, inputs, state)

    unchanged = tick(["adam", "sgd"])
    assert unchanged.status_code == 204 or unchanged.get_json()["response"] == {}
    response = tick(["sgd"]).get_json()["response"]  # fired by the poll, but the optimizer filter changed since the drawing
    assert response["study-count"]["children"] == f"{sgd} trial{'s' * (sgd != 1)} shown"
    assert {row["optimizer"] for row in response["study-table"]["data"]} == {"sgd"}
    assert "study-header" not in response  # the store did not change: the header stays


def test_a_polled_page_redraws_once_its_graphs_drew_the_last_version_or_after_a_while() -> None:
    from dash import no_update

    from hpsearch.show.dashboard.app import _next_version

    v1 = {"fp": [["a"], 1], "at": 100.0}
    now, patience = 105.0, 30.0
    assert _next_version([["a"], 1], v1, [[v1, None]], now, patience) is no_update  # nothing changed
    assert _next_version([["a"], 2], v1, [[v1, None], [v1, "lines"]], now, patience) == {"fp": [["a"], 2], "at": now}  # all shown
    # a graph is still drawing v1 (or drew an older version): wait, but not for ever (a lost request)
    assert _next_version([["a"], 2], v1, [[v1, None], None], now, patience) is no_update
    assert _next_version([["a"], 2], v1, [[v1, None], [{"fp": 0, "at": 1.0}, None]], now, patience) is no_update
    assert _next_version([["a"], 2], v1, [[v1, None], None], 131.0, patience) == {"fp": [["a"], 2], "at": 131.0}
    # a figure failed: drawn again after a while, even when the store did not change
    failed = [[v1, None], [v1, None, "failed"]]
    assert _next_version([["a"], 1], v1, failed, now, patience) is no_update
    assert _next_version([["a"], 1], v1, failed, 131.0, patience) == {"fp": [["a"], 1], "at": 131.0}
    assert _next_version([["a"], 1], None, [], now, patience) == {"fp": [["a"], 1], "at": now}  # nothing asked yet


def test_frames_are_read_once_for_every_graph_of_a_page_and_errors_are_not_kept() -> None:
    import threading

    import pandas as pd

    from hpsearch.show.dashboard.figures import FrameCache

    cache = FrameCache(size=2)
    reads: list[str] = []
    gate = threading.Event()

    def slow_read() -> pd.DataFrame:
        reads.append("x")
        gate.wait(5)
        return pd.DataFrame({"n": [1]})

    got: list[pd.DataFrame] = []
    threads = [threading.Thread(target=lambda: got.append(cache.get("k", slow_read))) for _ in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.2)
    gate.set()
    for thread in threads:
        thread.join(5)
    assert len(reads) == 1 and len(got) == 4 and all(frame is got[0] for frame in got)  # one read, shared

    def broken() -> pd.DataFrame:
        raise RuntimeError("server closed the connection")

    with pytest.raises(RuntimeError):
        cache.get("bad", broken)
    assert cache.get("bad", lambda: pd.DataFrame({"n": [2]}))["n"].tolist() == [2]  # the error was not kept
    cache.get("k2", slow_read)
    cache.get("k3", slow_read)  # size 2: the oldest key goes
    assert cache.get("k", lambda: pd.DataFrame({"n": [3]}))["n"].tolist() == [3]


def _post_graph(client: Any, prefix: str, key: str, inputs: list[dict[str, Any]], state: list[dict[str, Any]]) -> Any:
    """Ask the dashboard for one figure (its pattern-matching callback) as the browser does."""
    graph = {"type": f"{prefix}-graph", "key": key}
    drawn = {"type": f"{prefix}-graph-fp", "key": key}
    outputs = [{"id": graph, "property": "figure"}, {"id": drawn, "property": "data"}]
    wildcard = [{"key": ["MATCH"], "type": o["id"]["type"]} for o in outputs]  # how Dash names the callback
    names = [json.dumps(w, sort_keys=True, separators=(",", ":")) + "." + o["property"] for w, o in zip(wildcard, outputs)]
    text = ".." + "...".join(names) + ".."
    body = {"output": text, "outputs": outputs, "inputs": inputs, "state": state, "changedPropIds": [f"{inputs[0]['id']}.data"]}
    return client.post("/_dash-update-component", json=body)


def test_a_figure_of_a_study_gone_while_its_page_is_open_says_so_and_is_tried_again(tmp_path: Path) -> None:
    from hpsearch.show.dashboard import create_app

    db = tmp_path / "s.db"
    run_study(study_config("random", name="here", trials=3), str(db), trainer=FunctionTrainer(toy_metrics))
    client = create_app(db).server.test_client()
    version = {"fp": [1, 2, 3], "at": 1.0}
    inputs = [
        {"id": "study-version", "property": "data", "value": version},
        {"id": "study-parallel-mode", "property": "value", "value": "lines"},
    ]
    for name, gone in (("here", False), ("gone", True)):
        state = [
            {"id": "study-name", "property": "data", "value": name},
            {"id": {"type": "study-graph-fp", "key": "slices"}, "property": "data", "value": None},
        ]
        response = _post_graph(client, "study", "slices", inputs, state)
        assert response.status_code == 200  # never an error: a failed request would stop the page's polling
        out = response.get_json()["response"]
        figure, drawn = (
            out[json.dumps({"key": "slices", "type": "study-graph"}, separators=(",", ":"))],
            out[json.dumps({"key": "slices", "type": "study-graph-fp"}, separators=(",", ":"))],
        )
        texts = " ".join(a.get("text", "") for a in figure["figure"]["layout"].get("annotations", []))
        if gone:
            assert "no longer in" in texts and drawn["data"] == [version, None, "failed"]  # drawn again later
        else:
            assert figure["figure"]["data"] and drawn["data"] == [version, None]


def _with_auc(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
    """The toy metrics and a metric of a study's own (``val_auc``), as a trainer of one's own reports them."""
    return {**toy_metrics(params, epoch, seed), "val_auc": round(0.5 + 0.1 * epoch + params["dropout"] / 10, 6)}


def _numbers(array: Any) -> list[float]:
    """A figure's data array as the browser gets it: a list, or plotly's base64 typed array."""
    if isinstance(array, dict):
        import base64

        import numpy as np

        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).astype(float).tolist()
    return [math.nan if v is None else float(v) for v in array]


def test_learning_curves_of_a_study_scored_on_its_own_metric_are_drawn(tmp_path: Path) -> None:
    """The learning-curves callback of a study whose objective is a metric of its own draws that
    metric, the values the analysis frames hold (it raised KeyError, caught and only logged)."""
    from hpsearch.read import frames
    from hpsearch.show.dashboard import create_app

    db = tmp_path / "auc.db"
    config = study_config("random", name="auc", trials=3, objective={"metric": "val_auc", "direction": "maximize"})
    run_study(config, str(db), trainer=FunctionTrainer(_with_auc))
    client = create_app(db).server.test_client()
    version = {"fp": [1, 2, 3], "at": 1.0}
    inputs = [
        {"id": "study-version", "property": "data", "value": version},
        {"id": "study-parallel-mode", "property": "value", "value": "lines"},
    ]
    state = [
        {"id": "study-name", "property": "data", "value": "auc"},
        {"id": {"type": "study-graph-fp", "key": "learning-curves"}, "property": "data", "value": None},
    ]
    response = _post_graph(client, "study", "learning-curves", inputs, state)
    assert response.status_code == 200
    out = response.get_json()["response"]
    figure = out[json.dumps({"key": "learning-curves", "type": "study-graph"}, separators=(",", ":"))]["figure"]
    drawn = out[json.dumps({"key": "learning-curves", "type": "study-graph-fp"}, separators=(",", ":"))]["data"]
    assert drawn == [version, None]  # not marked as failed
    assert figure["layout"]["title"]["text"].startswith("Learning curves")
    drawn_values = sorted(y for trace in figure["data"] for y in _numbers(trace["y"]) if not math.isnan(y))
    assert drawn_values == pytest.approx(sorted(frames.epochs_frame(db, "auc")["val_auc"]))
    assert len(drawn_values) == 3 * 2
    # the page's thinning keeps the chosen trials' epochs of the same frame, own metric included
    from hpsearch.show.dashboard import figures

    whole = frames.epochs_frame(db, "auc")
    with Store.open(db, read_only=True) as store:
        some = figures.curve_epochs(store, [store.study("auc")], {"auc": {0, 2}})
    assert some.equals(whole[whole["number"].isin([0, 2])].reset_index(drop=True))


def test_pages_render_and_names_stay_text(tmp_path: Path) -> None:
    from dash import html

    from hpsearch.show.dashboard.app import render_page
    from hpsearch.show.dashboard.pages import study_href

    db = tmp_path / "s.db"
    run_study(study_config("random", name="xss", trials=2), str(db), trainer=FunctionTrainer(toy_metrics))
    rename_study(db, "xss", XSS)
    with Store.open(db, read_only=True) as store:
        page = render_page(store, study_href(XSS), "", 1000)
        title = _find(page, "study-title")
        assert isinstance(title, html.H2) and title.children == XSS  # a text child: escaped by React
        overview = render_page(store, "/", "", 1000)
        table = _find(overview, "overview-table")
        assert table.markdown_options["html"] is False
        cell = table.data[0]["study"]
        assert "<script>" not in cell and "\\<script\\>" in cell
        assert _find(render_page(store, "/study/nope", "", 1000), "not-found") is not None
        assert _find(render_page(store, "/compare", "?studies=" + XSS, 1000), "compare-pick").value == [XSS]


def _find(component: Any, ident: str) -> Any:
    if getattr(component, "id", None) == ident:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found = _find(child, ident)
            if found is not None:
                return found
    return None


def test_dashboard_never_writes_the_store(tmp_path: Path) -> None:
    from hpsearch.show.dashboard.app import create_app, render_page

    db = tmp_path / "s.db"
    run_study(study_config("random", name="ro", trials=2), str(db), trainer=FunctionTrainer(toy_metrics))
    before = db.read_bytes()
    app = create_app(db)
    with Store.open(db, read_only=True) as store:
        for path in ("/", "/study/ro", "/compare"):
            render_page(store, path, "", 1000)
    assert app.server.config["HPSEARCH_STORE"] == str(db.resolve())
    assert db.read_bytes() == before
    assert not (tmp_path / "missing.db").exists()


def _hpsearch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hpsearch", *args], capture_output=True, text=True, cwd=REPO, timeout=120)


def test_cli_missing_or_bad_store_fails_in_one_line(tmp_path: Path) -> None:
    missing = _hpsearch("dashboard", "--store", str(tmp_path / "missing.db"))
    assert missing.returncode == 1
    assert missing.stderr.strip().count("\n") == 0 and missing.stderr.startswith("hpsearch: error: no store at")
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    bad = _hpsearch("dashboard", "--store", str(junk))
    assert bad.returncode == 1 and "is not an hpsearch store" in bad.stderr and bad.stderr.strip().count("\n") == 0
    assert not (tmp_path / "missing.db").exists()


def test_cli_binds_localhost_by_default() -> None:
    from hpsearch.cli import build_parser

    args = build_parser().parse_args(["dashboard"])
    assert (args.host, args.port) == ("127.0.0.1", 8050)


def test_hpsearch_and_other_commands_do_not_import_dash(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    run_study(study_config("random", name="quiet", trials=1), str(db), trainer=FunctionTrainer(toy_metrics))
    code = (
        "import sys, hpsearch, hpsearch.cli, hpsearch.show.dashboard, hpsearch.dashboard_cli\n"
        f"hpsearch.cli.main(['status', '--store', {str(db)!r}])\n"
        "assert 'dash' not in sys.modules, 'dash imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "quiet" in result.stdout and "finished" in result.stdout  # the state as the dashboard says it


@pytest.fixture
def paged_store(store_url: str) -> str:
    """A random study of 60 trials, every seventh one failed (no value), on every backend."""
    from hpsearch.store import schema as s

    run_study(study_config("random", name="paged", trials=60, epochs=1), store_url, trainer=FunctionTrainer(toy_metrics))
    with Store.open(store_url) as store, store._write() as conn:
        conn.execute(s.trials.update().where(s.trials.c.number % 7 == 0).values(state="FAIL", value=None))
    return store_url


EXACT = {"number", "state", "width", "optimizer", "epochs", "attempt"}
SORTABLE = ["number", "state", "width", "dropout", "optimizer", "learning_rate", "value", "epochs", "seconds", "attempt"]


@pytest.mark.parametrize("column", SORTABLE)
def test_trial_page_sorts_in_the_store_with_empty_cells_last(paged_store: str, column: str) -> None:
    with Store.open(paged_store, read_only=True) as store:
        every = data.trial_rows(store, "paged")
        for direction in ("asc", "desc"):
            sort_by = [{"column_id": column, "direction": direction}]
            pages = [data.trial_page(store, "paged", sort_by=sort_by, page=p, page_size=25) for p in range(3)]
            assert [(pg.page, pg.page_count, pg.total) for pg in pages] == [(0, 3, 60), (1, 3, 60), (2, 3, 60)]
            shown = [r for pg in pages for r in pg.rows]
            assert sorted(r["number"] for r in shown) == [r["number"] for r in every]  # each trial once
            present = [r for r in shown if r[column] is not None]
            # sorted, empty cells last; exact columns break ties by trial number (rounded
            # cells such as value or seconds are sorted on their stored, unrounded values)
            values = [r[column] for r in present]
            assert values == sorted(values, reverse=direction == "desc")
            if column in EXACT:
                expected = sorted(present, key=lambda r: r["number"])
                expected.sort(key=lambda r: r[column], reverse=direction == "desc")
                assert [r["number"] for r in present] == [r["number"] for r in expected]
            assert all(r[column] is None for r in shown[len(present) :])
            assert len(present) == sum(r[column] is not None for r in every)
    assert column != "value" or len(present) == 60 - 9  # trials 0, 7, ..., 56 failed


def test_trial_page_filters_in_the_store_and_clamps_the_page(paged_store: str) -> None:
    with Store.open(paged_store, read_only=True) as store:
        every = data.trial_rows(store, "paged")
        filters = {"states": ["COMPLETE"], "ranges": {"learning_rate": (1e-4, 1e-3), "width": (32, 64)}, "optimizers": ["adam"]}
        wanted = [
            r["number"]
            for r in every
            if r["state"] == "COMPLETE" and 1e-4 <= r["learning_rate"] <= 1e-3 and 32 <= r["width"] <= 64 and r["optimizer"] == "adam"
        ]
        assert 0 < len(wanted) < 30
        page = data.trial_page(store, "paged", **filters, page=0, page_size=5)
        assert page.total == len(wanted) and page.shown_text == f"{len(wanted)} trial{'s' * (len(wanted) != 1)} shown"
        last = data.trial_page(store, "paged", **filters, page=99, page_size=5)  # past the end: the last page
        assert last.page == page.page_count - 1 and [r["number"] for r in last.rows] == wanted[5 * last.page :]
        assert [r["number"] for r in data.trial_rows(store, "paged", **filters)] == wanted
        assert data.trial_page(store, "paged", optimizers=["nope"]).rows == []
        assert data.trial_page(store, "paged", optimizers=["nope"]).page_count == 1


def test_large_studies_are_sampled_and_drawn_with_webgl(cmp_store: Path) -> None:
    import pandas as pd

    from hpsearch.read import frames
    from hpsearch.show import plots
    from hpsearch.show.dashboard import figures

    trials = frames.trials_frame(cmp_store, ["cmp-random"])
    many = pd.concat([trials.assign(number=trials["number"] + 100 * i) for i in range(500)], ignore_index=True)
    sample, dropped = figures.sample_results(many, 300)
    assert (sample["final"].sum(), dropped) == (300, many["final"].sum() - 300)
    best = plots.best_trial_numbers(many)["cmp-random"]
    assert best in set(sample["number"])
    fig = figures.webgl(plots.slice_figure(many), above=1000)
    assert isinstance(fig, dict) and {t["type"] for t in fig["data"]} == {"scattergl"}
    small = plots.slice_figure(trials)
    assert figures.webgl(small) is small
    chosen, left_out = figures.curve_trials(many, 50)
    assert len(chosen["cmp-random"]) >= 50 and left_out == len(many) - len(chosen["cmp-random"])


def test_page_figures_by_key_with_either_parallel_coordinates(ro: Store) -> None:
    from hpsearch.show.dashboard import figures

    assert figures.study_figure_keys("pbt") == figures.STUDY_FIGURES + figures.PBT_FIGURES
    drawn = figures.study_figures(ro, "cmp-pbt")
    assert list(drawn) == list(figures.study_figure_keys("pbt"))
    # SVG lines by default (no WebGL without a GPU on a live page), WebGL parcoords on request
    assert {t.type for t in drawn["parallel"].data} == {"scatter"}
    (only,) = figures.study_figures(ro, "cmp-pbt", parallel_mode="webgl", only={"parallel"}).values()
    assert [t.type for t in only.data] == ["parcoords"]
    compared = figures.compare_figures(ro, ["cmp-grid", "cmp-tpe"], parallel_mode="webgl")
    assert list(compared) == list(figures.COMPARE_FIGURES) and compared["parallel"].data[0].type == "parcoords"
    with pytest.raises(ValueError, match="'3d': must be one of lines, webgl"):
        figures.study_figures(ro, "cmp-grid", parallel_mode="3d")
    # an evolution study shows its lineage, a study with early stopping where its trials stopped
    evolution = figures.study_figures(ro, "cmp-evolution")
    assert list(evolution) == [*figures.STUDY_FIGURES, "evolution-lineage"] and len(evolution["evolution-lineage"].data) >= 3
    hyperband = figures.study_figures(ro, "cmp-hyperband")
    assert list(hyperband) == [*figures.STUDY_FIGURES, "rungs"] and all(t.type == "bar" for t in hyperband["rungs"].data)


def test_the_data_layer_reads_every_backend(store_url: str) -> None:
    """Overview, fingerprint, header, table and figures from a store on SQLite and on PostgreSQL
    (when the machine has one: ``.ci/run`` starts it)."""
    from hpsearch.show.dashboard import figures

    run_study(study_config("pbt", name="pg-pbt", epochs=2), store_url, trainer=FunctionTrainer(toy_metrics))
    run_study(study_config("random", name="pg-random", trials=5), store_url, trainer=FunctionTrainer(toy_metrics))
    with Store.open(store_url, read_only=True) as store:
        rows = {r.name: r for r in data.overview_rows(store)}
        assert (rows["pg-random"].finished, rows["pg-random"].state, rows["pg-pbt"].strategy) == (5, "finished", "pbt")
        fp = data.fingerprint(store, "pg-random")
        assert json.loads(json.dumps(fp)) == json.loads(json.dumps(data.fingerprint(store, "pg-random")))  # plain values
        header = data.study_header(store, "pg-pbt")
        assert header.best_trial is not None and header.row.finished == 8
        page = data.trial_page(store, "pg-pbt", sort_by=[{"column_id": "generation", "direction": "desc"}], page_size=4)
        assert page.total == 8 and [r["generation"] for r in page.rows] == [1, 1, 1, 1]
        drawn = figures.study_figures(store, "pg-pbt")
        assert list(drawn) == list(figures.study_figure_keys("pbt")) and all(len(f.data) for f in drawn.values())
        assert set(figures.compare_figures(store, ["pg-pbt", "pg-random"])) == set(figures.COMPARE_FIGURES)


def test_best_so_far_is_thinned_without_changing_the_line(cmp_store: Path) -> None:
    import numpy as np
    import pandas as pd

    from hpsearch.read import frames
    from hpsearch.show.dashboard import figures

    trials = frames.trials_frame(cmp_store, ["cmp-random", "cmp-tpe"])
    many = pd.concat([trials.assign(number=trials["number"] + 100 * i) for i in range(200)], ignore_index=True)
    curve = frames.best_so_far(many)
    thin, dropped = figures.thin_best_so_far(curve, 100)
    for study, group in curve.groupby("study"):
        kept = thin[thin["study"] == study]
        assert len(kept) <= 100 + group["improved"].sum()
        assert set(group.index[group["improved"]]) <= set(kept.index) and group.index[-1] in kept.index
        # the step line: the best value at every completion of the full curve, read off the thinned one
        at = np.searchsorted(kept["cum_epochs"].to_numpy(), group["cum_epochs"].to_numpy(), side="right") - 1
        known = at >= 0
        assert np.array_equal(kept["best"].to_numpy()[at[known]], group["best"].to_numpy()[known], equal_nan=True)
    assert dropped == len(curve) - len(thin) > 0
    small, none = figures.thin_best_so_far(frames.best_so_far(trials))
    assert none == 0 and small.equals(frames.best_so_far(trials))


TOKEN = "team-token-Zq9"


def _request(url: str, *, auth: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, bytes, Any]:
    """The status, body and headers of a GET (a POST of JSON with ``body``) of ``url``; ``auth``: its Authorization."""
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json"} if body is not None else {}
    if auth is not None:
        headers["Authorization"] = auth
    data_ = None if body is None else json.dumps(body).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data_, headers=headers), timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers


def test_cli_serves_beyond_this_machine_with_waitress_and_answers_401_without_the_token(tmp_path: Path) -> None:
    import base64

    from tests.dashboard_server import free_port

    db = tmp_path / "s.db"
    run_study(study_config("random", name="served", trials=1), str(db), trainer=FunctionTrainer(toy_metrics))
    secret = tmp_path / "token"
    secret.write_text(TOKEN + "\n")
    secret.chmod(0o600)
    port = free_port()
    command = ["dashboard", "--store", str(db), "--host", "0.0.0.0", "--port", str(port), "--auth-file", str(secret)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hpsearch", *command],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    basic = "Basic " + base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    route = {  # the callback that draws a page: Dash's callback endpoint
        "output": "page.children",
        "outputs": {"id": "page", "property": "children"},
        "inputs": [{"id": "url", "property": "pathname", "value": "/"}, {"id": "url", "property": "search", "value": ""}],
        "changedPropIds": ["url.pathname"],
        "state": [],
    }
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()
            try:
                status, _, headers = _request(base + "/_dash-layout")
                break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.2)
        assert status == 401 and headers["WWW-Authenticate"].startswith("Basic ")
        for path in (
            "/",
            "/study/served",
            "/_dash-dependencies",
            "/_reload-hash",
            "/_dash-component-suites/dash/dcc/dash_core_components.js",
        ):
            assert _request(base + path)[0] == 401, path
        assert _request(base + "/_dash-update-component", body=route)[0] == 401
        for wrong in ("Basic " + base64.b64encode(b"anyone:team-token").decode(), "Bearer nope", "Basic !!", TOKEN):
            assert _request(base + "/", auth=wrong)[0] == 401, wrong
        status, page, headers = _request(base + "/", auth=basic)
        assert status == 200 and b"hpsearch dashboard" in page and headers["Server"] == "hpsearch"  # waitress, not Werkzeug
        assert _request(base + "/_dash-layout", auth=f"Bearer {TOKEN}")[0] == 200
        status, answer, _ = _request(base + "/_dash-update-component", auth=basic, body=route)
        assert status == 200 and b"served" in answer
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert f"at http://0.0.0.0:{port}/" in out and out.count("\n") == 1
    assert "development server" not in out + err and TOKEN not in out + err


def test_cli_refuses_a_host_beyond_this_machine_without_a_token_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hpsearch.cli import main
    from hpsearch.show.dashboard.auth import is_loopback

    assert all(map(is_loopback, ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost", "LOCALHOST"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "", "10.0.0.5", "example.org", "::ffff:10.0.0.5"]))
    monkeypatch.delenv("HPSEARCH_DASHBOARD_TOKEN", raising=False)
    missing = str(tmp_path / "missing.db")  # refused before the store is opened: exit 2, not the store's 1

    def refused(*args: str) -> str:
        with pytest.raises(SystemExit) as exit_:
            main(["dashboard", "--store", missing, *args])
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and err.count("\n") == 1 and TOKEN not in err, err
        return err

    for host in ("0.0.0.0", "::", "example.org"):
        assert refused("--host", host) == (
            f"hpsearch: error: --host = {host!r}: serving beyond this machine needs a token: --auth-file FILE or "
            "$HPSEARCH_DASHBOARD_TOKEN (never on the command line)\n"
        )
    assert "unrecognized arguments: --token" in refused("--host", "0.0.0.0", "--token", "VALUE")  # no such option
    secret = tmp_path / "token"
    for content, mode, why in [
        (TOKEN, 0o644, "must be readable by its owner only (chmod 600"),
        ("", 0o600, "is empty"),
        (f"{TOKEN}\nmore", 0o600, "must hold one line"),
        ("short", 0o600, "the token must be at least 8 characters"),
    ]:
        secret.write_text(content)
        secret.chmod(mode)
        assert refused("--host", "0.0.0.0", "--auth-file", str(secret)).startswith(f"hpsearch: error: --auth-file = {str(secret)!r}: {why}")
    assert "cannot be read" in refused("--auth-file", str(tmp_path / "nope"))
    monkeypatch.setenv("HPSEARCH_DASHBOARD_TOKEN", "short")
    assert refused("--host", "0.0.0.0").startswith("hpsearch: error: $HPSEARCH_DASHBOARD_TOKEN = '(hidden)': the token must be")


def test_cli_serves_loopback_without_a_token_and_honours_one_given(
    cmp_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hpsearch.cli import main
    from hpsearch.show.dashboard import app

    real_serve = app.serve
    served: list[dict[str, Any]] = []
    monkeypatch.setattr(app, "serve", lambda store, **kw: served.append(kw))
    monkeypatch.delenv("HPSEARCH_DASHBOARD_TOKEN", raising=False)
    assert main(["dashboard", "--store", str(cmp_store)]) == 0
    monkeypatch.setenv("HPSEARCH_DASHBOARD_TOKEN", TOKEN)
    assert main(["dashboard", "--store", str(cmp_store), "--host", "0.0.0.0", "--port", "9000"]) == 0
    secret = tmp_path / "token"
    secret.write_text(f"  {TOKEN}-file\n")
    secret.chmod(0o600)
    assert main(["dashboard", "--store", str(cmp_store), "--host", "::1", "--auth-file", str(secret)]) == 0  # the file first
    assert [(kw["host"], kw["port"], kw["token"]) for kw in served] == [
        ("127.0.0.1", 8050, None),
        ("0.0.0.0", 9000, TOKEN),
        ("::1", 8050, f"{TOKEN}-file"),
    ]
    with pytest.raises(ConfigError, match="needs a token"):
        real_serve(cmp_store, host="0.0.0.0")  # the Python API refuses it too
