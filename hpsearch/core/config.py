"""Study files (TOML) turned into a validated, typed, immutable configuration.

Every rule is checked here, before anything touches the store, and every error
names the field, the value given and the rule (:class:`hpsearch.core.errors.ConfigError`).

This module parses the study file's generic parts. What a strategy or a pruning rule adds (its
own table, such as ``[evolution]``, and its rules about the budget, the space and pruning) is
checked by the options type its own module declares (:class:`StrategyOptions`,
:class:`PruningOptions`), which the registries of :mod:`hpsearch.search` hand to this module
(:func:`register_strategy`, :func:`register_pruning_rule`): the core floor cannot import the
search floor, and ``hpsearch/__init__`` imports :mod:`hpsearch.search` before anything of
hpsearch can be used, so every study is parsed with every strategy and rule registered.
"""

from __future__ import annotations

import dataclasses
import re
import tomllib
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar, Self

from hpsearch.core.builtin_model import METRIC_DIRECTIONS, METRICS
from hpsearch.core.errors import ConfigError, ConfigWarning
from hpsearch.core.limits import LIMITS, check
from hpsearch.core.objectives import Objective
from hpsearch.core.space import SearchSpace, is_builtin_space, parse_space

__all__ = [
    "DATASETS",
    "Budget",
    "DataConfig",
    "PruningConfig",
    "PruningOptions",
    "StrategyOptions",
    "TRAINERS",
    "StudyConfig",
    "TrainingConfig",
    "config_from_stored",
    "has_lineage",
    "load_study",
    "parse_study",
    "parse_duration",
    "pruning_rule_names",
    "register_pruning_rule",
    "register_strategy",
    "strategy_names",
]

#: The direction of the metrics the built-in model reports (its spec: :mod:`hpsearch.core.builtin_model`).
KNOWN_DIRECTIONS: dict[str, str] = METRIC_DIRECTIONS
#: The directions a study's identity leaves out: those known when identities were first recorded (Keras's four metrics).
_IMPLIED_DIRECTIONS: dict[str, str] = {m: METRIC_DIRECTIONS[m] for m in METRICS}
_METRIC_RULE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
#: Columns of the per-epoch tables and frames that a metric may not be called.
_RESERVED_METRIC_NAMES = frozenset(
    {"seconds", "epoch", "attempt", "trial_id", "recorded_at", "number", "study", "state", "member", "model_epoch", "strategy", "value"}
)

DATASETS: tuple[str, ...] = ("mnist", "fashion_mnist", "mnist-sample")
#: Training images of each dataset, before the validation split.
TRAINING_IMAGES: dict[str, int] = {"mnist": 60_000, "fashion_mnist": 60_000, "mnist-sample": 4_000}
_NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")


@dataclass(frozen=True)
class Budget:
    """How much a study may spend.

    ``trials``: finished trials the study ends with (a grid defaults to its size);
    ``epochs``: epochs each trial trains; ``timeout``: seconds after which one run
    of the study starts no new trial (the study can be resumed later).
    """

    trials: int | None
    epochs: int
    timeout: float | None = None


@dataclass(frozen=True)
class DataConfig:
    """Which digits to train on and how to split them."""

    dataset: str = "mnist-sample"
    data_dir: str | None = None
    validation_size: int | None = None
    train_size: int | None = None
    #: ``"package.module:function"`` returning the study's own data (:mod:`hpsearch.train.keras.user`); replaces ``dataset``.
    loader: str | None = None


#: The trainers a study may name in ``[training] trainer``.
TRAINERS: tuple[str, ...] = ("keras", "population")


@dataclass(frozen=True)
class TrainingConfig:
    """How each trial trains.

    ``trainer``: ``population`` (the default) trains the trials a run hands over together, up
    to ``population`` members in one compiled computation (:mod:`hpsearch.train.population`);
    ``keras`` trains one Keras ``fit`` per trial (``steps_per_execution`` steps per Keras
    call), the reference the population trainer is tested against. A study of its own model or data
    defaults to ``keras``; with ``population`` its trials train together, each its own Keras model,
    stepped by one compiled TensorFlow function (:mod:`hpsearch.train.keras.branches`).
    """

    batch_size: int = 32
    steps_per_execution: int = 100
    trainer: str = "population"
    population: int = 16
    #: The hidden columns of one population at most (a wider claim trains as several in turn); 0: one
    #: per claim; None: the machine's default (:func:`hpsearch.train.population.trainer.default_tile_columns`).
    tile_columns: int | None = None


@dataclass(frozen=True)
class PruningConfig:
    """Optional per-epoch pruning (the ``[pruning]`` table).

    ``rule`` is ``median`` (Optuna's median rule: stop a trial whose value at an epoch is below the
    median of the finished trials' values there, once ``startup_trials`` finished, after
    ``warmup_epochs``), ``successive_halving`` (asynchronous successive halving: at the rungs
    ``min_epochs * reduction_factor**k`` a trial goes on only if it is in the top
    ``1 / reduction_factor`` of the trials that reached that rung before it) or ``hyperband``
    (brackets of successive halving with ``min_epochs`` scaled by ``reduction_factor**s``; each
    trial is drawn into one bracket and compared within it).
    """

    enabled: bool = False
    startup_trials: int = 5
    warmup_epochs: int = 1
    rule: str = "median"
    min_epochs: int = 1
    reduction_factor: int = 3


class StrategyOptions:
    """What a strategy adds to a study file, declared in the strategy's own module next to its class
    (``OPTIONS = GPConfig``) and registered with it (:mod:`hpsearch.search.strategies`).

    A subclass that is a frozen dataclass gives the strategy a table of its name (``[gp]``): the
    fields are the table's keys, each bounded by ``LIMITS["<strategy>.<key>"]`` (:meth:`parse`).
    The other hooks are the strategy's rules about the rest of the study: its budget
    (:meth:`budget`, :meth:`trials`) and what it needs of the space and of pruning (:meth:`check`).
    A strategy with neither a table nor rules of its own uses this class itself.
    """

    #: Whether the strategy runs a study of several objectives (grid, random, qmc, TPE and NSGA-II do; one that ranks
    #: trials by one value sets it False, and such a study is refused in one line naming it).
    SEVERAL_OBJECTIVES: ClassVar[bool] = True
    #: Whether the strategy breeds children from parents and stores its lineage (evolution and NSGA-II: the readers draw it).
    LINEAGE: ClassVar[bool] = False

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        """The keys of the strategy's table (none: the strategy takes no table)."""
        return tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else ()

    @classmethod
    def parse(cls, table: Mapping[str, Any], *, strategy: str, space: SearchSpace) -> Self:
        """The options of the strategy's table (whose keys are known to be :meth:`keys`): each key
        checked against ``LIMITS["<strategy>.<key>"]``, a missing one at the field's default."""
        if not dataclasses.is_dataclass(cls):
            return cls()
        return cls(**{f.name: check(f"{strategy}.{f.name}", table.get(f.name, f.default)) for f in dataclasses.fields(cls)})

    def budget(self, table: Mapping[str, Any], *, strategy: str, space: SearchSpace) -> Budget:
        """The study's budget from its ``[budget]`` table: ``epochs`` required, ``trials`` as :meth:`trials` decides."""
        if "epochs" not in table:
            raise ConfigError("budget.epochs", None, "required: the epochs each trial trains")
        epochs = _number("budget.epochs", table, "epochs")
        trials = _number("budget.trials", table, "trials") if "trials" in table else None
        timeout = parse_duration("budget.timeout", table["timeout"]) if "timeout" in table else None
        return Budget(trials=self.trials(trials, strategy=strategy, space=space), epochs=epochs, timeout=timeout)

    def trials(self, trials: int | None, *, strategy: str, space: SearchSpace) -> int:
        """The trials the study runs, given ``budget.trials`` (None when the file has none): required by default."""
        if trials is None:
            raise ConfigError("budget.trials", None, f"required for a {strategy} study: the number of trials to run")
        return trials

    def check(self, *, space: SearchSpace, pruning: PruningConfig) -> None:
        """Rules across the study's tables (called once the space, the budget and pruning are parsed)."""

    def identity(self) -> dict[str, Any]:
        """The table as stored in the study's identity (:meth:`StudyConfig.identity`)."""
        return _asdict(self)


class PruningOptions:
    """A pruning rule's rules about the ``[pruning]`` table, declared in its own module next to the rule
    (``OPTIONS = ...``) and registered with it (:mod:`hpsearch.search.pruning`). The table's keys are
    the same for every rule (:class:`PruningConfig`, part of a study's identity); this checks what a rule
    needs of their values."""

    @classmethod
    def check(cls, pruning: PruningConfig, *, epochs: int) -> None:
        """Refuse, with a :class:`ConfigError`, settings the rule cannot run (pruning is enabled; ``epochs``: the budget's)."""


#: Each strategy's options type and each pruning rule's, by name, in the order registered (filled by the
#: registries of :mod:`hpsearch.search`).
_STRATEGY_OPTIONS: dict[str, type[StrategyOptions]] = {}
_PRUNING_OPTIONS: dict[str, type[PruningOptions]] = {}


def register_strategy(name: str, options: type[StrategyOptions]) -> None:
    """Make ``strategy = "<name>"`` valid in a study file, its table and rules checked by ``options``."""
    _STRATEGY_OPTIONS[name] = options


def register_pruning_rule(name: str, options: type[PruningOptions]) -> None:
    """Make ``[pruning] rule = "<name>"`` valid in a study file, its settings checked by ``options``."""
    _PRUNING_OPTIONS[name] = options


def strategy_names() -> tuple[str, ...]:
    """The strategies a study may name, in the order registered."""
    return tuple(_registered(_STRATEGY_OPTIONS))


def has_lineage(strategy: str) -> bool:
    """Whether studies of ``strategy`` store a lineage of parents and children (:attr:`StrategyOptions.LINEAGE`)."""
    options = _STRATEGY_OPTIONS.get(strategy)
    return options is not None and options.LINEAGE


def pruning_rule_names() -> tuple[str, ...]:
    """The pruning rules a study may name, in the order registered."""
    return tuple(_registered(_PRUNING_OPTIONS))


def _registered(table: dict[str, Any]) -> dict[str, Any]:
    if not table:  # only if hpsearch.search was never imported: importing hpsearch imports it
        raise RuntimeError("no strategies or pruning rules are registered: import hpsearch.search first")
    return table


def _option_tables() -> list[str]:
    """The strategies that have a table of their own (``[evolution]``, ``[pbt]`` ...)."""
    return [name for name, options in _registered(_STRATEGY_OPTIONS).items() if options.keys()]


def __getattr__(name: str) -> Any:
    """The names this module had before the registries: ``STRATEGIES``, ``PRUNING_RULES`` and each
    strategy's options type by its class name (``PBTConfig``; its home is the strategy's module)."""
    if name == "STRATEGIES":
        return strategy_names()
    if name == "PRUNING_RULES":
        return pruning_rule_names()
    for options in _STRATEGY_OPTIONS.values():
        if options.__name__ == name:
            return options
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class StudyConfig:
    """A validated study: what to search, how, with what budget, on which data."""

    name: str
    strategy: str
    space: SearchSpace
    budget: Budget
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    pruning: PruningConfig = field(default_factory=PruningConfig)
    metric: str = "val_accuracy"
    direction: str = "maximize"
    #: Every objective of the study, the first being :attr:`metric` and :attr:`direction` (left empty in code, it is
    #: that one; a study of several objectives has a Pareto set for a result: :mod:`hpsearch.core.objectives`).
    objectives: tuple[Objective, ...] = ()
    #: The strategy's own table (``[evolution]``, ``[pbt]`` ...: its module's options type); None for a strategy without one.
    options: StrategyOptions | None = None
    #: ``"package.module:function"``: the study's own model builder (None: the built-in MNIST model).
    model: str | None = None
    source: str | None = None
    #: The study document this config was parsed from (stored, so that workers can rebuild the config).
    document: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    #: Identity settings that studies created by earlier versions did not record, at the value they had then
    #: (the store fills them in before comparing): before it was a setting, every study trained per trial.
    IDENTITY_DEFAULTS: ClassVar[dict[str, Any]] = {
        "training": {"trainer": "keras"},
        "pruning": {"rule": "median", "min_epochs": 1, "reduction_factor": 3},
    }

    def __post_init__(self) -> None:
        if len(self.objectives) <= 1:  # one objective: metric and direction are it (a replace() of either changes it)
            object.__setattr__(self, "objectives", (Objective(self.metric, self.direction),))
        else:
            object.__setattr__(self, "metric", self.objectives[0].metric)
            object.__setattr__(self, "direction", self.objectives[0].direction)

    @property
    def multi_objective(self) -> bool:
        """Whether the study has several objectives (its result is a Pareto set)."""
        return len(self.objectives) > 1

    def written(self, table: str, key: str) -> Any:
        """What the study document wrote for ``key`` in its ``[table]``: None where it wrote nothing (or for a config
        made in code, which has no document)."""
        section = (self.document or {}).get(table)
        return section.get(key) if isinstance(section, Mapping) else None

    @property
    def pbt(self) -> Any:
        """The ``[pbt]`` options of a PBT study (None for any other): :meth:`table` under its old name."""
        return self.table("pbt")

    def table(self, name: str) -> Any:
        """The options of the strategy table ``name`` (``"gp"``): this study's :attr:`options` if it is its strategy's, else None."""
        return self.options if name == self.strategy else None

    @property
    def builtin_model(self) -> bool:
        """Whether the study trains the built-in MNIST model (no model of its own, only built-in dimensions)."""
        return self.model is None and is_builtin_space(self.space)

    def identity(self) -> dict[str, Any]:
        """What must match for a study file to resume an existing study of the same name.

        The trial budget, the timeout and where the data files live may change
        between runs; the search itself (strategy, space, seed, epochs, data,
        training) may not.
        """
        return {
            "strategy": self.strategy,
            "space": self.space.describe(),
            "seed": self.seed,
            "epochs": self.budget.epochs,
            "data": {k: v for k, v in _asdict(self.data).items() if k != "data_dir" and not (k == "loader" and v is None)},
            **({"model": self.model} if self.model is not None else {}),
            "training": _training_identity(self.training),
            "pruning": _asdict(self.pruning),
            "metric": self.metric,
            # the direction, where it is not the metric's own (studies of val_accuracy or val_loss recorded none; a study
            # of a metric whose direction became known later, such as params, recorded its direction and keeps it)
            **({"direction": self.direction} if _IMPLIED_DIRECTIONS.get(self.metric) != self.direction else {}),
            **({self.strategy: self.options.identity()} if self.options is not None else {}),
            # several objectives: every one, in order (a study of one recorded only its metric and direction)
            **({"objectives": [[o.metric, o.direction] for o in self.objectives]} if self.multi_objective else {}),
        }

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able form of the whole configuration, stored with the study."""
        return {
            "name": self.name,
            **self.identity(),
            "budget": _asdict(self.budget),
            "direction": self.direction,
            "document": self.document,
            "source": str(Path(self.source).resolve()) if self.source else None,  # where its own model is imported from
        }

    def with_overrides(self, **changes: Any) -> StudyConfig:
        return replace(self, **changes)


def _training_identity(training: TrainingConfig) -> dict[str, Any]:
    """What of ``[training]`` a study is: the population size changes only speed (a member trains the same
    in any company); ``steps_per_execution`` matters only to the per-trial trainer."""
    out = _asdict(training)
    out.pop("population")
    out.pop("tile_columns")
    if out["trainer"] != "keras":
        out.pop("steps_per_execution")
    return out


def _asdict(obj: Any) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in obj.__dataclass_fields__}


# --------------------------------------------------------------------------- parsing helpers


def _table(doc: Mapping[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(key, value, "must be a table ([" + key + "])")
    unknown = set(value) - allowed
    if unknown:
        bad = sorted(unknown)[0]
        raise ConfigError(f"{key}.{bad}", value[bad], f"unknown key; expected one of {', '.join(sorted(allowed))}")
    return value


def _number(field_name: str, doc: Mapping[str, Any], key: str, default: Any = None) -> Any:
    """``doc[key]`` (else ``default``) checked against ``LIMITS[field_name]``."""
    return check(field_name, doc.get(key, default))


def _bool(field_name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(field_name, value, "must be true or false")
    return value


_DURATION = re.compile(r"^\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*(?:(\d+(?:\.\d+)?)\s*m)?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$")


def parse_duration(field_name: str, value: Any, *, limit: str = "budget.timeout") -> float:
    """Seconds from a number (seconds) or a string such as ``"90s"``, ``"30m"``, ``"1h30m"``,
    within the bound ``LIMITS[limit]`` (over 0 s, at most a year); the error shows ``value`` as given."""
    seconds: Any = value
    if isinstance(value, str):
        seconds = None
        if re.fullmatch(r"\s*\d+(\.\d+)?\s*", value):
            seconds = float(value)
        elif value.strip() and (m := _DURATION.match(value)) and any(m.groups()):
            h, mi, s = (float(g) if g else 0.0 for g in m.groups())
            seconds = h * 3600 + mi * 60 + s
    bound = LIMITS[limit]
    if not bound.holds(seconds):
        raise ConfigError(field_name, value, bound.rule())
    return float(seconds)


#: The study file's generic tables and keys (each strategy's own table joins them: :func:`_option_tables`).
_GENERIC_KEYS = frozenset({"name", "strategy", "seed", "model", "budget", "data", "training", "space", "pruning", "objective"})
#: ``package.module:function`` (a model builder or a data loader).
_CALLABLE_RULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _callable_path(field_name: str, value: Any) -> str:
    if not isinstance(value, str) or not _CALLABLE_RULE.fullmatch(value):
        raise ConfigError(field_name, value, 'must name a function as "package.module:function"')
    return value


def parse_study(doc: Mapping[str, Any], *, default_name: str | None = None, source: str | None = None) -> StudyConfig:
    """Validate a parsed study document (the dict of a TOML file)."""
    try:
        config = _parse_study(doc, default_name)
    except ConfigError as err:
        raise (err.with_source(source) if source and not err.source else err) from None
    for objective in config.objectives:
        _warn_of_direction(objective.metric, objective.direction, source)
    return replace(config, source=source, document=_plain_document(doc))


def _warn_of_direction(metric: str, direction: str, source: str | None) -> None:
    """A :class:`ConfigWarning` when the study optimises a built-in metric against its own direction
    (``val_loss`` maximized: the search would look for the worst model)."""
    known = KNOWN_DIRECTIONS.get(metric)
    if known is None or known == direction:
        return
    where = f"{source if source.isprintable() else repr(source)}: " if source else ""  # one line, as ConfigError
    worst = "highest" if direction == "maximize" else "lowest"
    warnings.warn(
        f"{where}objective.direction = {direction!r}: {metric} is a metric to {known} (the best model has the "
        f"{'lowest' if known == 'minimize' else 'highest'}); this study looks for the {worst} {metric}, "
        f"the worst model: leave direction out, or set it to {known!r}",
        ConfigWarning,
        stacklevel=3,
    )


def _plain_document(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The study document as plain JSON-able data (TOML dates and times become strings)."""
    import json

    return json.loads(json.dumps(dict(doc), default=str))  # type: ignore[no-any-return]


def config_from_stored(name: str, stored: Mapping[str, Any]) -> StudyConfig:
    """Rebuild a study's config from what the store holds (for workers that join a study by name)."""
    document = stored.get("document")
    if not isinstance(document, dict):
        raise ConfigError("study", name, "the store holds no study document for it (created by an older hpsearch?)")
    return parse_study({**document, "name": name}, default_name=name, source=stored.get("source"))


def _parse_study(doc: Mapping[str, Any], default_name: str | None) -> StudyConfig:
    """A study document validated table by table, in the order a reader meets its errors: its keys, name, strategy,
    seed, model, space, the strategy's own table, budget, data, training, pruning and objective."""
    top_keys = _GENERIC_KEYS | set(_option_tables())
    unknown = set(doc) - top_keys
    if unknown:
        bad = sorted(unknown)[0]
        raise ConfigError(bad, doc[bad], f"unknown key; expected one of {', '.join(sorted(top_keys))}")

    name = doc.get("name", default_name)
    if name is None:
        raise ConfigError("name", None, "a study needs a name")
    if not isinstance(name, str) or not _NAME_RULE.fullmatch(name):
        raise ConfigError("name", name, "must be 1-100 letters, digits, '_', '-' or '.', starting with a letter or digit")

    strategies = strategy_names()
    if "strategy" not in doc:
        raise ConfigError("strategy", None, f"required; one of {', '.join(strategies)}")
    strategy = doc["strategy"]
    if strategy not in strategies:
        raise ConfigError("strategy", strategy, f"must be one of {', '.join(strategies)}")

    seed = _number("seed", doc, "seed", 0)
    model = _callable_path("model", doc["model"]) if "model" in doc else None
    space = parse_space(doc.get("space"), builtin=False if model is not None else None)

    for other in _option_tables():
        if other != strategy and other in doc:
            raise ConfigError(other, doc[other], f'a [{other}] table only goes with strategy = "{other}" (this study is {strategy})')
    kind = _STRATEGY_OPTIONS[strategy]
    rules = kind.parse(_table(doc, strategy, set(kind.keys())) if kind.keys() else {}, strategy=strategy, space=space)
    budget = rules.budget(_table(doc, "budget", {"trials", "epochs", "timeout"}), strategy=strategy, space=space)

    data = _parse_data(doc)
    training = _parse_training(doc, space, model=model, loader=data.loader)
    pruning = _parse_pruning(doc, budget.epochs)
    rules.check(space=space, pruning=pruning)
    objectives = _parse_objectives(doc, space)
    if len(objectives) > 1:
        _check_several_objectives(strategy, rules, pruning)

    return StudyConfig(
        name=name,
        strategy=strategy,
        space=space,
        budget=budget,
        seed=seed,
        data=data,
        training=training,
        pruning=pruning,
        metric=objectives[0].metric,
        direction=objectives[0].direction,
        objectives=objectives,
        options=rules if rules.keys() else None,
        model=model,
    )


def _parse_data(doc: Mapping[str, Any]) -> DataConfig:
    """The ``[data]`` table: a built-in dataset (and where it is, how it is split), or a loader of one's own."""
    d = _table(doc, "data", {"dataset", "data_dir", "validation_size", "train_size", "loader"})
    loader = _callable_path("data.loader", d["loader"]) if "loader" in d else None
    if loader is not None and set(d) - {"loader"}:
        bad = sorted(set(d) - {"loader"})[0]
        raise ConfigError(f"data.{bad}", d[bad], "a study with its own data.loader splits its data itself; remove this key")
    dataset = d.get("dataset", "mnist-sample")
    if dataset not in DATASETS:
        raise ConfigError("data.dataset", dataset, f"must be one of {', '.join(DATASETS)}")
    data_dir = d.get("data_dir")
    if data_dir is not None and not isinstance(data_dir, str):
        raise ConfigError("data.data_dir", data_dir, "must be a path (a string)")
    data = DataConfig(
        dataset=dataset,
        data_dir=data_dir,
        validation_size=_number("data.validation_size", d, "validation_size") if "validation_size" in d else None,
        train_size=_number("data.train_size", d, "train_size") if "train_size" in d else None,
        loader=loader,
    )
    if data.validation_size is not None and data.validation_size >= TRAINING_IMAGES[dataset]:
        raise ConfigError(
            "data.validation_size",
            data.validation_size,
            f"must be smaller than the {TRAINING_IMAGES[dataset]} training images of {dataset}",
        )
    return data


def _parse_training(doc: Mapping[str, Any], space: SearchSpace, *, model: str | None, loader: str | None) -> TrainingConfig:
    """The ``[training]`` table: the trainer and its settings. A study of its own model or data trains per trial (``keras``)
    unless it names ``population`` (its trials then train together: :mod:`hpsearch.train.keras.branches`)."""
    t = _table(doc, "training", {"batch_size", "steps_per_execution", "trainer", "population", "tile_columns"})
    own = "model" if model is not None else "data.loader" if loader is not None else None
    trainer = t.get("trainer", TrainingConfig.trainer if own is None else "keras")
    if trainer not in TRAINERS:
        raise ConfigError("training.trainer", trainer, f"must be one of {', '.join(TRAINERS)}")
    if "batch_size" in space and "batch_size" in t:
        raise ConfigError("training.batch_size", t["batch_size"], "the space searches batch_size; set it in [space] only")
    return TrainingConfig(
        batch_size=_number("training.batch_size", t, "batch_size", TrainingConfig.batch_size),
        steps_per_execution=_number("training.steps_per_execution", t, "steps_per_execution", TrainingConfig.steps_per_execution),
        trainer=trainer,
        population=_number("training.population", t, "population", TrainingConfig.population),
        tile_columns=_number("training.tile_columns", t, "tile_columns", None) if "tile_columns" in t else None,
    )


def _parse_pruning(doc: Mapping[str, Any], epochs: int) -> PruningConfig:
    """The ``[pruning]`` table, checked by its rule's own options type (the rules are registered by :mod:`hpsearch.search.pruning`)."""
    p = _table(doc, "pruning", {"enabled", "rule", "startup_trials", "warmup_epochs", "min_epochs", "reduction_factor"})
    rule = p.get("rule", PruningConfig.rule)
    if rule not in pruning_rule_names():
        raise ConfigError("pruning.rule", rule, f"must be one of {', '.join(pruning_rule_names())}")
    pruning = PruningConfig(
        enabled=_bool("pruning.enabled", p.get("enabled", bool(p))),
        startup_trials=_number("pruning.startup_trials", p, "startup_trials", 5),
        warmup_epochs=_number("pruning.warmup_epochs", p, "warmup_epochs", 1),
        rule=rule,
        min_epochs=_number("pruning.min_epochs", p, "min_epochs", 1),
        reduction_factor=_number("pruning.reduction_factor", p, "reduction_factor", 3),
    )
    if pruning.enabled:
        _PRUNING_OPTIONS[rule].check(pruning, epochs=epochs)
    return pruning


#: The most objectives a study may have (its Pareto front is drawn in 2-D or 3-D).
MAX_OBJECTIVES = 3


def _parse_objectives(doc: Mapping[str, Any], space: SearchSpace) -> tuple[Objective, ...]:
    """The ``[objective]`` table: the metric a study is scored on and its direction (known for the built-in model's), or
    several, ``metrics = [...]`` with ``directions = [...]`` (each known one may be left out only all together)."""
    o = _table(doc, "objective", {"metric", "direction", "metrics", "directions"})
    if "metrics" not in o:
        if "directions" in o:
            raise ConfigError("objective.directions", o["directions"], "goes with objective.metrics (a list); one metric takes direction")
        metric = _metric_name("objective.metric", o.get("metric", "val_accuracy"), space)
        return (Objective(metric, _direction("objective.direction", o.get("direction", KNOWN_DIRECTIONS.get(metric)), metric)),)
    for single in ("metric", "direction"):
        if single in o:
            raise ConfigError(f"objective.{single}", o[single], f"objective.metrics lists the metrics; leave {single} out (use {single}s)")
    metrics = o["metrics"]
    if not isinstance(metrics, list) or not 1 <= len(metrics) <= MAX_OBJECTIVES:
        raise ConfigError("objective.metrics", metrics, f"must be a list of 1 to {MAX_OBJECTIVES} metric names")
    names = [_metric_name(f"objective.metrics[{i}]", m, space) for i, m in enumerate(metrics)]
    repeated = next((m for i, m in enumerate(names) if m in names[:i]), None)
    if repeated is not None:
        raise ConfigError("objective.metrics", metrics, f"names {repeated!r} twice; each objective is another metric")
    directions = o.get("directions", [KNOWN_DIRECTIONS.get(m) for m in names])
    if not isinstance(directions, list) or len(directions) != len(names):
        raise ConfigError("objective.directions", directions, f"must be a list of {len(names)} directions, one per metric in order")
    return tuple(Objective(m, _direction(f"objective.directions[{i}]", d, m)) for i, (m, d) in enumerate(zip(names, directions)))


def _metric_name(field_name: str, metric: Any, space: SearchSpace) -> str:
    """``metric`` checked as an objective's name: a metric name, not one hpsearch keeps, not a dimension of ``space``."""
    if not isinstance(metric, str) or not _METRIC_RULE.fullmatch(metric):
        raise ConfigError(field_name, metric, "must be a metric name: 1-100 letters, digits and '_', starting with a letter")
    if metric in _RESERVED_METRIC_NAMES:
        raise ConfigError(field_name, metric, f"is a name hpsearch keeps for itself ({', '.join(sorted(_RESERVED_METRIC_NAMES))})")
    if metric in space:
        raise ConfigError(field_name, metric, "is also a dimension of the space; a metric and a hyperparameter need their own names")
    return metric


def _direction(field_name: str, direction: Any, metric: str) -> str:
    """``direction`` checked: maximize or minimize (None: not given, and ``metric``'s is not known)."""
    if direction is None:
        raise ConfigError(
            field_name, None, f"required for metric {metric!r}: maximize or minimize (known only for {', '.join(KNOWN_DIRECTIONS)})"
        )
    if direction not in ("maximize", "minimize"):
        raise ConfigError(field_name, direction, "must be maximize or minimize")
    return str(direction)


def _check_several_objectives(strategy: str, rules: StrategyOptions, pruning: PruningConfig) -> None:
    """What a study of several objectives cannot run: a strategy that ranks trials by one value, and pruning (every
    rule compares trials on one value at an epoch; Optuna refuses it too)."""
    if not rules.SEVERAL_OBJECTIVES:
        able = ", ".join(n for n in strategy_names() if _STRATEGY_OPTIONS[n].SEVERAL_OBJECTIVES)
        raise ConfigError("strategy", strategy, f"ranks trials by one objective; a study of several objectives runs {able}")
    if pruning.enabled:
        raise ConfigError(
            "pruning.enabled",
            True,
            "pruning compares trials on one objective; a study of several trains every trial to its end (leave [pruning] out)",
        )


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a study file. The study's name defaults to the file's stem."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError("study file", str(p), "is a directory; name the study's .toml file in it")
    if not p.is_file():
        raise ConfigError("study file", str(p), "no such file")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError("study file", str(p), f"is not valid TOML ({err})") from None
    except OSError as err:
        raise ConfigError("study file", str(p), f"cannot be read ({err.strerror or err})") from None
    return parse_study(doc, default_name=p.stem, source=str(p))
