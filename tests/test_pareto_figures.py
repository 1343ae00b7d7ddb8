"""Studies of several objectives, read and drawn: the Pareto frame, the Pareto front in 2-D and 3-D, hypervolume at
equal budget with one reference point, the report's sections and table, and the dashboard's study page."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

from hpsearch import FunctionTrainer, Store, run_study
from hpsearch.core.objectives import hypervolume, reference_point
from hpsearch.core.results import is_final, pareto_of
from hpsearch.read import frames
from hpsearch.show import plots
from hpsearch.show.report import report_sections, write_report
from hpsearch.store import TrialRecord, TrialState
from hpsearch.train.trainer import TrainJob
from tests.conftest import study_config, toy_pareto_metrics

TWO = ["val_accuracy", "params"]
THREE = ["val_accuracy", "params", "latency"]


def _metrics(params: dict[str, Any], epoch: int, seed: int) -> dict[str, float]:
    """Accuracy and a parameter count (:func:`toy_pareto_metrics`), and a third toy objective to minimize."""
    return {**toy_pareto_metrics(params, epoch, seed), "latency": params["dropout"] + 0.1 * math.log10(params["learning_rate"])}


class _Trainer(FunctionTrainer):
    """The toy objectives, with a test set: each evaluated trial scores a little under its validation accuracy."""

    has_test_set = True

    def __init__(self) -> None:
        super().__init__(_metrics)

    def evaluate(self, job: TrainJob) -> dict[str, float] | None:
        accuracy = round(_metrics(job.params, 10, 0)["val_accuracy"] - 0.01, 6)
        return {"loss": 1.0 - accuracy, "accuracy": accuracy}


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = str(tmp_path_factory.mktemp("pareto") / "s.db")
    two = {"metrics": TWO}
    run_study(study_config("nsga2", name="mo-nsga2", trials=12, nsga2={"population": 4}, objective=two), path, trainer=_Trainer())
    run_study(study_config("random", name="mo-random", trials=8, seed=3, objective=two), path, trainer=_Trainer())
    three = {"metrics": THREE, "directions": ["maximize", "minimize", "minimize"]}
    run_study(study_config("random", name="mo-3d", trials=10, objective=three), path, trainer=_Trainer())
    run_study(study_config("random", name="so-random", trials=4), path, trainer=_Trainer())
    return path


def _study(db: str, name: str) -> tuple[Any, list[TrialRecord]]:
    with Store.open(db, read_only=True) as store:
        study = store.study(name)
        return study, store.trials(study.id, with_curves=False)


def _front(db: str, name: str) -> list[TrialRecord]:
    study, trials = _study(db, name)
    return pareto_of([t for t in trials if is_final(t, study.epochs)], study.objectives)


def _scored(db: str, name: str) -> list[tuple[float, ...]]:
    study, trials = _study(db, name)
    return [t.values for t in trials if t.state is TrialState.COMPLETE and t.values is not None and is_final(t, study.epochs)]


def test_the_frames_carry_every_objective_and_mark_the_pareto_set_of_core_results(db: str) -> None:
    trials = frames.trials_frame(db, ["mo-nsga2", "mo-3d", "so-random"])
    assert frames.objective_columns(trials) == ["value:val_accuracy", "value:params", "value:latency"]
    assert list(trials.columns).index("value:val_accuracy") == list(trials.columns).index("value") + 1
    one = trials[trials["study"] == "so-random"]
    assert one["value:val_accuracy"].equals(one["value"]) and one["value:params"].isna().all()
    assert list(frames.trials_frame(db, ["so-random"]).columns) == list(frames.trial_columns(list(frames.frame_dimensions(trials))))

    pareto = frames.pareto_frame(db, ["mo-nsga2", "mo-3d", "so-random"])
    assert list(dict.fromkeys(pareto["study"])) == ["mo-nsga2", "mo-3d"]  # a study of one objective has no Pareto front here
    for name, metrics in (("mo-nsga2", TWO), ("mo-3d", THREE)):
        part = pareto[pareto["study"] == name]
        assert len(part) == len(_scored(db, name))
        assert set(part.loc[part["pareto"], "number"]) == {t.number for t in _front(db, name)}
        assert [o.metric for o in frames.frame_objectives(pareto)[name]] == metrics
        by_number = {t.number: t.values for t in _study(db, name)[1]}
        columns = [frames.objective_column(m) for m in metrics]
        assert all(tuple(r[1:]) == by_number[r[0]] for r in part[["number", *columns]].itertuples(index=False))


def test_the_2d_front_is_a_step_line_through_the_pareto_trials_in_order(db: str) -> None:
    fig = plots.pareto_figure(frames.pareto_frame(db, ["mo-nsga2"]))
    (front,) = [t for t in fig.data if t.name.endswith("Pareto front")]
    (dominated,) = [t for t in fig.data if t.name.endswith("dominated")]
    expected = _front(db, "mo-nsga2")
    assert len(expected) > 1 and [(x, y) for x, y in zip(front.x, front.y)] == [t.values for t in expected]
    assert front.line.shape == "hv" and dominated.marker.opacity < 1 and dominated.mode == "markers"
    assert len(front.x) + len(dominated.x) == len(_scored(db, "mo-nsga2"))
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("validation accuracy (%, maximize)", "params (minimize)")
    assert "trial %{customdata[1]}" in front.hovertemplate and "params %{y" in front.hovertemplate


def test_three_objectives_are_a_3d_scatter_with_the_pareto_trials_highlighted(db: str) -> None:
    pareto = frames.pareto_frame(db)
    fig = plots.pareto_figure(pareto, studies=["mo-3d", "mo-nsga2"])
    assert {t.type for t in fig.data} == {"scatter3d"}
    (front,) = [t for t in fig.data if t.name.endswith("Pareto front")]
    assert sorted(zip(front.x, front.y, front.z)) == sorted(t.values for t in _front(db, "mo-3d"))
    assert fig.layout.scene.zaxis.title.text == "latency (minimize)"
    assert "other objectives: mo-nsga2" in fig.layout.annotations[0].text  # not on these axes: named under the plot
    assert plots.is_empty(plots.pareto_figure(frames.pareto_frame(db, ["so-random"]), studies=["so-random"]))


def test_hypervolume_rises_to_that_of_the_pareto_set_with_one_shared_reference(db: str) -> None:
    names = ["mo-nsga2", "mo-random", "mo-3d", "so-random"]
    history = frames.hypervolume_history(db, names)
    assert list(dict.fromkeys(history["study"])) == ["mo-nsga2", "mo-random", "mo-3d"]
    two = reference_point(_scored(db, "mo-nsga2") + _scored(db, "mo-random"), [True, False])
    references = history.attrs[frames.REFERENCE_ATTR]
    assert references["mo-nsga2"] == references["mo-random"] == list(two)
    assert references["mo-3d"] == list(reference_point(_scored(db, "mo-3d"), [True, False, False]))
    for name in names[:3]:
        part = history[history["study"] == name]
        assert part["hypervolume"].is_monotonic_increasing and part["cum_epochs"].is_monotonic_increasing
        maximize = [o.maximize for o in _study(db, name)[0].objectives]
        last = hypervolume([t.values for t in _front(db, name)], maximize, references[name])
        assert part["hypervolume"].iloc[-1] == pytest.approx(last) and last > 0
        assert part["front"].iloc[-1] == len(_front(db, name))
    fig = plots.hypervolume_figure(history, studies=names)
    assert [t.name for t in fig.data] == ["mo-nsga2 (nsga2)", "mo-random (random)"]  # the studies of the first one's objectives
    assert list(fig.data[0].y) == history.loc[history["study"] == "mo-nsga2", "hypervolume"].tolist()
    assert any("reference point: val_accuracy" in a.text for a in fig.layout.annotations)
    assert plots.is_empty(plots.hypervolume_figure(frames.hypervolume_history(db, ["so-random"]), studies=["so-random"]))


def test_the_report_has_the_pareto_sections_and_lists_each_pareto_set(db: str, tmp_path: Path) -> None:
    names = ["mo-nsga2", "mo-random", "mo-3d", "so-random"]
    text = write_report(db, names, tmp_path / "report.html").read_text(encoding="utf-8")
    ids = re.findall(r"<section class='figure' id='([^']+)'", text)
    assert ids[:5] == ["best-so-far", "pareto-front-1", "hypervolume-1", "pareto-front-2", "hypervolume-2"]
    table = text[text.index("id='best-trials'") : text.index("</table>")]
    heads = re.findall(r"<th>([^<]*)</th>", table)
    assert heads[4] == "trial" and heads[-5:] == ["validation accuracy", "params", "latency", "test accuracy", "test loss"]
    rows = [re.findall(r"<td>([^<]*)</td>", row) for row in re.findall(r"<tr><td>.*?</tr>", table)]
    for name in names[:3]:
        listed = [r for r in rows if r[0] == name]
        assert [r[4] for r in listed] == [str(t.number) for t in _front(db, name)]
        assert all(r[-2].endswith("%") for r in listed)  # every Pareto trial was evaluated on the test set
    (single,) = [r for r in rows if r[0] == "so-random"]
    assert single[-4] == "&mdash;" and single[-5].endswith("%")  # one row; no params or latency of its own
    sections = report_sections(db, ["so-random"])
    assert not [s for s in sections if s.key.startswith(("pareto", "hypervolume"))]


def test_the_dashboard_page_of_a_study_of_several_objectives_shows_its_front(db: str) -> None:
    from hpsearch.show.dashboard import figures
    from hpsearch.show.dashboard.app import render_page
    from hpsearch.show.dashboard.pages import study_href

    with Store.open(db, read_only=True) as store:
        keys = figures.figure_keys_of(store.study("mo-nsga2"))
        assert keys == (*figures.MULTI_OBJECTIVE_FIGURES, *figures.STUDY_FIGURES, *figures.EVOLUTION_FIGURES)
        assert figures.figure_keys_of(store.study("so-random")) == figures.STUDY_FIGURES
        drawn = figures.study_figures(store, "mo-nsga2", only=set(figures.MULTI_OBJECTIVE_FIGURES))
        assert list(drawn) == ["pareto-front", "hypervolume"] and not any(plots.is_empty(f) for f in drawn.values())
        page = render_page(store, study_href("mo-3d"), "", 1000)
        assert {"study-pareto-front", "study-hypervolume"} <= _ids(page)


def _ids(component: Any) -> set[str]:
    """Every string id in a Dash layout."""
    found = {component.id} if isinstance(getattr(component, "id", None), str) else set()
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found |= _ids(child)
    return found
