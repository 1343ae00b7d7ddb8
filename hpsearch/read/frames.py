"""Store -> pandas DataFrames for analysis: trials, per-epoch metrics, best-so-far
curves, hyperparameter importance, best trials, PBT schedules and lineage, and for
studies of several objectives their Pareto fronts and hypervolume over the budget.

Each frame comes from one SQL query on the store, so the same questions can be
asked in SQL directly; the queries are written with SQLAlchemy Core and run on
SQLite and PostgreSQL alike. The figures of :mod:`hpsearch.show.plots` are drawn
from these frames only, so what a figure shows can be tested here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from hpsearch.core.builtin_model import BUILTIN_DIMENSIONS, HYPERPARAMETERS, METRICS
from hpsearch.core.config import has_lineage
from hpsearch.core.errors import UnknownStudyError
from hpsearch.core.objectives import Objective, dominates, hypervolume, reference_point
from hpsearch.core.results import FINISHED_STATES, ends_training, is_final, study_result
from hpsearch.core.space import RESERVED_NAMES, Choice, SearchSpace, parse_space
from hpsearch.store import Store, StudyRecord, TrialRecord, TrialState, queries, reading

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "FINISHED_STATES",
    "OBJECTIVES_ATTR",
    "REFERENCE_ATTR",
    "SPACE_ATTR",
    "TRIAL_FIELDS",
    "ParamImportance",
    "UnknownStudyError",
    "best_so_far",
    "best_trials_frame",
    "epochs_frame",
    "evolution_lineage",
    "final_results",
    "frame_dimensions",
    "frame_objectives",
    "hypervolume_history",
    "model_history",
    "objective_column",
    "objective_groups",
    "objective_columns",
    "param_importance",
    "pareto_frame",
    "pbt_lineage",
    "pbt_schedule",
    "pruning_rungs",
    "resolve_studies",
    "study_dimensions",
    "study_space",
    "studies_dimensions",
    "trial_columns",
    "trials_frame",
]

#: A store, or the path or URL to open one (read-only) from; None means ``$HPSEARCH_STORE`` or ``hpsearch.db``.
StoreLike = Union[Store, str, "os.PathLike[str]", None]
#: One study name, several, or None for every study in the store.
Names = Union[str, Sequence[str], None]

#: The key of ``DataFrame.attrs`` where a frame of this module keeps the hyperparameters it has a
#: column for, in order: name -> its stored description (:meth:`SearchSpace.describe`: ``kind`` is
#: IntRange, FloatRange or Choice, with ``low``, ``high`` and ``log``, or ``values``).
SPACE_ATTR = "hpsearch_space"

Description = dict[str, Any]

#: The key of ``DataFrame.attrs`` where a frame of this module keeps the objectives of each of its studies:
#: study name -> ``[[metric, direction], ...]`` in the study's order (one pair for a study of one objective).
OBJECTIVES_ATTR = "hpsearch_objectives"
#: The key of ``DataFrame.attrs`` where :func:`hypervolume_history` keeps the reference point of each study's
#: hypervolume: study name -> one value per objective (shared by the compared studies of the same objectives).
REFERENCE_ATTR = "hpsearch_reference"

#: How the column of an objective's value is called: ``value:`` and its metric. A hyperparameter's name has no
#: ``:`` (:data:`hpsearch.core.space.NAME_RULE`), so these columns never meet one, nor a fixed column.
_OBJECTIVE_PREFIX = "value:"


def objective_column(metric: str) -> str:
    """The column of a frame here holding each trial's value of the objective ``metric`` (``value:params``)."""
    return _OBJECTIVE_PREFIX + metric


def objective_columns(frame: pd.DataFrame) -> list[str]:
    """The objective columns of ``frame`` (:func:`objective_column`), in order."""
    return [c for c in frame.columns if isinstance(c, str) and c.startswith(_OBJECTIVE_PREFIX)]


def _objectives_attr(studies: Sequence[StudyRecord]) -> dict[str, list[list[str]]]:
    return {st.name: [[o.metric, o.direction] for o in st.objectives] for st in studies}


def frame_objectives(frame: pd.DataFrame) -> dict[str, tuple[Objective, ...]]:
    """The objectives of each study of ``frame``, by study name, in the studies' order.

    A frame of this module records them (``frame.attrs[OBJECTIVES_ATTR]``); for any other frame, each study's
    ``metric`` and ``direction`` columns give its one objective (a frame without them: none)."""
    stored = frame.attrs.get(OBJECTIVES_ATTR)
    if isinstance(stored, Mapping):
        return {str(name): tuple(Objective(str(m), str(d)) for m, d in pairs) for name, pairs in stored.items()}
    if not {"study", "metric", "direction"} <= set(frame.columns):
        return {}
    firsts = frame.drop_duplicates("study")
    return {str(r["study"]): (Objective(str(r["metric"]), str(r["direction"])),) for r in firsts.to_dict("records")}


def study_dimensions(study: StudyRecord) -> dict[str, Description]:
    """The hyperparameters of a stored study, in their declared order, with their stored descriptions."""
    return {str(name): dict(dim) for name, dim in (study.config.get("space") or {}).items()}


def _values_of(dim: Mapping[str, Any]) -> list[Any]:
    return list(dim["values"]) if dim.get("kind") == "Choice" else [dim.get("low"), dim.get("high")]


def _merged(a: Description, b: Description) -> Description:
    """One description covering two studies' descriptions of the same name."""
    if a == b:
        return a
    ranges = {"IntRange", "FloatRange"}
    if a.get("kind") in ranges and b.get("kind") in ranges:
        kind = a["kind"] if a["kind"] == b["kind"] else "FloatRange"
        low, high = min(a["low"], b["low"]), max(a["high"], b["high"])
        return {"kind": kind, "low": low, "high": high, "log": bool(a.get("log") and b.get("log")), "grid_points": None}
    values: list[Any] = []
    for v in _values_of(a) + _values_of(b):
        if not any(type(v) is type(w) and v == w for w in values):
            values.append(v)
    return {"kind": "Choice", "values": values}


def studies_dimensions(studies: Sequence[StudyRecord]) -> dict[str, Description]:
    """The hyperparameters of several studies: every name in order of first appearance, described
    so as to cover each study's range or values (a log scale only where every study has one)."""
    out: dict[str, Description] = {}
    for study in studies:
        for name, dim in study_dimensions(study).items():
            out[name] = _merged(out[name], dim) if name in out else dim
    return out


def _with_space(frame: pd.DataFrame, dims: Mapping[str, Description]) -> pd.DataFrame:
    """``frame``, recording in its attrs the descriptions of the hyperparameters it has a column for."""
    frame.attrs[SPACE_ATTR] = {name: dict(dim) for name, dim in dims.items() if name in frame.columns}
    return frame


#: Columns of the frames here (and of :mod:`hpsearch.show.plots`) that hold no hyperparameter and are not reserved names.
_OTHER_COLUMNS = frozenset(
    {"bracket", "rungs", "epochs_done", "x0", "y0", "x1", "y1", "hyperparameter", "importance", "pareto", "hypervolume", "front"}
)


def _described(name: str, values: pd.Series) -> Description:
    """A description of hyperparameter ``name`` from the values of its column (a frame built by hand)."""
    seen = [v for v in values.tolist() if v is not None and not (isinstance(v, float) and math.isnan(v))]
    kind = BUILTIN_DIMENSIONS.get(name)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seen)
    if isinstance(kind, tuple) or not numeric or not seen:
        return {"kind": "Choice", "values": list(dict.fromkeys(seen))}
    integer = kind == "int" if kind is not None else all(isinstance(v, int) for v in seen)
    return {
        "kind": "IntRange" if integer else "FloatRange",
        "low": min(seen),
        "high": max(seen),
        "log": name == "learning_rate",  # the built-in model's default
        "grid_points": None,
    }


def frame_dimensions(frame: pd.DataFrame) -> dict[str, Description]:
    """The hyperparameters ``frame`` has a column for, in order, with their descriptions.

    A frame of this module records them (``frame.attrs[SPACE_ATTR]``, kept by pandas through
    selections, sorts and merges); for any other frame they are its columns whose names are
    not :data:`hpsearch.core.space.RESERVED_NAMES` (nor its metric), described from their values
    (a learning rate on a log scale, as the built-in model searches it).
    """
    stored = frame.attrs.get(SPACE_ATTR)
    if isinstance(stored, Mapping):
        return {name: dict(dim) for name, dim in stored.items() if name in frame.columns}
    metrics = set(frame["metric"].dropna().astype(str)) if "metric" in frame.columns else set()
    skip = RESERVED_NAMES | _OTHER_COLUMNS | metrics | set(objective_columns(frame))
    return {str(c): _described(str(c), frame[c]) for c in frame.columns if isinstance(c, str) and c not in skip}


def _frame(rows: list[Any], dims: Mapping[str, Description]) -> pd.DataFrame:
    import pandas as pd

    records = []
    for r in rows:
        rec = dict(r._mapping)
        params = rec.pop("params") or {}
        old = rec.pop("old_params", None) or {}
        for name in dims:
            rec[name] = params.get(name)
        rec["changed"] = sorted(k for k in params if k in old and old[k] != params[k])
        rec["kind"] = rec["kind"] or "initial"
        rec["optimizer_reset"] = bool(rec["optimizer_reset"])
        records.append(rec)
    frame = pd.DataFrame.from_records(records)
    for column in ("parent_trial", "parent_member"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")  # initial segments have none
    return _with_space(frame, dims)


def pbt_schedule(name: str, store: Store | str | os.PathLike[str] | None = None, *, member: int | None = None) -> pd.DataFrame:
    """Every segment of a PBT study (or of one member): the hyperparameters in force from
    ``start_epoch`` to ``end_epoch``, the decision that started it (initial, continue,
    exploit, recover), whom it copied and the validation value it reached."""
    with reading(store) as opened:
        study = opened.study(name)
        rows = opened.fetch(queries.segments(study.id, member))
        return _frame(rows, study_dimensions(study))


def pbt_lineage(name: str, store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The lineage tree of a PBT study: one edge per segment, from the trial whose
    checkpoint it started from (``parent_trial``, ``parent_member``) to the segment
    (``trial``, ``member``); ``kind`` is exploit where a member copied another."""
    frame = pbt_schedule(name, store)
    if frame.empty:
        return frame
    columns = ["trial", "member", "generation", "start_epoch", "parent_trial", "parent_member", "kind", "value", "state"]
    return frame[columns].reset_index(drop=True)


def evolution_lineage(name: str, store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Every trial of an evolution study: its generation, both its parents (none in generation 0), its
    state, validation value and hyperparameters (one column each, in the study's order).

    The parents are those stored with each child when it was proposed (its decision: ``parent_trial``
    the first, ``second_parent`` the second, :mod:`hpsearch.search.strategies.evolution`); a study
    stored before the second was recorded has it once :func:`hpsearch.running.lineage.backfill_evolution_lineage`
    has run (``hpsearch migrate``), and none until then."""
    import pandas as pd

    with reading(store) as opened:
        study = opened.study(name)
        if not has_lineage(study.strategy):
            raise ValueError(f"{name} is a {study.strategy} study, not an evolution or nsga2 study")
        history = opened.trials(study.id, with_curves=False)
        decisions = {d.trial_number: d for d in opened.decisions(study.id)}
    rows = [
        {
            "trial": t.number,
            "generation": t.generation,
            "first_parent": decisions[t.number].parent_trial if t.number in decisions else None,
            "second_parent": decisions[t.number].second_parent if t.number in decisions else None,
            "state": t.state.value,
            "value": t.value,
            **t.params,
        }
        for t in history
    ]
    dims = study_dimensions(study)
    columns = ["trial", "generation", "first_parent", "second_parent", "state", "value", *dims]
    frame = pd.DataFrame.from_records(rows, columns=columns) if rows else pd.DataFrame(columns=columns)
    for column in ("first_parent", "second_parent"):
        frame[column] = frame[column].astype("Int64")  # generation 0 has none
    return _with_space(frame, dims)


def pruning_rungs(name: str, store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Every trial of a study with early stopping: its bracket (Hyperband; 0 for the other rules),
    the epochs at which the rule judges it, the epochs it ran and its state (PRUNED where stopped)."""
    import pandas as pd

    from hpsearch.core.config import config_from_stored
    from hpsearch.search.pruning import SuccessiveHalvingRule, pruning_rule

    with reading(store) as opened:
        study = opened.study(name)
        history = opened.trials(study.id, with_curves=False)
    config = config_from_stored(name, study.config)
    rule = pruning_rule(config, [])
    if rule is None:
        raise ValueError(f"{name} does not prune: its study file has no [pruning] rule")
    rows = [
        {
            "trial": t.number,
            "bracket": rule.bracket(t.number) if isinstance(rule, SuccessiveHalvingRule) else 0,
            "rungs": tuple(rule.rungs(t.number)),
            "epochs_done": t.epochs_done,
            "state": t.state.value,
            "value": t.value,
        }
        for t in history
    ]
    return pd.DataFrame.from_records(rows, columns=["trial", "bracket", "rungs", "epochs_done", "state", "value"])


def model_history(name: str, trial: int, store: Store | str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The segments that trained the weights of ``trial``, oldest first: its ancestry
    through every copy (a recursive SQL query over ``parent_trial``). Its rows give the
    hyperparameter schedule the final model was actually trained with."""
    with reading(store) as opened:
        study = opened.study(name)
        chain, segments = opened.fetch_many(queries.ancestry(study.id, trial), queries.segments(study.id))
        depth = {r.number: r.depth for r in chain}
        rows = [r for r in segments if r.trial in depth]
        frame = _frame(rows, study_dimensions(study))
        if frame.empty:
            return frame
        return frame.sort_values("start_epoch").reset_index(drop=True)


# ---------------------------------------------------------------------------- studies


def resolve_studies(store: Store, names: Names = None) -> list[StudyRecord]:
    """The studies called ``names``, in the order given and without repeats (every study when None).

    Raises :class:`UnknownStudyError` (a :class:`ConfigError`, so bad input) naming the
    first unknown study and listing the studies the store holds.
    """
    known = store.studies()
    if names is None:
        return known
    wanted = [names] if isinstance(names, str) else list(names)
    by_name = {study.name: study for study in known}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        listed = ", ".join(sorted(by_name)) or "none yet"
        raise UnknownStudyError("study", missing[0], f"no such study in {store.label} (studies: {listed})")
    return [by_name[name] for name in dict.fromkeys(wanted)]


def study_space(study: StudyRecord) -> SearchSpace:
    """The search space of a stored study, rebuilt from the description stored with it."""
    spec = {name: _spec_of(dim) for name, dim in study_dimensions(study).items()}
    return parse_space(spec, builtin=False)  # exactly the stored dimensions, in their order


def _spec_of(dim: Mapping[str, Any]) -> dict[str, Any]:
    """The ``[space]`` entry that parses to the dimension ``dim`` describes (its kind kept: 1.0 to 9.0 stays a float range)."""
    spec = {key: value for key, value in dim.items() if key != "kind" and value is not None}
    if dim.get("kind") in ("IntRange", "FloatRange"):
        spec["type"] = "int" if dim["kind"] == "IntRange" else "float"
    return spec


# ---------------------------------------------------------------------------- trials

#: The fixed columns of :func:`trials_frame`, in order; the studies' hyperparameters come after ``state``.
TRIAL_FIELDS: tuple[str, ...] = (
    "study",
    "strategy",
    "number",
    "state",
    "value",
    "epochs",
    "seconds",
    "started_at",
    "finished_at",
    "completion",
    "cum_epochs",
    "cum_seconds",
    "final",
    "member",
    "generation",
    "start_epoch",
    "end_epoch",
    "parent_trial",
    "attempt",
    "metric",
    "direction",
    "error",
)
_BEFORE_PARAMS = TRIAL_FIELDS.index("state") + 1


def trial_columns(names: Sequence[str] = HYPERPARAMETERS) -> tuple[str, ...]:
    """The columns of :func:`trials_frame` for studies of the hyperparameters ``names``: :data:`TRIAL_FIELDS`
    with one column per hyperparameter after ``state``."""
    return (*TRIAL_FIELDS[:_BEFORE_PARAMS], *names, *TRIAL_FIELDS[_BEFORE_PARAMS:])


#: The columns of :func:`trials_frame` for studies of the built-in model's four hyperparameters, in order.
TRIAL_COLUMNS: tuple[str, ...] = trial_columns(HYPERPARAMETERS)


def _trial_record(row: Any, names: Sequence[str]) -> dict[str, Any]:
    """One row of :func:`trials_frame` (before the cumulative columns) from one SQL row."""
    r = row._mapping
    params = r["params"] or {}
    duration = None if r["started_at"] is None or r["finished_at"] is None else r["finished_at"] - r["started_at"]
    start = r["start_epoch"] or 0
    end = start + r["planned_epochs"]
    complete = r["state"] == TrialState.COMPLETE.value and r["value"] is not None
    return {
        "study": r["study"],
        "strategy": r["strategy"],
        "number": r["number"],
        "state": r["state"],
        **{name: params.get(name) for name in names},
        "value": r["value"],
        "epochs": int(r["n_epochs"] or 0),
        "seconds": duration,
        "started_at": r["started_at"],
        "finished_at": r["finished_at"],
        "final": complete and ends_training(r["member"], end, r["study_epochs"]),
        "member": r["member"],
        "generation": r["generation"],
        "start_epoch": start,
        "end_epoch": end,
        "parent_trial": r["parent_trial"],
        "attempt": r["attempt"],
        "metric": r["metric"],
        "direction": r["direction"],
        "error": r["error"],
    }


def _in_completion_order(frame: pd.DataFrame) -> pd.DataFrame:
    """One study's trials: finished ones in the order they finished, with running totals; then the rest."""
    import pandas as pd

    is_finished = frame["state"].isin(FINISHED_STATES) & frame["finished_at"].notna()
    done = frame[is_finished].sort_values(["finished_at", "number"], kind="stable").copy()
    rest = frame[~is_finished].sort_values("number", kind="stable").copy()
    done["completion"] = range(len(done))
    done["cum_epochs"] = done["epochs"].cumsum()
    done["cum_seconds"] = done["seconds"].astype(float).cumsum()
    rest["completion"] = pd.NA
    rest["cum_epochs"] = pd.NA
    rest["cum_seconds"] = math.nan
    return pd.concat([done, rest]) if len(rest) else done


def trials_frame(store: StoreLike = None, names: Names = None) -> pd.DataFrame:
    """One row per trial of the studies ``names`` (every study when None), for comparing studies.

    Columns (:func:`trial_columns`; :data:`TRIAL_COLUMNS` for studies of the built-in model's
    four hyperparameters): ``study``, ``strategy``, ``number``, ``state``, one column per
    hyperparameter of the studies (in their declared order; several studies: every name, in
    order of first appearance, empty for the trials of a study without it; recorded with their
    descriptions in ``frame.attrs``, see :func:`frame_dimensions`), ``value`` (the study metric), ``epochs`` (epochs of the
    current attempt in the per-epoch table), ``seconds`` (start to end of the trial),
    ``started_at`` / ``finished_at`` (UTC), then, per study in completion order,
    ``completion`` (0, 1, ...), ``cum_epochs`` and ``cum_seconds``: the training
    epochs and trial seconds spent by the study once this trial finished (failed and
    pruned trials count: they spent budget). Trials that have not finished come last,
    without these. ``final`` marks the results a study ends with: COMPLETE trials, and
    for PBT only each member's last segment. PBT segments also carry ``member``,
    ``generation``, ``start_epoch``, ``end_epoch`` and ``parent_trial``.

    When a study of several objectives is among them, a column per objective of the studies follows ``value``
    (:func:`objective_column`: ``value:val_accuracy``, ``value:params``, ...): each trial's value of that objective
    at its last epoch (a study of one objective: its ``value`` under its metric; empty for a study without that
    objective). The frame records every study's objectives (:func:`frame_objectives`). Studies of one objective
    only: no such column, the columns are :func:`trial_columns`.
    """
    import pandas as pd

    with reading(store) as opened:
        studies = resolve_studies(opened, names)
        rows = opened.fetch(queries.trials([st.id for st in studies])) if studies else []
    dims = studies_dimensions(studies)
    columns = list(trial_columns(list(dims)))
    extra = _objective_names(studies) if any(st.multi_objective for st in studies) else []
    at = columns.index("value") + 1
    columns[at:at] = extra
    records = [_trial_record(r, list(dims)) for r in rows]
    if extra:
        by_name = {st.name: st.objectives for st in studies}
        for rec, row in zip(records, rows):
            rec.update(_objective_values(by_name[rec["study"]], row.objective_values, rec["value"]))
    raw = pd.DataFrame.from_records(records, columns=[c for c in columns if c not in {"completion", "cum_epochs", "cum_seconds"}])
    parts = [_in_completion_order(raw[raw["study"] == st.name]) for st in studies]
    frame = pd.concat(parts, ignore_index=True) if parts else raw
    frame = frame.reindex(columns=list(columns)).reset_index(drop=True)
    for column in ("completion", "cum_epochs", "member", "generation", "parent_trial"):
        frame[column] = frame[column].astype("Int64")
    frame["cum_seconds"] = frame["cum_seconds"].astype(float)
    frame["final"] = frame["final"].astype(bool)
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column].astype(float), unit="s", utc=True)
    for column in extra:
        frame[column] = frame[column].astype(float)
    frame.attrs[OBJECTIVES_ATTR] = _objectives_attr(studies)
    return _with_space(frame, dims)


def _objective_names(studies: Sequence[StudyRecord]) -> list[str]:
    """The objective columns of ``studies``: one per objective metric, in order of first appearance."""
    return [objective_column(m) for m in dict.fromkeys(o.metric for st in studies for o in st.objectives)]


def _objective_values(objectives: Sequence[Objective], values: Sequence[float] | None, value: Any) -> dict[str, Any]:
    """The objective columns of one trial of a study of ``objectives``: its ``values`` (several objectives), or
    its ``value`` (one)."""
    if len(objectives) == 1:
        return {objective_column(objectives[0].metric): value}
    if values is None or len(values) != len(objectives):
        return {}
    return {objective_column(o.metric): v for o, v in zip(objectives, values)}


def final_results(trials: pd.DataFrame) -> pd.DataFrame:
    """The results each study ends with (rows of :func:`trials_frame` with ``final``):
    its COMPLETE trials, or for PBT each member's last segment."""
    return trials[trials["final"]].reset_index(drop=True)


def best_so_far(trials: pd.DataFrame) -> pd.DataFrame:
    """The best value found so far by each study, after every finished trial, in completion order.

    Takes a :func:`trials_frame`; returns one row per finished trial with ``best``
    (the running maximum of the COMPLETE trials' values, or minimum for a study
    that minimizes; empty until the first COMPLETE trial), ``improved`` (this trial
    set a new best), ``cum_epochs`` and ``cum_seconds`` (the budget spent so far),
    and the trial's own columns.
    """
    import pandas as pd

    dims = frame_dimensions(trials)
    done = trials[trials["completion"].notna()]
    parts = []
    for _, group in done.groupby("study", sort=False):
        g = group.sort_values("completion").copy()
        counted = g["value"].where(g["state"] == TrialState.COMPLETE.value).astype(float)
        running = counted.cummax() if g["direction"].iloc[0] == "maximize" else counted.cummin()
        g["best"] = running.ffill()
        previous = g["best"].shift()
        g["improved"] = g["best"].notna() & (previous.isna() | (g["best"] != previous))
        parts.append(g)
    columns = ["study", "strategy", "completion", "number", "state", *dims, "value", "best", "improved"]
    columns += ["cum_epochs", "cum_seconds", "member", "metric", "direction"]
    if not parts:
        return _with_space(pd.DataFrame(columns=columns), dims)
    return _with_space(pd.concat(parts, ignore_index=True)[columns], dims)


# ---------------------------------------------------------------------------- epochs

#: The columns of :func:`epochs_frame`, in order: the epoch's fields, the built-in model's metrics, its times
#: (then a column per metric of a study's own).
EPOCH_COLUMNS: tuple[str, ...] = (*queries.EPOCH_FIELDS[:-2], *METRICS, *queries.EPOCH_FIELDS[-2:])


def epochs_frame(store: StoreLike = None, names: Names = None, *, trials: Mapping[str, Collection[int]] | None = None) -> pd.DataFrame:
    """The per-epoch metrics of the studies ``names`` (every study when None): one row per
    epoch of each trial's current attempt (epochs of attempts that died are left out).

    ``epoch`` counts from 1 within the trial; ``model_epoch`` is the epochs the model
    has trained after this one (the same, except for a PBT segment, which continues
    from its parent's checkpoint at ``start_epoch``). ``seconds`` is the epoch's time.
    A study scored on a metric of its own has a column of that metric too.
    ``trials`` (study name -> trial numbers) keeps the epochs of those trials only (of a
    study not in it, none): a dashboard page draws the curves of a few hundred trials.
    """
    import pandas as pd

    with reading(store) as opened:
        studies = resolve_studies(opened, names)
        own = [st for st in studies if st.metric not in METRICS]
        metrics = list(dict.fromkeys(st.metric for st in own))
        kept = None if trials is None else {st.id: trials.get(st.name, ()) for st in studies}
        query = queries.epochs([st.id for st in studies], (*METRICS, *metrics), trials=kept)
        rows = opened.fetch(query) if studies else []
    frame = pd.DataFrame.from_records([dict(r._mapping) for r in rows], columns=[*EPOCH_COLUMNS, *metrics])
    order = {st.name: i for i, st in enumerate(studies)}
    frame = frame.sort_values(["study", "number", "epoch"], key=lambda c: c.map(order) if c.name == "study" else c, kind="stable")
    frame["member"] = frame["member"].astype("Int64")
    for column in (*METRICS, "seconds"):
        frame[column] = frame[column].astype(float)
    frame["recorded_at"] = pd.to_datetime(frame["recorded_at"].astype(float), unit="s", utc=True)
    frame = frame.reset_index(drop=True)
    for metric in metrics:  # a study metric of its own (not one of the four columns) gets a column, for the studies it scores
        holders = {st.name for st in own if st.metric == metric}
        frame[metric] = frame[metric].astype(float).where(frame["study"].isin(holders))
    return frame


# ---------------------------------------------------------------------------- best trials


def best_trials_frame(store: StoreLike = None, names: Names = None, *, pareto: bool = False) -> pd.DataFrame:
    """One row per study: its progress, its best trial (the study's result; for PBT the best
    member at the end of training), that trial's hyperparameters (one column per name of the
    studies, as in :func:`trials_frame`) and value, and its test accuracy and loss when the test
    evaluation has been made.

    With ``pareto``, a study of several objectives has one row per trial of its Pareto set instead (its result,
    :attr:`hpsearch.core.results.StudySummary.pareto`, sorted along the first objective), each with that trial's
    test evaluation, and when such a study is among them every row has a column per objective of the studies after
    ``value``, as :func:`trials_frame` has (a study of one objective: its value under its metric)."""
    import pandas as pd

    from hpsearch.running.session import summarize

    rows = []
    with reading(store) as opened:
        studies = resolve_studies(opened, names)
        dims = studies_dimensions(studies)
        several = pareto and any(st.multi_objective for st in studies)
        for study in studies:
            summary = summarize(opened, study)
            results = summary.pareto if several and study.multi_objective and summary.pareto else [summary.best]
            for best in results:
                test = summary.tests.get(best.number) if several and best is not None else summary.test
                row = {
                    "study": study.name,
                    "strategy": study.strategy,
                    "state": study.state.value,
                    "finished": summary.finished,
                    "n_trials": study.n_trials,
                    "best_trial": None if best is None else best.number,
                    **{name: None if best is None else best.params.get(name) for name in dims},
                    "value": None if best is None else best.value,
                    "metric": study.metric,
                    "test_accuracy": None if test is None else test.accuracy,
                    "test_loss": None if test is None else test.loss,
                }
                if several and best is not None:
                    row.update(_objective_values(study.objectives, best.values, best.value))
                rows.append(row)
    extra = _objective_names(studies) if several else []
    columns = ["study", "strategy", "state", "finished", "n_trials", "best_trial", *dims, "value", *extra, "metric"]
    frame = pd.DataFrame.from_records(rows, columns=[*columns, "test_accuracy", "test_loss"])
    frame["best_trial"] = frame["best_trial"].astype("Int64")
    for column in extra:
        frame[column] = frame[column].astype(float)
    if several:
        frame.attrs[OBJECTIVES_ATTR] = _objectives_attr(studies)
    return _with_space(frame, dims)


# ---------------------------------------------------------------------------- several objectives


def _scored(trial: TrialRecord, study: StudyRecord) -> bool:
    """Whether ``trial`` is a result of ``study`` with a value in every objective: COMPLETE, final, all its values."""
    values = trial.values
    return (
        trial.state is TrialState.COMPLETE and values is not None and len(values) == len(study.objectives) and is_final(trial, study.epochs)
    )


def pareto_frame(store: StoreLike = None, names: Names = None) -> pd.DataFrame:
    """The final results of the studies of several objectives among ``names`` (every study when None; studies of one
    objective are left out), one row per COMPLETE final trial with a value in every objective, by study and number.

    Columns: ``study``, ``strategy``, ``number``, one per hyperparameter of the studies (as :func:`trials_frame`), ``value``
    (the first objective's), one per objective of the studies (:func:`objective_column`; empty for a study without it),
    and ``pareto``: whether the trial is in the study's Pareto set (:func:`hpsearch.core.results.study_result`, the one
    rule). The frame records each study's objectives (:func:`frame_objectives`)."""
    import pandas as pd

    with reading(store) as opened:
        studies = [st for st in resolve_studies(opened, names) if st.multi_objective]
        history = {st.name: opened.trials(st.id, with_curves=False) for st in studies}
    dims = studies_dimensions(studies)
    extra = _objective_names(studies)
    rows = []
    for study in studies:
        trials = history[study.name]
        front = {t.number for t in study_result(study, trials).pareto}
        for t in trials:
            if _scored(t, study) or t.number in front:
                rows.append(
                    {
                        "study": study.name,
                        "strategy": study.strategy,
                        "number": t.number,
                        **{name: t.params.get(name) for name in dims},
                        "value": t.value,
                        **_objective_values(study.objectives, t.values, t.value),
                        "pareto": t.number in front,
                    }
                )
    columns = ["study", "strategy", "number", *dims, "value", *extra, "pareto"]
    frame = pd.DataFrame.from_records(rows, columns=columns)
    for column in ("value", *extra):
        frame[column] = frame[column].astype(float)
    frame["pareto"] = frame["pareto"].astype(bool)
    frame.attrs[OBJECTIVES_ATTR] = _objectives_attr(studies)
    return _with_space(frame, dims)


def objective_groups(objectives: Mapping[str, Sequence[Objective]]) -> list[tuple[tuple[Objective, ...], list[str]]]:
    """The studies of several objectives grouped by their objectives (the same metrics and directions, in the same order),
    in order of first appearance: only the studies of one group can share a Pareto plot and a reference point."""
    groups: dict[tuple[Objective, ...], list[str]] = {}
    for name, objs in objectives.items():
        if len(objs) > 1:
            groups.setdefault(tuple(objs), []).append(name)
    return list(groups.items())


def hypervolume_history(store: StoreLike = None, names: Names = None, *, trials: pd.DataFrame | None = None) -> pd.DataFrame:
    """The hypervolume of each study of several objectives among ``names`` after every finished trial, in the order
    trials finished: the volume its Pareto front so far (of its COMPLETE final trials) dominates up to a reference
    point, against the budget spent (``cum_epochs``, ``cum_seconds``, as in :func:`trials_frame`). It never falls;
    it rises when a trial pushes the front out.

    The compared studies of the same objectives share **one** reference point
    (:func:`hpsearch.core.objectives.reference_point` of all their COMPLETE final trials), so their hypervolumes compare
    at equal budget; it is recorded per study in ``frame.attrs[REFERENCE_ATTR]`` (and the objectives in
    :func:`frame_objectives`). Columns: ``study``, ``strategy``, ``completion``, ``number``, ``state``, ``cum_epochs``,
    ``cum_seconds``, ``hypervolume`` (0 until the first COMPLETE trial), ``improved`` (this trial enlarged it) and
    ``front`` (trials in the front so far). ``trials`` is the studies' :func:`trials_frame` when the caller has it."""
    import pandas as pd

    with reading(store) as opened:
        studies = [st for st in resolve_studies(opened, names) if st.multi_objective]
        if trials is None and studies:
            trials = trials_frame(opened, [st.name for st in studies])
    columns = ["study", "strategy", "completion", "number", "state", "cum_epochs", "cum_seconds", "hypervolume", "improved", "front"]
    objectives = {st.name: st.objectives for st in studies}
    references: dict[str, list[float]] = {}
    parts = []
    for group, members in objective_groups(objectives):
        maximize = [o.maximize for o in group]
        value_columns = [objective_column(o.metric) for o in group]
        done = trials[trials["study"].isin(members) & trials["completion"].notna()]  # type: ignore[index]
        scored = done["final"] & (done["state"] == TrialState.COMPLETE.value) & done[value_columns].notna().all(axis=1)
        points = [tuple(map(float, p)) for p in done.loc[scored, value_columns].to_numpy()]
        if not points:
            continue
        reference = reference_point(points, maximize)
        for name in members:
            references[name] = list(reference)
            g = done[done["study"] == name].sort_values("completion")
            front: list[tuple[float, ...]] = []
            volume, volumes, improved, sizes = 0.0, [], [], []
            for ok, point in zip(scored[g.index], g[value_columns].to_numpy()):
                before = volume
                p = tuple(map(float, point))
                if ok and not any(dominates(q, p, maximize) for q in front):
                    front = [q for q in front if not dominates(p, q, maximize)] + [p]
                    volume = hypervolume(front, maximize, reference)
                volumes.append(volume)
                improved.append(volume > before)
                sizes.append(len(front))
            parts.append(g.assign(hypervolume=volumes, improved=improved, front=sizes)[columns])
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    frame.attrs = {OBJECTIVES_ATTR: _objectives_attr(studies), REFERENCE_ATTR: references}
    return frame


# ---------------------------------------------------------------------------- importance

#: Fewer COMPLETE trials than this give no importance (a forest on two points says nothing).
MIN_IMPORTANCE_TRIALS = 4


@dataclass(frozen=True)
class ParamImportance:
    """How much of the variation of a study's results each hyperparameter explains (fANOVA).

    ``importances`` maps hyperparameter to its share (the shares add up to 1), most
    important first; it is empty when there is nothing to measure, and ``note`` says why.
    Fixed hyperparameters, and those that never varied among the trials, are left out.
    ``dimensions`` are the study's hyperparameters in their declared order.
    """

    study: str
    importances: dict[str, float]
    trials: int
    note: str | None = None
    dimensions: tuple[str, ...] = ()

    def frame(self) -> pd.DataFrame:
        """The importances as a DataFrame: ``study``, ``hyperparameter``, ``importance``."""
        import pandas as pd

        rows = [{"study": self.study, "hyperparameter": k, "importance": v} for k, v in self.importances.items()]
        return pd.DataFrame(rows, columns=["study", "hyperparameter", "importance"])


def _varying(space: SearchSpace, params: Sequence[dict[str, Any]]) -> list[str]:
    """Hyperparameters of ``space`` that are not fixed, that every one of ``params`` has (fANOVA rates only those: a
    conditional dimension some trials lack is left out) and that take two values or more in ``params``."""
    out = []
    for name, dim in space.items():
        fixed = isinstance(dim, Choice) and len(dim.choices) == 1
        if not fixed and all(name in p for p in params) and len({repr(p[name]) for p in params}) > 1:
            out.append(name)
    return out


def param_importance(store: StoreLike, name: str, *, seed: int = 0) -> ParamImportance:
    """Hyperparameter importance of study ``name``, by Optuna's fANOVA evaluator fed from the store.

    The COMPLETE trials (for PBT: each member's final result, with the hyperparameters
    of its last segment) are replayed into an in-memory Optuna study and handed to
    :func:`optuna.importance.get_param_importances`. Too few trials, no varying
    hyperparameter or results that are all equal give empty importances and a note,
    never an exception.
    """
    from hpsearch.search.optuna_replay import optuna_study_from_history

    with reading(store) as opened:
        study = resolve_studies(opened, [name])[0]
        records = opened.trials(study.id, with_curves=False)
    space = study_space(study)
    done = [
        t
        for t in records
        if t.state is TrialState.COMPLETE
        and t.value is not None
        and math.isfinite(t.value)
        and is_final(t, study.epochs)
        and space.contains(t.params)
    ]
    declared = tuple(space)
    if len(done) < MIN_IMPORTANCE_TRIALS:
        note = f"needs {MIN_IMPORTANCE_TRIALS} completed trials, has {len(done)}"
        return ParamImportance(name, {}, len(done), note, declared)
    varying = _varying(space, [t.params for t in done])
    if not varying:
        return ParamImportance(name, {}, len(done), "no hyperparameter varies among the completed trials", declared)
    if len({t.value for t in done}) == 1:
        return ParamImportance(name, {}, len(done), "every completed trial has the same value", declared)
    import optuna

    replay = optuna_study_from_history(space, done, maximize=study.maximize)
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    values = optuna.importance.get_param_importances(replay, evaluator=evaluator, params=varying)
    ordered = dict(sorted(((k, float(v)) for k, v in values.items()), key=lambda kv: -kv[1]))
    partial = [n for n in space if any(n in t.params for t in done) and not all(n in t.params for t in done)]
    note = f"not rated: {', '.join(partial)} (only some trials have them)" if partial else None
    return ParamImportance(name, ordered, len(done), note, dimensions=declared)
