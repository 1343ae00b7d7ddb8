"""Plotly figures that compare studies, drawn only from the frames of :mod:`hpsearch.read.frames`.

One module per figure, each holding its data step (a DataFrame in, a DataFrame out,
testable on its own) and its drawing function (frames in, a ``plotly.graph_objects.Figure``
out), as Optuna's ``optuna/visualization/`` does:

=============================  ================================================================
:mod:`.best_so_far`            best value so far against epochs and time spent
:mod:`.distribution`           the final results of each study
:mod:`.parallel`               parallel coordinates (WebGL ``parcoords`` or SVG lines)
:mod:`.slices`                 the result against each hyperparameter
:mod:`.learning_curves`        the study metric after every epoch of every trial
:mod:`.pbt_schedule`           each PBT member's hyperparameters over epochs
:mod:`.pbt_lineage`            who copied whom in a PBT study; a trial's ancestry
:mod:`.evolution_lineage`      generations and parents of an evolution study
:mod:`.rungs`                  where the trials of a study with early stopping stopped
:mod:`.importance`             hyperparameter importance (fANOVA)
:mod:`.pareto_front`           results of several objectives, each study's Pareto front (2-D or 3-D)
:mod:`.hypervolume`            hypervolume of each Pareto front against epochs spent
:mod:`.common`                 the look, labels, hovers, the empty figure and the best trial
=============================  ================================================================

Axes carry units, hovering a point shows the study, the trial number and its
hyperparameters, and a study with nothing to show yet gives a figure that says so
(:func:`empty_figure`) instead of raising. This package re-exports every public name:

    from hpsearch.read import frames
    from hpsearch.show import plots
    trials = frames.trials_frame("hpsearch.db", ["grid", "tpe", "pbt"])
    plots.best_so_far_figure(frames.best_so_far(trials)).show()
"""

from __future__ import annotations

from hpsearch.show.plots.best_so_far import best_so_far_figure
from hpsearch.show.plots.common import (
    PARAM_LABELS,
    TEMPLATE,
    best_trial_numbers,
    empty_figure,
    is_empty,
    metric_label,
    param_label,
    param_name,
    study_colors,
)
from hpsearch.show.plots.distribution import distribution_figure
from hpsearch.show.plots.evolution_lineage import evolution_lineage_figure
from hpsearch.show.plots.hypervolume import hypervolume_figure
from hpsearch.show.plots.importance import importance_figure
from hpsearch.show.plots.learning_curves import learning_curves_data, learning_curves_figure
from hpsearch.show.plots.parallel import PARALLEL_BANDS, ParallelAxis, parallel_axes, parallel_figure, parallel_lines_figure
from hpsearch.show.plots.pareto_front import objective_label, pareto_figure
from hpsearch.show.plots.pbt_lineage import ancestry, lineage_edges, pbt_lineage_figure
from hpsearch.show.plots.pbt_schedule import pbt_schedule_figure, schedule_steps
from hpsearch.show.plots.rungs import rungs_figure
from hpsearch.show.plots.slices import slice_figure

__all__ = [
    "PARAM_LABELS",
    "PARALLEL_BANDS",
    "TEMPLATE",
    "ParallelAxis",
    "ancestry",
    "best_so_far_figure",
    "best_trial_numbers",
    "distribution_figure",
    "empty_figure",
    "evolution_lineage_figure",
    "hypervolume_figure",
    "importance_figure",
    "is_empty",
    "learning_curves_data",
    "learning_curves_figure",
    "lineage_edges",
    "metric_label",
    "objective_label",
    "param_label",
    "param_name",
    "parallel_axes",
    "parallel_figure",
    "parallel_lines_figure",
    "pareto_figure",
    "pbt_lineage_figure",
    "pbt_schedule_figure",
    "rungs_figure",
    "schedule_steps",
    "slice_figure",
    "study_colors",
]
