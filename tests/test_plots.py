"""The figures: the traces they hold and the data in them, hovers, axes, and empty states."""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.colors import sample_colorscale

from hpsearch import FunctionTrainer, Store, run_study
from hpsearch.read.frames import (
    ParamImportance,
    best_so_far,
    epochs_frame,
    final_results,
    model_history,
    param_importance,
    pbt_schedule,
    trials_frame,
)
from hpsearch.show.dashboard.figures import compare_figures
from hpsearch.show.plots import (
    PARAM_LABELS,
    best_so_far_figure,
    best_trial_numbers,
    common,
    distribution_figure,
    empty_figure,
    importance_figure,
    is_empty,
    learning_curves_data,
    learning_curves_figure,
    lineage_edges,
    parallel_axes,
    parallel_figure,
    parallel_lines_figure,
    pbt_lineage_figure,
    pbt_schedule_figure,
    schedule_steps,
    slice_figure,
)
from hpsearch.show.report import report_sections
from tests.comparison_store import shared_comparison_store
from tests.conftest import study_config, toy_pareto_metrics

NAMES = ["cmp-grid", "cmp-random", "cmp-tpe", "cmp-pbt"]


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(shared_comparison_store(tmp_path_factory))


@pytest.fixture(scope="module")
def trials(db: str) -> pd.DataFrame:
    return trials_frame(db, NAMES)


def _decisions(db: str, name: str) -> list:
    with Store.open(db, read_only=True) as store:
        return store.decisions(store.study(name).id)


def _hover_shows_trials(trace: go.Scatter | go.Box, numbers: list[int]) -> None:
    """The hover names the trial and its hyperparameters, and its data are those trials."""
    assert "trial %{customdata[1]}" in trace.hovertemplate
    for name in ("width", "dropout", "optimizer", "learning rate"):
        assert name in trace.hovertemplate
    assert [int(n) for n in np.asarray(trace.customdata)[:, 1]] == numbers


# ------------------------------------------------------------------ best so far


def test_best_so_far_figure_draws_the_curve_of_every_study_on_shared_axes(trials: pd.DataFrame) -> None:
    curve = best_so_far(trials)
    fig = best_so_far_figure(curve, studies=NAMES)
    assert not is_empty(fig) and len(fig.data) == 2 * len(NAMES)  # one line per study in each panel
    for name in NAMES:
        part = curve[(curve["study"] == name) & curve["best"].notna()]
        by_epochs, by_time = (t for t in fig.data if t.legendgroup == name)
        assert list(by_epochs.x) == list(part["cum_epochs"].astype(float)) and list(by_epochs.y) == list(part["best"])
        assert list(by_time.x) == pytest.approx(list(part["cum_seconds"])) and list(by_time.y) == list(part["best"])
        assert by_epochs.showlegend and not by_time.showlegend and by_epochs.line.shape == "hv"
        _hover_shows_trials(by_epochs, list(part["number"]))
    assert fig.layout.xaxis.title.text.endswith("(epochs)") and fig.layout.xaxis2.title.text.endswith("(s)")
    assert fig.layout.yaxis.title.text == "validation accuracy (%)" and fig.layout.yaxis2.matches == "y"


def test_best_so_far_figure_names_studies_without_a_result(db: str) -> None:
    curve = best_so_far(trials_frame(db, ["cmp-grid", "cmp-empty"]))
    fig = best_so_far_figure(curve, studies=["cmp-grid", "cmp-empty"])
    assert {t.legendgroup for t in fig.data} == {"cmp-grid"}
    assert any("no completed trial yet: cmp-empty" in a.text for a in fig.layout.annotations)


def test_every_figure_has_an_explicit_empty_state(db: str) -> None:
    empty = trials_frame(db, "cmp-empty")
    figures = [
        best_so_far_figure(best_so_far(empty), studies=["cmp-empty"]),
        distribution_figure(empty, studies=["cmp-empty"]),
        parallel_figure(empty, studies=["cmp-empty"]),
        parallel_lines_figure(empty, studies=["cmp-empty"]),
        slice_figure(empty, studies=["cmp-empty"]),
        learning_curves_figure(learning_curves_data(empty, epochs_frame(db, "cmp-empty")), studies=["cmp-empty"]),
        importance_figure([param_importance(db, "cmp-empty")]),
        pbt_schedule_figure(pbt_schedule("cmp-empty", db), study="cmp-empty"),
        pbt_lineage_figure(pbt_schedule("cmp-empty", db), study="cmp-empty"),
    ]
    for fig in figures:
        assert is_empty(fig) and len(fig.data) == 0
        (note,) = fig.layout.annotations
        assert "cmp-empty" in note.text or "needs 4 completed trials" in note.text
    assert is_empty(empty_figure("nothing")) and not is_empty(go.Figure())


# ------------------------------------------------------------------ distribution and hyperparameters


def test_distribution_figure_holds_every_final_result_and_the_counts(trials: pd.DataFrame) -> None:
    fig = distribution_figure(trials, studies=NAMES)
    final = final_results(trials)
    assert [t.type for t in fig.data] == ["box"] * len(NAMES)
    for trace, name in zip(fig.data, NAMES):
        part = final[final["study"] == name]
        assert trace.name == f"{name} (n={len(part)})" and trace.boxpoints == "all"
        assert list(trace.y) == list(part["value"])
        _hover_shows_trials(trace, list(part["number"]))
    assert [t.name for t in fig.data][3] == "cmp-pbt (n=4)"  # PBT: one result per member


def test_parallel_coordinates_over_the_four_hyperparameters(trials: pd.DataFrame) -> None:
    fig = parallel_figure(trials, studies=NAMES)
    (trace,) = fig.data
    labels = [d.label for d in trace.dimensions]
    assert labels == [
        "study",
        PARAM_LABELS["width"],
        PARAM_LABELS["dropout"],
        "optimizer",
        "learning rate (log10)",
        "validation accuracy (%)",
    ]
    final = final_results(trials)
    final = final.assign(study=pd.Categorical(final["study"], categories=NAMES)).sort_values("study", kind="stable")
    dims = {d.label: d for d in trace.dimensions}
    assert list(dims["learning rate (log10)"].values) == pytest.approx(list(np.log10(final["learning_rate"])))
    assert list(dims[PARAM_LABELS["width"]].values) == list(final["width"])
    assert list(trace.line.color) == list(final["value"])  # coloured by the result
    optimizer = dims["optimizer"]
    assert [optimizer.ticktext[int(v)] for v in optimizer.values] == list(final["optimizer"])


def test_parallel_lines_draw_every_final_result_on_the_axes_of_parcoords(trials: pd.DataFrame) -> None:
    fig = parallel_lines_figure(trials, studies=NAMES)
    final = final_results(trials)
    final = final.assign(study=pd.Categorical(final["study"], categories=NAMES)).sort_values("study", kind="stable")
    axes = parallel_axes(final, NAMES)
    k = len(axes)
    assert [t.type for t in fig.data] == ["scatter"] * len(fig.data)  # SVG only: no parcoords, no WebGL
    assert list(fig.layout.xaxis.ticktext) == [a.label.replace(" (", "<br>(") for a in axes]
    # every final result is one polyline through its scaled value on each axis, in a colour band of its result
    bands = [t for t in fig.data if t.mode == "lines" and t.hoverinfo == "skip" and t.showlegend is False]
    polylines = np.vstack([np.asarray(t.y, dtype=float).reshape(-1, k + 1)[:, :k] for t in bands])
    assert len(polylines) == len(final)
    # each axis spans its values and, for a categorical or log axis, its ticks (whole decades of the learning rate)
    spans = [(min([a.values.min(), *(a.tickvals or [])]), max([a.values.max(), *(a.tickvals or [])])) for a in axes]
    expected = np.column_stack([(a.values - low) / (high - low) for a, (low, high) in zip(axes, spans)])
    distance = np.abs(polylines[:, None, :] - expected[None, :, :]).max(axis=-1)  # float32 on the page
    assert (distance.min(axis=0) < 1e-6).all() and (distance.min(axis=1) < 1e-6).all()
    scale = sample_colorscale("Viridis", [b / 7 for b in range(8)])
    assert {t.line.color for t in bands} <= set(scale)
    # better results are drawn last (on top): band colours run up the scale
    assert [t.line.color for t in bands] == sorted((t.line.color for t in bands), key=scale.index)
    # the best result of each study is a thick line, and hovering the result axis names each trial
    best = best_trial_numbers(trials)
    thick = [t for t in fig.data if t.mode == "lines" and t.line.width == 3]
    assert sorted(t.name for t in thick) == sorted(f"best of {s}: trial {n}" for s, n in best.items())
    (dots,) = [t for t in fig.data if t.mode == "markers"]
    assert set(np.asarray(dots.x)) == {k - 1} and dots.marker.showscale
    _hover_shows_trials(dots, list(final["number"]))
    # ticks name the categories and the log10 learning rates
    (ticks,) = [t for t in fig.data if t.mode == "markers+text"]
    assert {"adam", "sgd"} <= set(ticks.text) and any(text.startswith("1e-") for text in ticks.text)


def test_slice_plots_one_per_hyperparameter_with_a_log_learning_rate(trials: pd.DataFrame) -> None:
    fig = slice_figure(trials, studies=NAMES)
    assert fig.layout.xaxis4.type == "log" and fig.layout.xaxis3.type == "category"
    assert [fig.layout[f"xaxis{i or ''}"].title.text for i in (0, 2, 3, 4)] == [PARAM_LABELS[h] for h in PARAM_LABELS]
    final = final_results(trials)
    for trace in fig.data:
        part = final[final["study"] == trace.legendgroup]
        column = {"x": "width", "x2": "dropout", "x3": "optimizer", "x4": "learning_rate"}[trace.xaxis]
        assert list(trace.x) == list(part[column]) and list(trace.y) == list(part["value"])
        _hover_shows_trials(trace, list(part["number"]))
    assert len(fig.data) == 4 * len(NAMES)


# ------------------------------------------------------------------ learning curves


def test_learning_curves_data_has_every_epoch_and_marks_the_best(db: str, trials: pd.DataFrame) -> None:
    epochs = epochs_frame(db, NAMES)
    curves = learning_curves_data(trials, epochs)
    own = curves[~curves["carried"]]
    assert len(own) == len(epochs)
    merged = own.merge(epochs, on=["study", "number", "model_epoch"])
    assert (merged["value"] == merged["val_accuracy"]).all()
    best = best_trial_numbers(trials)
    for name in ("cmp-grid", "cmp-random", "cmp-tpe"):
        assert set(curves[(curves["study"] == name) & curves["best"]]["number"]) == {best[name]}
        assert best[name] == int(trials[(trials["study"] == name) & trials["final"]].sort_values("value").iloc[-1]["number"])
    lineage = set(model_history("cmp-pbt", best["cmp-pbt"], db)["trial"])
    assert set(curves[(curves["study"] == "cmp-pbt") & curves["best"]]["number"]) == lineage


def test_a_pbt_segment_starts_from_its_parents_last_value(db: str, trials: pd.DataFrame) -> None:
    curves = learning_curves_data(trials, epochs_frame(db, NAMES))
    pbt = curves[curves["study"] == "cmp-pbt"]
    segments = trials[trials["study"] == "cmp-pbt"].set_index("number")
    carried = pbt[pbt["carried"]]
    assert len(carried) == segments["parent_trial"].notna().sum()
    for row in carried.itertuples():
        parent = int(segments.loc[row.number, "parent_trial"])
        assert row.model_epoch == segments.loc[row.number, "start_epoch"]
        assert row.value == segments.loc[parent, "value"]  # a segment's value is its last epoch's


def test_learning_curves_figure_highlights_the_best_trial(db: str, trials: pd.DataFrame) -> None:
    curves = learning_curves_data(trials, epochs_frame(db, NAMES))
    fig = learning_curves_figure(curves, studies=NAMES)
    assert [a.text for a in fig.layout.annotations][: len(NAMES)] == NAMES  # one panel per study
    for name in NAMES:
        others, best = (t for t in fig.data if t.legendgroup == name)
        assert best.line.width == 3 and others.line.width == 1
        expected = curves[(curves["study"] == name) & curves["best"]]
        assert [v for v in best.y if v is not None and not (isinstance(v, float) and math.isnan(v))] == list(expected["value"])
    assert fig.layout.xaxis.title.text == "epochs trained (epochs)"


# ------------------------------------------------------------------ PBT


def test_schedule_steps_match_the_stored_decisions(db: str) -> None:
    schedule = pbt_schedule("cmp-pbt", db)
    steps = schedule_steps(schedule)
    assert len(steps) == 2 * len(schedule)
    starts = steps[steps["at_start"]].set_index("trial")
    decisions = _decisions(db, "cmp-pbt")
    assert decisions and len(decisions) == 4 * 2
    for d in decisions:
        step = starts.loc[d.trial_number]
        assert (step["member"], step["epoch"], step["kind"]) == (d.member, d.at_epoch, d.kind)
        assert {h: step[h] for h in d.new_params} == d.new_params
        assert step["parent_member"] == d.parent_member
    fig = pbt_schedule_figure(schedule, study="cmp-pbt")
    stars = [t for t in fig.data if t.mode == "markers" and t.yaxis == "y"]
    expected = sorted((d.member, d.at_epoch) for d in decisions if d.kind == "exploit")
    drawn = sorted((int(t.legendgroup.split()[-1]), int(x)) for t in stars for x in t.x)
    assert drawn == expected  # a star at every exploit, on the member that copied
    lines = [t for t in fig.data if t.mode == "lines" and t.yaxis == "y"]
    assert sorted(int(t.legendgroup.split()[-1]) for t in lines) == [0, 1, 2, 3]
    assert expected, "the toy PBT run should copy at some ready point"
    assert "epochs trained by the member (epochs)" in [ax.title.text for ax in fig.select_xaxes()]
    assert [ax.type for ax in fig.select_yaxes() if ax.title.text == PARAM_LABELS["learning_rate"]] == ["log"]


def test_lineage_edges_are_the_stored_parent_links(db: str) -> None:
    schedule = pbt_schedule("cmp-pbt", db)
    edges = lineage_edges(schedule).set_index("trial")
    decisions = _decisions(db, "cmp-pbt")
    for d in decisions:
        edge = edges.loc[d.trial_number]
        assert (edge["parent_trial"], edge["y0"], edge["y1"], edge["x0"], edge["kind"]) == (
            d.parent_trial,
            d.parent_member,
            d.member,
            d.at_epoch,
            d.kind,
        )
    initial = edges[edges["kind"] == "initial"]
    assert len(initial) == 4 and (initial["x0"] == 0).all() and (initial["y0"] == initial["y1"]).all()
    best = best_trial_numbers(trials_frame(db, "cmp-pbt"))["cmp-pbt"]
    fig = pbt_lineage_figure(schedule, study="cmp-pbt", best_trial=best)
    names = [t.name for t in fig.data]
    assert f"best final model (trial {best})" in names
    nodes = fig.data[-1]
    assert list(nodes.x) == list(schedule.sort_values("trial")["end_epoch"])
    exploit = [t for t in fig.data if t.name == "copied another member (exploit)"]
    n_exploits = sum(d.kind == "exploit" for d in decisions)
    assert (len(exploit[0].x) if exploit else 0) == 3 * n_exploits  # each copy is one red edge
    assert fig.layout.yaxis.title.text == "member (population slot)"


# ------------------------------------------------------------------ importance and escaping


def test_importance_figure_bars_and_notes() -> None:
    imps = [
        ParamImportance("a", {"learning_rate": 0.7, "width": 0.3}, 10),
        ParamImportance("b", {}, 2, "needs 4 completed trials, has 2"),
    ]
    fig = importance_figure(imps)
    (bars,) = fig.data
    assert list(bars.x) == ["width", "learning_rate"] and list(bars.y) == [0.3, 0.7]
    assert bars.name == "a (10 trials)"
    assert any("b: needs 4 completed trials" in a.text for a in fig.layout.annotations)
    assert fig.layout.yaxis.tickformat == ".0%"


def test_names_are_escaped_in_figures() -> None:
    curve = pd.DataFrame(
        {
            "study": ["<b>x</b>&y"],
            "strategy": ["random"],
            "number": [0],
            "state": ["COMPLETE"],
            "width": [64],
            "dropout": [0.1],
            "optimizer": ["adam"],
            "learning_rate": [1e-3],
            "value": [0.9],
            "best": [0.9],
            "improved": [True],
            "cum_epochs": [2],
            "cum_seconds": [1.0],
            "metric": ["val_accuracy"],
        }
    )
    fig = best_so_far_figure(curve)
    assert fig.data[0].name == "&lt;b&gt;x&lt;/b&gt;&amp;y (random)"
    assert fig.data[0].customdata[0][0] == "&lt;b&gt;x&lt;/b&gt;&amp;y"


# ------------------------------------------------------------------ evolution and early stopping


def test_evolution_lineage_names_both_parents_from_the_generation_before_or_its_elites(db: str) -> None:
    from hpsearch.read.frames import evolution_lineage
    from hpsearch.show.plots import evolution_lineage_figure

    lineage = evolution_lineage("cmp-evolution", db)
    assert list(lineage["generation"]) == [0] * 4 + [1] * 4
    assert lineage.loc[lineage["generation"] == 0, ["first_parent", "second_parent"]].isna().all().all()
    children = lineage[lineage["generation"] == 1]
    assert set(children["first_parent"]) | set(children["second_parent"]) <= {0, 1, 2, 3}
    decisions = {d.trial_number: d for d in _decisions(db, "cmp-evolution")}
    for row in children.itertuples():  # the stored decision agrees with the recomputed parents
        assert decisions[row.trial].parent_trial == row.first_parent and f"#{row.second_parent}" in decisions[row.trial].reason
    best = int(lineage.loc[lineage["value"].idxmax(), "trial"])
    fig = evolution_lineage_figure(lineage, study="cmp-evolution", best_trial=best)
    dots = fig.data[-1]
    assert list(dots.x) == list(lineage["generation"]) and list(dots.y) == list(lineage["value"])
    assert [t.name for t in fig.data[:2]] == ["first parent", "second parent"]
    empty = evolution_lineage_figure(lineage.iloc[0:0], study="x")
    assert is_empty(empty)
    with pytest.raises(ValueError, match="cmp-grid is a grid study, not an evolution or nsga2 study"):
        evolution_lineage("cmp-grid", db)


def test_rungs_show_where_each_trial_of_a_hyperband_study_stopped(db: str) -> None:
    from hpsearch.read.frames import pruning_rungs
    from hpsearch.show.plots import rungs_figure

    rungs = pruning_rungs("cmp-hyperband", db)
    trials = trials_frame(db, "cmp-hyperband").set_index("number")
    assert list(rungs["trial"]) == list(trials.index)
    assert (rungs["epochs_done"].to_numpy() == trials["epochs"].to_numpy()).all()
    pruned = rungs[rungs["state"] == "PRUNED"]
    assert len(pruned) and all(row.epochs_done in row.rungs for row in pruned.itertuples())  # stopped at one of its rungs
    fig = rungs_figure(rungs, study="cmp-hyperband")
    drawn = {(trace.name, int(x)): int(y) for trace in fig.data for x, y in zip(trace.x, trace.y)}
    assert sum(drawn.values()) == len(rungs[rungs["state"].isin(["COMPLETE", "PRUNED"])])
    assert all("judged at epochs" in trace.hovertemplate for trace in fig.data)
    assert is_empty(rungs_figure(rungs.iloc[0:0], study="x"))
    with pytest.raises(ValueError, match="cmp-grid does not prune"):
        pruning_rungs("cmp-grid", db)


# ------------------------------------------------------------------ tick labels and axis ends


def _close_metrics(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
    """:func:`toy_pareto_metrics` squeezed into 90.5-91.2 %: every result differs from the others by less than a point."""
    metrics = toy_pareto_metrics(params, epoch, seed)
    value = 0.905 + 0.007 * metrics["val_accuracy"]
    return {**metrics, "val_accuracy": value, "val_loss": 1.0 - value}


@pytest.fixture(scope="module")
def close_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A study of every kind the report draws a figure of, all its results within less than a point."""
    path = str(tmp_path_factory.mktemp("close") / "s.db")
    trainer = FunctionTrainer(_close_metrics)
    hyperband = {"rule": "hyperband", "min_epochs": 1, "reduction_factor": 2}
    run_study(study_config("tpe", name="close-tpe", trials=6), path, trainer=trainer)
    run_study(study_config("random", name="close-hyperband", trials=6, epochs=4, pruning=hyperband), path, trainer=trainer)
    run_study(study_config("pbt", name="close-pbt", epochs=3), path, trainer=trainer)
    run_study(study_config("evolution", name="close-evolution", trials=6, evolution={"population": 3}), path, trainer=trainer)
    two = {"metrics": ["val_accuracy", "params"]}
    run_study(study_config("random", name="close-pareto", trials=6, objective=two), path, trainer=trainer)
    return path


@pytest.fixture(scope="module")
def close_figures(close_db: str) -> tuple[pd.DataFrame, dict[str, go.Figure], dict[str, Any]]:
    """The trials of :func:`close_db`, the figures of its report (by section) and of the dashboard's compare page (by key)."""
    with Store.open(close_db, read_only=True) as store:
        report = {section.key: section.figure for section in report_sections(store)}
        return trials_frame(store), report, compare_figures(store, [study.name for study in store.studies()])


#: Every tick spacing plotly may choose for an axis it ticks itself: 1, 2 or 5 times a power of ten.
_DTICKS = [m * 10.0**e for e in range(-7, 1) for m in (1, 2, 5)]


def _plotly_labels(axis: dict[str, Any], dtick: float, start: float, count: int = 12) -> list[str]:
    """What plotly writes at ``count`` ticks ``dtick`` apart from ``start`` on an axis of layout ``axis`` whose format
    is a percentage: the format of the first of its ``tickformatstops`` whose ``dtickrange`` holds ``dtick``, else its
    ``tickformat``."""
    fmt = axis["tickformat"]
    for stop in axis.get("tickformatstops", []):
        low, high = stop["dtickrange"]
        if stop.get("enabled", True) and (low is None or low <= dtick) and (high is None or dtick <= high):
            fmt = stop["value"]
            break
    decimals = re.fullmatch(r"\.(\d+)%", fmt)
    assert decimals, fmt
    first = math.ceil(start / dtick)
    return [f"{(first + i) * dtick * 100:.{decimals[1]}f}%" for i in range(count)]


def _distinct(texts: Any, where: str) -> list[str]:
    texts = list(texts)
    assert len(set(texts)) == len(texts), f"{where}: tick labels repeat: {texts}"
    return texts


def _check_tick_labels(fig: go.Figure | dict[str, Any], where: str) -> dict[str, list[Any]]:
    """Assert that no two tick labels of any axis or colour bar of ``fig`` read alike; return what was checked, by kind."""
    spec = fig if isinstance(fig, dict) else fig.to_plotly_json()
    layout = spec.get("layout", {})
    axes = {k: v for k, v in layout.items() if re.fullmatch(r"[xy]axis\d*", k)}
    axes |= {f"{k}.{a}": v[a] for k, v in layout.items() if k.startswith("scene") for a in ("xaxis", "yaxis", "zaxis") if a in v}
    checked: dict[str, list[Any]] = {"explicit": [], "percent": [], "log": [], "colorbar": []}
    for name, axis in axes.items():
        if "ticktext" in axis:
            checked["explicit"].append(_distinct(axis["ticktext"], f"{where} {name}"))
        if "%" in axis.get("tickformat", ""):  # plotly places the ticks: any spacing it may choose reads distinct labels
            for dtick in _DTICKS:
                _distinct(_plotly_labels(axis, dtick, 0.905), f"{where} {name} at a spacing of {dtick}")
            checked["percent"].append(name)
        if axis.get("type") == "log":  # plotly's own labels of a log axis read 2, 5, 10^-3, 2, 5
            assert "ticktext" in axis or axis.get("dtick") == 1, f"{where} {name}: a log axis with plotly's own labels"
            checked["log"].append(axis.get("ticktext"))
    for trace in spec.get("data", []):
        for dimension in trace.get("dimensions", []):  # parcoords
            if "ticktext" in dimension:
                checked["explicit"].append(_distinct(dimension["ticktext"], f"{where} axis {dimension['label']}"))
        for part in ("marker", "line"):
            colorbar = (trace.get(part) or {}).get("colorbar")
            if colorbar is None:
                continue
            # plotly's colour bars ignore tickformatstops: a percentage there needs ticks of its own
            assert "%" not in colorbar.get("tickformat", "") or "ticktext" in colorbar, f"{where}: a colour bar of plotly's percentages"
            if "ticktext" in colorbar:
                checked["colorbar"].append(_distinct(colorbar["ticktext"], f"{where} colour bar"))
        if trace.get("mode") == "markers+text":  # the SVG parallel coordinates write the ticks of each axis as text
            by_axis: dict[float, list[str]] = {}
            for x, text in zip(trace["x"], trace["text"]):
                by_axis.setdefault(x, []).append(text)
            for x, texts in by_axis.items():
                checked["explicit"].append(_distinct(texts, f"{where} parallel axis {x}"))
    return checked


def test_no_tick_label_of_any_figure_repeats_when_results_differ_by_less_than_a_point(
    close_figures: tuple[pd.DataFrame, dict[str, go.Figure], dict[str, Any]],
) -> None:
    trials, report, dashboard = close_figures
    values = trials["value"].dropna()
    assert values.max() - values.min() < 0.01  # the case of the issue: ticks a fraction of a point apart
    assert {"best-so-far", "pareto-front", "hypervolume", "slices", "rungs-close-hyperband", "pbt-lineage-close-pbt"} <= set(report)
    assert not any(is_empty(fig) for fig in [*report.values(), *dashboard.values()])
    checked = {key: _check_tick_labels(fig, key) for key, fig in report.items()}
    checked |= {f"dashboard {key}": _check_tick_labels(fig, f"dashboard {key}") for key, fig in dashboard.items()}
    # every value axis in percent has plotly's ticks, labelled by the spacing; colour bars and log axes ticks of their own
    for key in ("best-so-far", "distribution", "slices", "learning-curves", "importance", "pareto-front"):
        assert checked[key]["percent"], key
    colorbars = {key: c["colorbar"] for key, c in checked.items() if c["colorbar"]}
    assert {"parallel", "dashboard parallel"} <= set(colorbars)
    assert all(re.fullmatch(r"\d+\.\d+%", t) for bars in colorbars.values() for texts in bars for t in texts)  # under a point: decimals
    logs = [texts for c in checked.values() for texts in c["log"]]
    assert logs and all(texts and all(re.fullmatch(r"\d(\.\d+)?e-\d", t) for t in texts) for texts in logs)  # 1e-4, 3e-4


def test_budget_axes_end_near_the_data(close_figures: tuple[pd.DataFrame, dict[str, go.Figure], dict[str, Any]]) -> None:
    trials, report, dashboard = close_figures
    shown = trials[trials["cum_seconds"].notna()]
    for fig in (report["best-so-far"], dashboard["best-so-far"]):
        for axis, column in ((fig.layout.xaxis, "cum_epochs"), (fig.layout.xaxis2, "cum_seconds")):
            top = float(shown[column].max())
            assert axis.range[0] == 0 and top < axis.range[1] <= 1.1 * top, (column, axis.range, top)
    top = float(shown.loc[shown["study"] == "close-pareto", "cum_epochs"].max())
    assert report["hypervolume"].layout.xaxis.range[0] == 0 and top < report["hypervolume"].layout.xaxis.range[1] <= 1.1 * top


@pytest.mark.parametrize(
    ("low", "high"),
    [(1e-4, 1e-2), (1.2e-4, 9e-3), (2e-3, 8e-3), (2.1e-3, 2.8e-3), (3.5e-3, 3.6e-3), (1e-10, 1.0), (0.05, 0.3), (16, 512), (1.1, 1.9)],
)
def test_log_and_linear_ticks_lie_inside_their_range_and_never_read_alike(low: float, high: float) -> None:
    for values, texts in (common.log_ticks(low, high), common.linear_ticks(low, high)):
        assert 2 <= len(values) <= 8 and len(texts) == len(values)
        slack = 1e-9 * (high - low)
        assert all(low - slack <= v <= high + slack for v in values) and values == sorted(values)
        _distinct(texts, f"[{low}, {high}]")
    for step in _DTICKS:  # the decimals of a step tell apart numbers that far apart
        _distinct([f"{(90 + k * step):.{common.step_decimals(step)}f}" for k in range(10)], f"a step of {step}")
