"""Plain-text tables for the terminal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hpsearch.core.formatting import format_value, round_significant
from hpsearch.store import Evaluation, TrialRecord

if TYPE_CHECKING:
    from hpsearch.core.results import StudySummary
    from hpsearch.read.status import StudyStatus

__all__ = ["best_text", "format_table", "format_value", "result_text", "round_significant", "study_table", "trial_table"]


def format_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; numbers right-aligned."""
    cells = [[format_value(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) or row[i] is None for row in rows) and rows for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(r) for r in cells)
    return "\n".join(out)


def _names(trials: Sequence[TrialRecord], names: Sequence[str] | None) -> list[str]:
    """The hyperparameter columns: ``names`` (a study's, in order), else every name of the trials' params in order of first appearance."""
    return list(names) if names is not None else list(dict.fromkeys(k for t in trials for k in t.params))


def trial_table(
    trials: Sequence[TrialRecord],
    metric: str | Sequence[str] = "val_accuracy",
    best: int | Collection[int] | None = None,
    *,
    names: Sequence[str] | None = None,
    train_seconds: Mapping[int, float] | None = None,
) -> str:
    """One row per trial, one column per hyperparameter (``names``: the study's, in order; by
    default those of the trials) and one per objective (``metric``: its name, or every objective's of a study of
    several); PBT segments also show their member, epochs and the trial they started from, the trials of a
    generational strategy (evolution, CMA-ES, NSGA-II) their generation. ``best`` is starred: the best trial, or the
    trials of the Pareto set. With ``train_seconds`` (each trial's epochs' seconds, summed), the time is two columns,
    said in a legend (:data:`TIME_LEGEND`): ``train s``, and ``wall s`` from claimed to finished; else one, ``seconds``,
    the wall time."""
    pbt = any(t.member is not None for t in trials)
    generations = not pbt and any(t.generation is not None for t in trials)
    params = _names(trials, names)
    metrics = [metric] if isinstance(metric, str) else list(metric)
    starred = set() if best is None else {best} if isinstance(best, int) else set(best)
    headers = ["trial", "state", *(["member", "epochs", "from"] if pbt else ["gen"] if generations else []), *params, *metrics]
    headers += ["epochs" if not pbt else "done", *(["train s", "wall s"] if train_seconds is not None else ["seconds"])]
    rows = []
    for t in trials:
        mark = f"{t.number}*" if t.number in starred else t.number
        duration = None if t.duration is None else round(t.duration, 1)
        extra = [t.member, f"{t.start_epoch}-{t.end_epoch}", t.parent_trial] if pbt else [t.generation] if generations else []
        values = list(t.values) if t.values is not None and len(t.values) == len(metrics) else [t.value, *[None] * (len(metrics) - 1)]
        times = [duration] if train_seconds is None else [_rounded(train_seconds.get(t.number)), duration]
        rows.append([mark, t.state.value, *extra, *(t.params.get(h) for h in params), *values, t.epochs_done, *times])
    legend = "" if best is None else "\n(* best)" if len(metrics) == 1 else "\n(* Pareto set)"
    return format_table(headers, rows) + legend + ("" if train_seconds is None else "\n" + TIME_LEGEND)


#: What the time columns of the trial table measure (printed under it).
TIME_LEGEND = (
    "(train s: the trial's own epochs; trials trained together share each epoch of their population by parameters.\n"
    " wall s: from claimed to finished, with set-up, compilation and evaluation; the same for trials trained together)"
)


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)


def result_text(summary: StudySummary, *, names: Sequence[str] | None = None) -> str:
    """A study's result as ``hpsearch best`` prints it: its best trial (:func:`best_text`), or for a study of several
    objectives its Pareto set, one row per trial sorted along the first objective, with its test evaluation."""
    study = summary.study
    if not study.multi_objective:
        return best_text(study.name, summary.best, study.metric, summary.test, names=names, provisional=summary.provisional)
    if not summary.pareto:
        return f"{study.name}: no trial has completed yet"
    objectives = ", ".join(f"{o.metric} ({o.direction})" for o in study.objectives)
    which = "Pareto set so far" if summary.provisional else "Pareto set"
    head = f"{which} of {study.name}: {len(summary.pareto)} trial(s) no other beats in every one of {objectives}"
    head += " (provisional: the study is unfinished; run it again to continue)" if summary.provisional else ""
    params = _names(summary.pareto, names)
    tested = {name for e in summary.tests.values() for name, value in e.metrics.items() if value is not None}
    tests = [name for name in ("accuracy", "loss") if name in tested] or sorted(tested)
    headers = ["trial", *(o.metric for o in study.objectives), *(f"test {name}" for name in tests), *params]
    rows = [
        [
            t.number,
            *(t.values or ()),
            *((summary.tests[t.number].metrics.get(name) if t.number in summary.tests else None) for name in tests),
            *(t.params.get(name) for name in params),
        ]
        for t in summary.pareto
    ]
    return head + "\n" + format_table(headers, rows)


def study_table(statuses: Sequence[StudyStatus]) -> str:
    """The lines of ``hpsearch status``: one per study, its state as a person reads it (running,
    finished, interrupted: killed or stopped mid-run, run it again to resume; stopped: too many failures)."""
    headers = ["study", "strategy", "state", "trials", "running", "failed", "best", "test acc", "updated"]
    rows = [
        [
            s.name,
            s.strategy,
            s.state,
            f"{s.finished}/{s.n_trials}",
            s.running,
            s.failed,
            s.best_value,
            s.test_accuracy,
            dt.datetime.fromtimestamp(s.updated_at).strftime("%Y-%m-%d %H:%M:%S"),
        ]
        for s in statuses
    ]
    return format_table(headers, rows)


def best_text(
    study: str,
    trial: TrialRecord | None,
    metric: str,
    test: Evaluation | None,
    *,
    names: Sequence[str] | None = None,
    provisional: bool = False,
) -> str:
    """A study's result (:mod:`hpsearch.core.results`) and its hyperparameters (``names``: the study's, in order;
    by default the trial's), with ``test``, the result's own test evaluation; a ``provisional`` result is said to be one."""
    if trial is None:
        return f"{study}: no trial has completed yet"
    if provisional:
        lines = [f"best trial so far of {study} (provisional: the study is unfinished; run it again to continue): trial {trial.number}"]
        lines[0] += f", {metric} {trial.value:.4f}"
    else:
        lines = [f"best trial of {study}: trial {trial.number}, {metric} {trial.value:.4f}"]
    lines += [f"  {name} = {format_value(trial.params[name])}" for name in _names([trial], names) if name in trial.params]
    if test is not None and test.accuracy is not None and test.loss is not None:
        lines.append(f"  test accuracy = {test.accuracy:.4f} (test loss {test.loss:.4f})")
    elif test is not None:  # a model of its own, scored on metrics of its own
        lines += [f"  test {name} = {value:.4f}" for name, value in test.metrics.items() if value is not None]
    return "\n".join(lines)
