"""Studies of a toy function over hyperparameters of its own names: every reader of the store
(frames, figures, report, export, terminal tables, dashboard) works from the declared dimensions."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import hpsearch
from hpsearch import Store
from hpsearch.cli import main
from hpsearch.read import frames
from hpsearch.show import plots
from hpsearch.show.dashboard import data, figures, pages
from hpsearch.show.export import _one_type_per_column, export_frame, export_trials
from hpsearch.show.report import best_table_html, write_report
from hpsearch.show.tables import best_text, trial_table
from hpsearch.train.trainer import FunctionTrainer
from tests.conftest import study_config, toy_metrics

SPACE: dict[str, Any] = {
    "alpha": {"low": 0.0, "high": 1.0},
    "steps": {"low": 1, "high": 9},
    "rate": {"low": 1e-4, "high": 1e-1, "log": True},
    "pool": ["max", "avg"],
    "warm": [True, False],
}
NAMES = list(SPACE)
BUILTIN = ["width", "dropout", "optimizer", "learning_rate"]
STUDIES = {"any-random": "random", "any-pbt": "pbt", "any-evolution": "evolution"}


def toy(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
    quality = (
        1.0
        - 0.3 * abs(params["alpha"] - 0.3)
        - 0.02 * abs(params["steps"] - 5)
        - 0.1 * abs(math.log10(params["rate"]) + 2)
        - (0.05 if params["pool"] == "avg" else 0.0)
        - (0.02 if params["warm"] else 0.0)
    )
    return {"val_accuracy": max(0.0, quality * (1.0 - 0.5**epoch))}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("any-names") / "s.db")
    docs: dict[str, dict[str, Any]] = {
        "any-random": {"budget": {"trials": 8, "epochs": 2}},
        "any-pbt": {"pbt": {"population": 4, "ready": 1, "epochs": 3}},
        "any-evolution": {"budget": {"trials": 8, "epochs": 2}, "evolution": {"population": 4}},
    }
    for name, extra in docs.items():
        config = hpsearch.parse_study({"name": name, "strategy": STUDIES[name], "seed": 3, "space": SPACE, **extra})
        hpsearch.run_study(config, path, trainer=FunctionTrainer(toy))
    hpsearch.run_study(study_config("random", name="builtin", trials=3), path, trainer=FunctionTrainer(toy_metrics))
    return path


@pytest.fixture(scope="module")
def trials(db: str) -> pd.DataFrame:
    return frames.trials_frame(db, "any-random")


def _stored(db: str, name: str) -> list:
    with Store.open(db, read_only=True) as store:
        return store.trials(store.study(name).id)


# ------------------------------------------------------------------ frames


def test_the_trials_frame_has_a_column_per_declared_name(db: str, trials: pd.DataFrame) -> None:
    assert list(trials.columns) == list(frames.trial_columns(NAMES))
    assert list(frames.trial_columns()) == list(frames.TRIAL_COLUMNS)
    rows = trials.set_index("number")
    for t in _stored(db, "any-random"):
        assert {k: rows.loc[t.number, k] for k in NAMES} == t.params
    dims = frames.frame_dimensions(trials)
    assert list(dims) == NAMES and dims["rate"]["log"] and dims["pool"]["kind"] == "Choice"
    assert list(frames.frame_dimensions(frames.best_so_far(trials))) == NAMES
    # several studies: every name in order of first appearance, empty where a study has none
    both = frames.trials_frame(db, ["any-random", "builtin"])
    assert list(both.columns) == list(frames.trial_columns(NAMES + BUILTIN))
    assert both.loc[both["study"] == "builtin", "alpha"].isna().all()
    assert both.loc[both["study"] == "any-random", "width"].isna().all()
    assert list(frames.best_trials_frame(db, ["builtin", "any-pbt"]).columns[6:15]) == BUILTIN + NAMES
    # PBT segments and evolution trials carry the names too
    schedule = frames.pbt_schedule("any-pbt", db)
    assert set(NAMES) <= set(schedule.columns) and schedule[NAMES].notna().all().all()
    assert set(NAMES) <= set(frames.evolution_lineage("any-evolution", db).columns)
    imp = frames.param_importance(db, "any-random")
    assert imp.dimensions == tuple(NAMES) and set(imp.importances) <= set(NAMES)


def test_a_stored_space_rebuilds_exactly(db: str) -> None:
    with Store.open(db, read_only=True) as store:
        space = frames.study_space(store.study("any-random"))
    assert list(space) == NAMES
    assert type(space["alpha"]).__name__ == "FloatRange" and type(space["steps"]).__name__ == "IntRange"


# ------------------------------------------------------------------ figures


def _hovers_name_every_dimension(fig: Any) -> None:
    templates = [t.hovertemplate for t in fig.data if t.hovertemplate]
    assert templates
    for template in templates:
        for name in NAMES:
            assert f"{name} %{{customdata[" in template, (name, template)


def test_every_figure_draws_the_declared_dimensions(db: str, trials: pd.DataFrame) -> None:
    for fig in (plots.best_so_far_figure(frames.best_so_far(trials)), plots.distribution_figure(trials)):
        assert not plots.is_empty(fig)
        _hovers_name_every_dimension(fig)
    (parcoords,) = plots.parallel_figure(trials).data
    labels = [d.label for d in parcoords.dimensions]
    assert labels == ["alpha", "steps", "rate (log10)", "pool", "warm", "validation accuracy (%)"]
    final = frames.final_results(trials)
    dims = {d.label: d for d in parcoords.dimensions}
    assert list(dims["rate (log10)"].values) == pytest.approx(list(final["rate"].map(math.log10)))
    assert [dims["pool"].ticktext[int(v)] for v in dims["pool"].values] == list(final["pool"])
    lines = plots.parallel_lines_figure(trials)
    assert list(lines.layout.xaxis.ticktext)[:5] == ["alpha", "steps", "rate<br>(log10)", "pool", "warm"]
    slices = plots.slice_figure(trials)
    assert [slices.layout[f"xaxis{i or ''}"].title.text for i in (0, 2, 3, 4, 5)] == NAMES
    assert slices.layout.xaxis3.type == "log" and slices.layout.xaxis4.type == "category" and slices.layout.xaxis5.type == "category"
    assert slices.layout.xaxis.type is None and slices.layout.xaxis2.type is None  # linear ranges
    assert len(slices.data) == len(NAMES)
    _hovers_name_every_dimension(slices)
    curves = plots.learning_curves_data(trials, frames.epochs_frame(db, "any-random"))
    assert set(NAMES) <= set(curves.columns)
    _hovers_name_every_dimension(plots.learning_curves_figure(curves))
    importance = plots.importance_figure([frames.param_importance(db, "any-random")])
    assert importance.data and list(importance.data[0].x) == [n for n in NAMES if n in importance.data[0].x]


def test_pbt_and_evolution_figures_use_the_declared_scales(db: str) -> None:
    schedule = frames.pbt_schedule("any-pbt", db)
    steps = plots.schedule_steps(schedule)
    assert list(steps.columns[3:8]) == NAMES
    fig = plots.pbt_schedule_figure(schedule, study="any-pbt")
    axes = {k: (v["title"]["text"], v.get("type")) for k, v in fig.layout.to_plotly_json().items() if k.startswith("yaxis")}
    varying = [n for n in NAMES if schedule[n].astype(str).nunique() > 1]  # one panel per hyperparameter that changes
    assert [title for title, _ in axes.values()] == varying and "rate" in varying
    kinds = {"alpha": None, "steps": None, "rate": "log", "pool": "category", "warm": "category"}
    assert all(kind == kinds[title] for title, kind in axes.values())
    _hovers_name_every_dimension(fig)
    best = plots.best_trial_numbers(frames.trials_frame(db, "any-pbt"))["any-pbt"]
    lineage = plots.pbt_lineage_figure(schedule, study="any-pbt", best_trial=best)
    (nodes,) = [t for t in lineage.data if t.mode == "markers"]
    assert all(f"{name} %{{customdata[" in nodes.hovertemplate for name in NAMES)
    evolution = plots.evolution_lineage_figure(frames.evolution_lineage("any-evolution", db), study="any-evolution")
    (dots,) = [t for t in evolution.data if t.mode == "markers"]
    assert all(f"<br>{name} %{{customdata[" in dots.hovertemplate for name in NAMES)


def test_figures_of_a_custom_and_a_builtin_study_together(db: str) -> None:
    both = frames.trials_frame(db, ["any-random", "builtin"])
    slices = plots.slice_figure(both)
    titles = [slices.layout[f"xaxis{i or ''}"].title.text for i in (0, *range(2, 10))]
    assert titles == [*NAMES, *(plots.PARAM_LABELS[h] for h in BUILTIN)]
    assert slices.layout.xaxis9.type == "log" and slices.layout.xaxis8.type == "category"
    assert len(slices.data) == len(NAMES) + len(BUILTIN)  # each study only where it has the dimension
    assert sum(bool(t.showlegend) for t in slices.data) == 2
    labels = [a.label for a in plots.parallel_axes(frames.final_results(both), ["any-random", "builtin"])]
    assert labels[:7] == ["study", "alpha", "steps", "rate (log10)", "pool", "warm", plots.PARAM_LABELS["width"]]
    assert not plots.is_empty(plots.parallel_lines_figure(both))


# ------------------------------------------------------------------ report, export, terminal


def test_the_report_tables_and_draws_every_name(db: str, tmp_path: Path) -> None:
    page = write_report(db, list(STUDIES), tmp_path / "r.html").read_text(encoding="utf-8")
    table = best_table_html(frames.best_trials_frame(db, list(STUDIES)))
    assert all(f"<th>{name}</th>" in table for name in NAMES) and "<th>width</th>" not in table
    assert table in page
    assert all(f'"{name}' in page for name in NAMES)  # axis titles and hovers in the figures' data


def test_the_exports_have_a_column_per_name(db: str, tmp_path: Path) -> None:
    out = export_trials(db, "any-random", "csv", tmp_path / "t.csv")
    frame = pd.read_csv(out)
    assert list(frame.columns) == list(frames.trial_columns(NAMES))
    stored = {t.number: t.params for t in _stored(db, "any-random")}
    for row in frame.to_dict("records"):
        assert row["pool"] == stored[row["number"]]["pool"] and row["steps"] == stored[row["number"]]["steps"]
    per_epoch = export_frame(db, "any-pbt", metrics=True)
    assert list(per_epoch.columns[:9]) == ["study", "strategy", "number", "trial_state", *NAMES]
    records = json.loads(export_trials(db, "any-pbt", "json", tmp_path / "t.json").read_text())
    assert {k for r in records for k in NAMES} == set(NAMES) and {type(r["warm"]) for r in records} == {bool}
    assert pd.read_parquet(export_trials(db, "any-evolution", "parquet", tmp_path / "t.parquet"))["warm"].dtype == bool
    mixed = pd.DataFrame({"number": [0, 1, 2], "feat": ["auto", 0.5, None], "rate": [0.1, 0.2, None]})
    one_type = _one_type_per_column(mixed)  # a Parquet column holds one type: a mixed choice as text, missing values kept
    assert one_type["feat"].tolist()[:2] == ["auto", "0.5"] and pd.isna(one_type["feat"].iloc[2])
    assert one_type["rate"].tolist()[:2] == [0.1, 0.2]


def test_terminal_tables_show_every_name(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    trials_ = _stored(db, "any-random")
    header = trial_table(trials_, "val_accuracy").splitlines()[0].split()
    assert header == ["trial", "state", *NAMES, "val_accuracy", "epochs", "seconds"]  # without train_seconds: the wall time
    timed = trial_table(trials_, "val_accuracy", train_seconds={t.number: 1.0 for t in trials_})
    assert timed.splitlines()[0].split()[-5:] == ["epochs", "train", "s", "wall", "s"] and "train s: the trial's own epochs" in timed
    assert trial_table([], names=NAMES).splitlines()[0].split()[2:7] == NAMES
    best = max(trials_, key=lambda t: t.value or 0)
    assert [line.split(" = ")[0].strip() for line in best_text("any-random", best, "val_accuracy", None).splitlines()[1:]] == NAMES
    assert main(["trials", "any-pbt", "--store", db]) == 0
    assert main(["best", "any-evolution", "--store", db]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split()[5:10] == NAMES and all(f"  {name} = " in printed for name in NAMES)


# ------------------------------------------------------------------ dashboard


def test_the_dashboard_table_sorts_and_filters_by_any_name(db: str) -> None:
    with Store.open(db, read_only=True) as store:
        rows = data.trial_rows(store, "any-random")
        assert [list(r)[2:7] for r in rows] == [NAMES] * 8
        assert {r["warm"] for r in rows} <= {"true", "false"}
        kept = data.trial_rows(store, "any-random", choices={"pool": ["max"]}, ranges={"steps": (1, 5)})
        assert kept and all(r["pool"] == "max" and r["steps"] <= 5 for r in kept) and len(kept) < len(rows)
        by_rate = data.trial_page(store, "any-random", sort_by=[{"column_id": "rate", "direction": "desc"}]).rows
        assert [r["rate"] for r in by_rate] == sorted((r["rate"] for r in rows), reverse=True)
        by_pool = data.trial_page(store, "any-random", sort_by=[{"column_id": "pool", "direction": "asc"}]).rows
        assert [r["pool"] for r in by_pool] == sorted(r["pool"] for r in rows)
        header = data.study_header(store, "any-random")
        page = pages.study_page(header, data.trial_page(store, "any-random"), ["slices"], {"fp": [], "at": 0.0}, 1000)
        (table,) = _find(page, lambda c: getattr(c, "id", None) == "study-table")
        columns = {c["id"]: c.get("type") for c in table.columns}
        assert list(columns)[2:7] == NAMES and columns["steps"] == "numeric" and columns["pool"] is None
        dropdowns = _find(page, lambda c: isinstance(getattr(c, "id", None), dict) and c.id.get("type") == "choice")
        assert [d.id["param"] for d in dropdowns] == ["pool"] and dropdowns[0].options == ["max", "avg"]
        assert set(pages.slider_ranges(frames.study_space(header.study))) == {"alpha", "steps", "rate"}
        for name in STUDIES:
            drawn = figures.study_figures(store, name)
            assert drawn and not any(plots.is_empty(f) for f in drawn.values() if not isinstance(f, dict))
        compared = figures.compare_figures(store, ["any-random", "builtin"])
        assert not plots.is_empty(compared["slices"]) and not plots.is_empty(compared["parallel"])


def test_the_dashboard_filters_the_table_by_a_choice(db: str) -> None:
    from hpsearch.show.dashboard.app import _filters

    filters = _filters(None, [], [], [["avg"]], [pages.choice_id("pool")])
    assert filters["choices"] == {"pool": ["avg"]}
    with Store.open(db, read_only=True) as store:
        rows = data.trial_page(store, "any-random", **filters).rows
    assert rows and {r["pool"] for r in rows} == {"avg"}


def _find(component: Any, match: Any) -> list[Any]:
    """Every Dash component under ``component`` (itself included) that ``match`` holds for."""
    found = [component] if match(component) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children] if children is not None else []:
        if hasattr(child, "to_plotly_json"):
            found += _find(child, match)
    return found


def test_a_function_under_built_in_names_gets_exactly_the_space_it_declares(tmp_path: Path) -> None:
    """A function trainer over {learning_rate, width} is called with those two, never with the built-in
    model's dropout and optimizer it did not declare; a study created before this rule (the four dimensions
    stored) resumes as it was created."""
    seen: list[set[str]] = []

    def fn(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
        seen.append(set(params))
        return {"val_accuracy": params["learning_rate"] * params["width"] / 100}

    doc = {"strategy": "random", "seed": 3, "budget": {"trials": 2, "epochs": 1},
           "space": {"learning_rate": {"low": 1e-4, "high": 1e-1}, "width": {"low": 8, "high": 64}}}  # fmt: skip
    summary = hpsearch.run_study(hpsearch.parse_study(doc, default_name="own-names"), str(tmp_path / "a.db"), trainer=FunctionTrainer(fn))
    assert seen and all(keys == {"learning_rate", "width"} for keys in seen)
    assert list(summary.study.config["space"]) == ["learning_rate", "width"]

    class AsBefore(FunctionTrainer):
        trains_builtin_model = True  # how every function study was read before: the built-in model's four dimensions

    old = str(tmp_path / "old.db")
    hpsearch.run_study(hpsearch.parse_study({**doc, "budget": {"trials": 1, "epochs": 1}}, default_name="old"), old, trainer=AsBefore(fn))
    seen.clear()
    resumed = hpsearch.run_study(hpsearch.parse_study(doc, default_name="old"), old, trainer=FunctionTrainer(fn))
    assert len(resumed.trials) == 2 and seen == [set(BUILTIN)]
