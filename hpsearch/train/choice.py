"""Choosing a study's trainer, once: the checks a study must pass before anything is written, and the trainer
it names (the population trainer or the per-trial Keras trainer of the built-in model, or the per-trial
Keras trainer of the study's own model and data). The runner, the workers, ask/tell and ``hpsearch
validate`` all ask here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from hpsearch.core.builtin_model import BUILTIN_DIMENSIONS, COST_METRICS, SGD_ONLY
from hpsearch.core.config import StudyConfig
from hpsearch.core.errors import ConfigError
from hpsearch.core.space import check_builtin_conditions
from hpsearch.train.trainer import METRICS, Trainer

__all__ = ["check_builtin_study", "check_trainable", "make_trainer", "with_own_model"]


def check_builtin_study(config: StudyConfig) -> None:
    """Refuse, before anything is written, a study the built-in model cannot train: a dimension it
    does not have, or an objective's metric it does not report (Keras's four, or its cost)."""
    if not config.builtin_model:
        name = next((n for n in config.space if n not in BUILTIN_DIMENSIONS), None)
        sgd_alone = name is None  # only built-in names, SGD's among them, and no optimizer: read as a space of one's own
        name = next(n for n in config.space if n in SGD_ONLY) if sgd_alone else name
        written = config.written("space", name)
        value = written if written is not None else config.space.describe()[name]  # the value as the study file wrote it
        if sgd_alone:
            rule = 'is SGD\'s: the built-in model searches it beside `optimizer` (optimizer = ["sgd"], or a list with when)'
            raise ConfigError(f"space.{name}", value, rule, source=config.source)
        raise ConfigError(
            f"space.{name}",
            value,
            f"the built-in model has no such hyperparameter; expected one of {', '.join(BUILTIN_DIMENSIONS)}"
            ' (name your own model with `model = "package.module:function"` to search others)',
            source=config.source,
        )
    check_builtin_conditions(config.space)
    reported = (*METRICS, *COST_METRICS)
    for i, objective in enumerate(config.objectives):
        if objective.metric not in reported:
            raise ConfigError(
                f"objective.metrics[{i}]" if config.multi_objective else "objective.metric",
                objective.metric,
                f"the built-in model reports {', '.join(reported)}; a metric of your own comes from your own model "
                '(model = "package.module:function"), loop (hpsearch.open_study) or trainer (run_study(..., trainer=...))',
                source=config.source,
            )


def with_own_model(config: StudyConfig, model: Callable[..., Any] | None, data: Callable[..., Any] | None) -> StudyConfig:
    """``config`` recording a model builder and data loader given as Python objects (by ``module:name``,
    compared on resume like the study file's settings); the study then trains per trial unless its document names
    ``[training] trainer = "population"`` (its trials then train together: :mod:`hpsearch.train.keras.branches`)."""
    from hpsearch.core.space import parse_space
    from hpsearch.train.keras.user import callable_name

    changes: dict[str, Any] = {}
    if model is not None and config.model is None:
        changes["model"] = callable_name(model)
        if config.document is not None and "space" in config.document:
            changes["space"] = parse_space(config.document["space"], builtin=False)  # exactly the declared dimensions
    if data is not None and config.data.loader is None:
        changes["data"] = replace(config.data, loader=callable_name(data))
    if changes and config.written("training", "trainer") != "population":
        changes["training"] = replace(config.training, trainer="keras")
    return replace(config, **changes)


def check_trainable(
    config: StudyConfig, model: Callable[..., Any] | None = None, data: Callable[..., Any] | None = None
) -> tuple[Callable[..., Any] | None, Callable[..., Any] | None]:
    """Everything the study's own trainer needs, checked before the store is written: the built-in
    model's space and metric, or the study's own builder and loader (imported, the data loaded and one
    model built). Returns the builder and loader (None for the built-in ones)."""
    if model is None and data is None and config.model is None and config.data.loader is None:
        check_builtin_study(config)
        return None, None
    from hpsearch.train.keras.user import check_user_study

    if config.model is None and model is None:
        check_builtin_study(config)
    try:
        return check_user_study(config, model, data)
    except ConfigError as err:
        raise (err.with_source(config.source) if config.source and not err.source else err) from None


def make_trainer(
    config: StudyConfig, n_trials: int, model: Callable[..., Any] | None = None, data: Callable[..., Any] | None = None
) -> Trainer:
    """The trainer ``config`` names (``[training] trainer``), built (and Keras imported) now. For the study's own ``model``
    or ``data`` (as :func:`check_trainable` returned them): per trial, or with ``population`` the trials of a claim
    together as branches of one graph. For the built-in model: the population trainer or the per-trial Keras trainer.
    ``n_trials`` is the study's budget (a population is never wider)."""
    if config.training.trainer != "population":
        from hpsearch.train.keras import KerasTrainer

        return KerasTrainer(config.data, config.training, model=model, loader=data)
    if model is not None or data is not None:
        from hpsearch.train.keras.branches import BranchTrainer

        training = replace(config.training, population=min(config.training.population, n_trials))
        return BranchTrainer(config.data, training, model=model, loader=data, study_seed=config.seed)
    from hpsearch.train.population.trainer import PopulationTrainer, columns_for_space, narrowest_width

    space = config.space
    optimizers = tuple(str(v) for v in space["optimizer"].grid_values())
    # room for the trials that can train together: no more than the budget (or PBT's population) has
    together = min(config.training.population, n_trials, *([config.pbt.population] if config.pbt else []))
    return PopulationTrainer(
        config.data,
        config.training,
        study_seed=config.seed,
        optimizers=optimizers,
        columns=columns_for_space(space, together),
        narrowest=narrowest_width(space),
    )
