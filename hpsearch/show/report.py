"""One self-contained HTML report that compares studies: every figure of
:mod:`hpsearch.show.plots`, one section each, and a table of the best trial of each
study with its test accuracy (for a study of several objectives its Pareto set, with
sections of its Pareto front and hypervolume).

The page embeds plotly.js inline (no network, no external file), so it opens
offline in any browser and can be mailed or archived as one file.

    hpsearch compare grid random tpe pbt --out report.html
    hpsearch.write_report("hpsearch.db", ["grid", "random", "tpe", "pbt"], "report.html")
"""

from __future__ import annotations

import datetime as dt
import html
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from hpsearch.core.config import has_lineage
from hpsearch.core.formatting import format_value
from hpsearch.read import frames
from hpsearch.read.frames import Names, StoreLike
from hpsearch.show import plots
from hpsearch.show.output_file import check_output_path, protected_paths, write_output
from hpsearch.store import reading

__all__ = ["Section", "best_table_html", "pareto_sections", "render_report", "report_sections", "write_report"]

_PLOTLY_CONFIG: dict[str, Any] = {"displaylogo": False, "responsive": True}


@dataclass(frozen=True)
class Section:
    """One figure of the report: an anchor, a heading, how to read it, and the figure."""

    key: str
    title: str
    description: str
    figure: go.Figure


def report_sections(store: StoreLike, names: Names = None) -> list[Section]:
    """Every figure of the report for the studies ``names`` (every study when None), in page order."""
    with reading(store) as opened:
        studies = frames.resolve_studies(opened, names)
        order = [st.name for st in studies]
        trials = frames.trials_frame(opened, order)
        epochs = frames.epochs_frame(opened, order)
        importances = [frames.param_importance(opened, name) for name in order]
        schedules = {st.name: frames.pbt_schedule(st.name, opened) for st in studies if st.strategy == "pbt"}
        lineages = {st.name: frames.evolution_lineage(st.name, opened) for st in studies if has_lineage(st.strategy)}
        rungs = {st.name: frames.pruning_rungs(st.name, opened) for st in studies if st.config.get("pruning", {}).get("enabled")}
        several = [st.name for st in studies if st.multi_objective]
        pareto = frames.pareto_frame(opened, several) if several else None
        history = frames.hypervolume_history(opened, several, trials=trials) if several else None
    best = plots.best_trial_numbers(trials)
    sections = [
        Section(
            "best-so-far",
            "Best so far, at equal budget",
            "Each line is one study. Every point is a finished trial; the line is the best validation result found so far, "
            "against the training epochs (left) and the training time (right) the study had spent when that trial finished. "
            "A line that rises higher and earlier found good models with less budget; large dots mark new bests. "
            "PBT counts every segment: its epochs, and the result its model reached.",
            plots.best_so_far_figure(frames.best_so_far(trials), studies=order),
        ),
        *(pareto_sections(pareto, history) if pareto is not None and history is not None else []),
        Section(
            "distribution",
            "Distribution of final results",
            "Every final result of each study (for PBT: each member at the end of training) as a dot; "
            "the box spans the middle half of them and the line inside is the median. n is the number of results.",
            plots.distribution_figure(trials, studies=order),
        ),
        Section(
            "parallel",
            "Hyperparameters and results",
            "One line per final result, through its study, its hyperparameters and its validation result, coloured by that result. "
            "Drag along an axis to keep only the lines that cross it there.",
            plots.parallel_figure(trials, studies=order),
        ),
        Section(
            "slices",
            "Result against each hyperparameter",
            "Each final result against the value of one hyperparameter at a time (a log-scale range, such as the learning rate, "
            "on a log axis). "
            "A clear trend means the result depends on that hyperparameter.",
            plots.slice_figure(trials, studies=order),
        ),
        Section(
            "learning-curves",
            "Learning curves",
            "The validation result after every epoch of every trial, one panel per study. The best trial is drawn thick in colour; "
            "for PBT, the segments whose weights the best final model was trained from (a line leaving another curve is a copy).",
            plots.learning_curves_figure(plots.learning_curves_data(trials, epochs), studies=order),
        ),
        Section(
            "importance",
            "Hyperparameter importance",
            "How much of the variation of the final results each hyperparameter explains (Optuna's fANOVA, fitted on the stored "
            "trials). With few trials this is a rough guide; fixed hyperparameters are left out.",
            plots.importance_figure(importances),
        ),
    ]
    for name, schedule in schedules.items():
        sections.append(
            Section(
                f"pbt-schedule-{name}",
                f"PBT schedules: {name}",
                "The hyperparameters each member trained with, over its epochs. A vertical jump is a change; "
                "a star marks a segment that started by copying a better member's weights and hyperparameters (exploit), "
                "which were then perturbed (explore).",
                plots.pbt_schedule_figure(schedule, study=name),
            )
        )
        sections.append(
            Section(
                f"pbt-lineage-{name}",
                f"PBT lineage: {name}",
                "Who copied whom. Every dot is a segment: a member (row) up to an epoch (column), coloured by its validation result. "
                "Grey edges continue a member's own weights; red edges are copies of another member. "
                "The gold path is the ancestry of the best final model.",
                plots.pbt_lineage_figure(schedule, study=name, best_trial=best.get(name)),
            )
        )
    for name, lineage in lineages.items():
        sections.append(
            Section(
                f"evolution-lineage-{name}",
                f"Evolution: {name}",
                "Every trial is a dot at its generation and its validation result. Lines lead to it from its two parents "
                "(solid: the first, dotted: the second), tournament winners of the generation before or its elites; "
                "the gold lines are the ancestry of the best trial.",
                plots.evolution_lineage_figure(lineage, study=name, best_trial=best.get(name)),
            )
        )
    for name, frame in rungs.items():
        sections.append(
            Section(
                f"rungs-{name}",
                f"Early stopping: {name}",
                "How many trials ran each number of epochs: a pruned trial stopped at a rung where it was not good enough, "
                "a completed one ran them all. With Hyperband, one group of bars per bracket; the hover names its rungs.",
                plots.rungs_figure(frame, study=name),
            )
        )
    return sections


def pareto_sections(pareto: pd.DataFrame, history: pd.DataFrame) -> list[Section]:
    """The sections of the studies of several objectives: for each set of objectives they have (the studies of one set
    share the axes and the reference point), their Pareto fronts and their hypervolume against the epochs spent.
    ``pareto`` is :func:`hpsearch.read.frames.pareto_frame`, ``history`` :func:`hpsearch.read.frames.hypervolume_history`."""
    groups = frames.objective_groups(frames.frame_objectives(pareto))
    sections = []
    for i, (objectives, members) in enumerate(groups):
        suffix = "" if len(groups) == 1 else f"-{i + 1}"
        metrics = ", ".join(o.metric for o in objectives)
        sections.append(
            Section(
                "pareto-front" + suffix,
                f"Pareto front: {metrics}",
                "With several objectives no trial is simply the best: the result of a study is its Pareto set, the trials "
                "no other trial beats in every objective at once. Every final result is placed by its value in each objective "
                "(each axis says which way is better); the Pareto trials are drawn solid and the faint dots are dominated trials. "
                + (
                    "The step line is each study's front: everything behind it is dominated, and a front further toward the "
                    "better corner is a better set of trade-offs."
                    if len(objectives) == 2
                    else "In three dimensions the Pareto trials are the diamonds; drag to turn the plot."
                    + (f" Only the first 3 of the {len(objectives)} objectives are drawn." if len(objectives) > 3 else "")
                ),
                plots.pareto_figure(pareto, studies=members),
            )
        )
        sections.append(
            Section(
                "hypervolume" + suffix,
                f"Hypervolume at equal budget: {metrics}",
                "How much of the objectives' space each study's Pareto front covers after every finished trial, against the "
                "training epochs spent: the volume its front dominates up to a reference point (written above the plot) a little "
                "worse than every result of the studies compared, one point for all of them so that their lines compare. "
                "It never falls; a line that rises higher and earlier found a better front with less budget. "
                "Large dots mark the trials that pushed the front out.",
                plots.hypervolume_figure(history, studies=members),
            )
        )
    return sections


# ---------------------------------------------------------------------------- HTML


def _cell(value: Any, kind: str = "") -> str:
    """One table cell's text, escaped; a missing value is a dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "&mdash;"
    if kind == "percent":
        return f"{float(value):.2%}"
    if kind == "sci":
        return f"{float(value):.3g}"
    if kind == "float":
        return f"{float(value):.3f}"
    if kind == "number":
        return html.escape(format_value(float(value)))
    return html.escape(str(value))


#: How the table writes the built-in model's floats (any other float: 3 significant digits).
_CELL_KINDS: dict[str, str] = {"dropout": "float", "learning_rate": "sci"}


def _cell_kind(name: str, dim: dict[str, Any]) -> str:
    if name in _CELL_KINDS:
        return _CELL_KINDS[name]
    return "sci" if dim.get("kind") == "FloatRange" else ""


#: How the table heads the value of an objective (any other metric: its name; the one value column of studies of
#: different metrics, or of another one: "validation value").
_OBJECTIVE_HEADS: dict[str, str] = {"val_accuracy": "validation accuracy", "val_loss": "validation loss"}


def best_table_html(best: pd.DataFrame) -> str:
    """The best trial of each study as an HTML table (``best`` is :func:`hpsearch.read.frames.best_trials_frame`):
    one column per hyperparameter of the studies (a dash where a study has none of that name).

    A frame with a column per objective (``best_trials_frame(..., pareto=True)`` of studies of several objectives) has
    one row per trial of a Pareto set and a column per objective in place of the one validation value."""
    metrics = set(best["metric"])
    result = _OBJECTIVE_HEADS.get(next(iter(metrics)), "validation value") if len(metrics) == 1 else "validation value"
    dims = frames.frame_dimensions(best)
    objectives = frames.objective_columns(best)
    headers = ["study", "strategy", "state", "trials done", "trial" if objectives else "best trial", *(plots.param_name(n) for n in dims)]
    shown = [c.removeprefix(frames.objective_column("")) for c in objectives]
    headers += [_OBJECTIVE_HEADS.get(m, m) for m in shown] if objectives else [result]
    headers += ["test accuracy", "test loss"]
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    rows = []
    for r in best.to_dict("records"):  # not itertuples: a hyperparameter may be called like a Python keyword
        accuracy = "percent" if str(r["metric"]).endswith("accuracy") else "float"
        values = [_cell(r[c], "percent" if m.endswith("accuracy") else "number") for c, m in zip(objectives, shown)]
        cells = [
            _cell(r["study"]),
            _cell(r["strategy"]),
            _cell(r["state"]),
            f"{r['finished']}/{r['n_trials']}",
            _cell(r["best_trial"]),
            *(_cell(r[name], _cell_kind(name, dim)) for name, dim in dims.items()),
            *(values if objectives else [_cell(r["value"], accuracy)]),
            _cell(r["test_accuracy"], "percent"),
            _cell(r["test_loss"], "float"),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if not rows:
        rows.append(f"<tr><td colspan='{len(headers)}'>no study</td></tr>")
    return f"<table class='best'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0 auto; max-width: 1240px;
       padding: 0 24px 48px; color: #222; }
header { border-bottom: 1px solid #ddd; margin-bottom: 8px; }
h1 { font-size: 1.6em; margin: 20px 0 4px; }
h2 { font-size: 1.25em; margin: 28px 0 4px; }
p.meta, p.how { color: #555; margin: 4px 0 8px; max-width: 1000px; }
nav a { margin-right: 14px; font-size: 0.92em; }
table.best { border-collapse: collapse; font-size: 0.92em; margin: 8px 0; }
table.best th, table.best td { border-bottom: 1px solid #e3e3e3; padding: 5px 10px; text-align: right; }
table.best th:nth-child(-n+3), table.best td:nth-child(-n+3) { text-align: left; }
"""


def _untitled(figure: go.Figure) -> dict[str, Any]:
    """The figure as plotly JSON without its title (the section heading says it), keeping an empty state's."""
    spec: dict[str, Any] = figure.to_plotly_json()
    if not plots.is_empty(figure):
        layout = spec.setdefault("layout", {})
        layout.pop("title", None)
        layout["margin"] = {**layout.get("margin", {}), "t": 50}
    return spec


def _best_section(best: pd.DataFrame) -> str:
    """The table of each study's result, with its heading and how to read it."""
    if not frames.objective_columns(best):
        return (
            "<section class='table' id='best-trials'><h2>Best trial of each study</h2>"
            "<p class='how'>The result of each study: its best completed trial (for PBT the best member at the end of training), "
            "its hyperparameters, its validation result, and its accuracy on the held-out test set, measured once when "
            "the study finished (a dash: not measured yet).</p>" + best_table_html(best) + "</section>"
        )
    return (
        "<section class='table' id='best-trials'><h2>Result of each study: its best trial, or its Pareto set</h2>"
        "<p class='how'>The result of each study: its best completed trial (for PBT the best member at the end of training), "
        "or for a study of several objectives its Pareto set, one row per trial no other trial beats in every objective "
        "(in order of the first objective). Each row gives the trial's hyperparameters, its value in each objective (a dash: "
        "not an objective of that study), and its accuracy on the held-out test set, measured once when the study finished "
        "(a dash: not measured yet).</p>" + best_table_html(best) + "</section>"
    )


def render_report(sections: Sequence[Section], best: pd.DataFrame, *, title: str, subtitle: str) -> str:
    """The whole page: plotly.js inline once, then the best-so-far section, the table of best
    trials, and the other sections, each with its heading and how to read it."""
    nav = " ".join(f"<a href='#{html.escape(s.key)}'>{html.escape(s.title)}</a>" for s in sections)
    parts = []
    for i, section in enumerate(sections):
        div = pio.to_html(
            _untitled(section.figure), full_html=False, include_plotlyjs=False, div_id=f"figure-{i}", config=_PLOTLY_CONFIG, validate=False
        )
        parts.append(
            f"<section class='figure' id='{html.escape(section.key)}'><h2>{html.escape(section.title)}</h2>"
            f"<p class='how'>{html.escape(section.description)}</p>{div}</section>"
        )
        if i == 0:
            parts.append(_best_section(best))
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style><script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        f"<header><h1>{html.escape(title)}</h1><p class='meta'>{html.escape(subtitle)}</p>"
        f"<nav><a href='#best-trials'>Best trials</a> {nav}</nav></header>"
        "<noscript>The figures need JavaScript (plotly.js is embedded in this file; no network is needed).</noscript>"
        + "".join(parts)
        + "</body></html>\n"
    )


def write_report(store: StoreLike, names: Names, out_path: str | os.PathLike[str]) -> Path:
    """Write one self-contained HTML report comparing the studies ``names`` (every study when None).

    Unknown names raise :class:`hpsearch.read.frames.UnknownStudyError`, and an ``out_path``
    that may not be written :class:`hpsearch.core.errors.ConfigError` (see
    :mod:`hpsearch.show.output_file`), before anything is written; the file is written whole or
    not at all. Returns the path written (symlinks followed).
    """
    with reading(store) as opened:
        protected = protected_paths(opened)
        check_output_path(out_path, protected)  # fail early, before the figures are drawn
        studies = frames.resolve_studies(opened, names)
        order = [st.name for st in studies]
        sections = report_sections(opened, order)
        best = frames.best_trials_frame(opened, order, pareto=True)
        url = opened.label
    strategies = ", ".join(f"{st.name} ({st.strategy})" for st in studies) or "no study"
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    page = render_report(
        sections,
        best,
        title="hpsearch: " + (" vs ".join(order) if order else "no study"),
        subtitle=f"Studies: {strategies}. Store: {url}. Written {when}.",
    )

    def write(path: Path) -> None:
        path.write_text(page, encoding="utf-8")

    return write_output(out_path, write, protected)
