"""Study files (TOML) turned into a validated, typed, immutable configuration.

Every rule is checked here, before anything touches the store, and every error
names the field, the value given and the rule (:class:`hpsearch.core.errors.ConfigError`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

from hpsearch.core.errors import ConfigError
from hpsearch.core.limits import LIMITS, check
from hpsearch.core.space import BUILTIN_DIMENSIONS, Choice, SearchSpace, parse_space

__all__ = [
    "DATASETS",
    "STRATEGIES",
    "Budget",
    "DataConfig",
    "PBTConfig",
    "PruningConfig",
    "PRUNING_RULES",
    "EvolutionConfig",
    "CMAESConfig",
    "GPConfig",
    "TRAINERS",
    "StudyConfig",
    "TrainingConfig",
    "config_from_stored",
    "load_study",
    "parse_study",
    "parse_duration",
]

STRATEGIES: tuple[str, ...] = ("grid", "random", "tpe", "gp", "evolution", "cmaes", "qmc", "pbt")

#: The direction of the metrics the built-in model reports (any other metric names its direction).
KNOWN_DIRECTIONS: dict[str, str] = {"val_accuracy": "maximize", "val_loss": "minimize", "accuracy": "maximize", "loss": "minimize"}
_METRIC_RULE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,99}")
#: Columns of the per-epoch tables and frames that a metric may not be called.
_RESERVED_METRIC_NAMES = frozenset(
    {"seconds", "epoch", "attempt", "trial_id", "recorded_at", "number", "study", "state", "member", "model_epoch", "strategy", "value"}
)

#: The rules that stop a poor trial early (``[pruning] rule``).
PRUNING_RULES: tuple[str, ...] = ("median", "successive_halving", "hyperband")
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
    call), the reference the population trainer is tested against.
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


@dataclass(frozen=True)
class EvolutionConfig:
    """Generational evolutionary search (the ``[evolution]`` table).

    Generation ``g`` is the ``population`` trials numbered ``g * population`` on; generation 0 is
    drawn at random, and every child of generation ``g`` is bred from generation ``g - 1`` and the
    ``elites`` best trials of all earlier generations: two parents each won a ``tournament`` of
    that many entrants, each hyperparameter comes from the second parent with probability
    ``crossover``, and then mutates with probability ``mutation`` (a range moves by a normal step of
    ``sigma`` of its width on its own scale, a choice is redrawn).
    """

    population: int = 8
    tournament: int = 3
    elites: int = 2
    crossover: float = 0.5
    mutation: float = 0.25
    sigma: float = 0.15


@dataclass(frozen=True)
class CMAESConfig:
    """CMA-ES (the ``[cmaes]`` table): ``population`` trials per generation, the search starting at
    the middle of every range with a step of ``sigma`` of the ranges' widths."""

    population: int = 8
    sigma: float = 0.3


@dataclass(frozen=True)
class GPConfig:
    """Gaussian-process Bayesian optimisation (the ``[gp]`` table): ``startup_trials`` quasi-random
    trials first, then expected improvement maximised over ``candidates`` points."""

    startup_trials: int = 8
    candidates: int = 2000


#: The option table each strategy takes, by strategy name (``[evolution]``, ``[cmaes]``, ``[gp]``).
STRATEGY_OPTIONS: dict[str, type] = {"evolution": EvolutionConfig, "cmaes": CMAESConfig, "gp": GPConfig}


@dataclass(frozen=True)
class PBTConfig:
    """Population-based training (Jaderberg et al. 2017): the ``[pbt]`` table of a study file.

    ``population`` members each train ``epochs`` epochs in segments of ``ready``
    epochs. At every ready point a member is ranked against the members that have
    a result at the same epoch; ``exploit`` decides whether it copies another
    member's weights, optimizer state and hyperparameters (``truncation``: the
    bottom ``fraction`` copies a member of the top ``fraction``; ``tournament``:
    copy one random member if it is better), and ``explore`` then changes the
    copied hyperparameters (``perturb``: multiply continuous ones by one of
    ``factors``, move a choice to a neighbouring value with probability
    ``choice_probability``; each hyperparameter is instead redrawn from the prior
    with probability ``resample_probability``, the whole of ``resample``).
    ``width`` is ``inherit`` (width travels with the weights it belongs to) or
    ``resize`` (width is explored too, and the hidden layer is resized). ``inherit``
    names more dimensions that travel with the weights and are never explored: the
    architecture of a model of your own (the built-in model's ``layers``,
    ``activation`` and ``batch_size`` always are).
    """

    population: int = 8
    ready: int = 2
    epochs: int = 10
    exploit: str = "truncation"
    fraction: float = 0.2
    explore: str = "perturb"
    factors: tuple[float, ...] = (0.8, 1.2)
    resample_probability: float = 0.0
    choice_probability: float = 0.2
    width: str = "inherit"
    inherit: tuple[str, ...] = ()

    @property
    def segments(self) -> int:
        """Segments (trials) per member."""
        return -(-self.epochs // self.ready)

    @property
    def n_trials(self) -> int:
        return self.population * self.segments


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
    pbt: PBTConfig | None = None
    #: The strategy's own ``[evolution]``, ``[cmaes]`` or ``[gp]`` table (None for the others).
    options: EvolutionConfig | CMAESConfig | GPConfig | None = None
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

    @property
    def builtin_model(self) -> bool:
        """Whether the study trains the built-in MNIST model (no model of its own, only built-in dimensions)."""
        return self.model is None and set(self.space) <= set(BUILTIN_DIMENSIONS)

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
            # the direction, where it is not the metric's own (studies of val_accuracy or val_loss recorded none)
            **({"direction": self.direction} if KNOWN_DIRECTIONS.get(self.metric) != self.direction else {}),
            **({"pbt": _pbt_identity(self.pbt)} if self.pbt else {}),
            **({self.strategy: _asdict(self.options)} if self.options is not None else {}),
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


def _pbt_identity(pbt: PBTConfig) -> dict[str, Any]:
    """``[pbt]`` as stored (``inherit`` only where it names something: studies before it recorded none)."""
    out = {**_asdict(pbt), "factors": list(pbt.factors), "inherit": list(pbt.inherit)}
    if not pbt.inherit:
        out.pop("inherit")
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


_TOP_KEYS = {"name", "strategy", "seed", "model", "budget", "data", "training", "space", "pruning", "objective", "pbt", *STRATEGY_OPTIONS}
#: ``package.module:function`` (a model builder or a data loader).
_CALLABLE_RULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _callable_path(field_name: str, value: Any) -> str:
    if not isinstance(value, str) or not _CALLABLE_RULE.fullmatch(value):
        raise ConfigError(field_name, value, 'must name a function as "package.module:function"')
    return value


def _parse_pbt(doc: Mapping[str, Any], space: SearchSpace) -> PBTConfig:
    allowed = {
        "population",
        "ready",
        "epochs",
        "exploit",
        "fraction",
        "explore",
        "factors",
        "resample_probability",
        "choice_probability",
        "width",
        "inherit",
    }
    p = _table(doc, "pbt", allowed)
    if "epochs" not in p:
        raise ConfigError("pbt.epochs", None, "required: the total epochs each member trains")
    population = _number("pbt.population", p, "population", 8)
    epochs = _number("pbt.epochs", p, "epochs")
    ready = _number("pbt.ready", p, "ready", 2)
    if ready > epochs:
        raise ConfigError("pbt.ready", ready, f"the ready interval must be <= pbt.epochs ({epochs})")
    exploit = p.get("exploit", "truncation")
    if exploit not in ("truncation", "tournament"):
        raise ConfigError("pbt.exploit", exploit, "must be truncation or tournament")
    fraction = _number("pbt.fraction", p, "fraction", 0.2)
    explore = p.get("explore", "perturb")
    if explore not in ("perturb", "resample"):
        raise ConfigError("pbt.explore", explore, "must be perturb or resample")
    factors = p.get("factors", [0.8, 1.2])
    if not isinstance(factors, list) or not factors:
        raise ConfigError("pbt.factors", factors, f"must be a non-empty list of numbers, each in {LIMITS['pbt.factors[]'].interval()}")
    factors = [check("pbt.factors[]", f, field=f"pbt.factors[{i}]") for i, f in enumerate(factors)]
    default_resample = 0.25 if explore == "resample" else 0.0
    width = p.get("width", "inherit")
    if width not in ("inherit", "resize"):
        raise ConfigError("pbt.width", width, "must be inherit (width travels with the weights) or resize")
    return PBTConfig(
        population=population,
        ready=ready,
        epochs=epochs,
        exploit=exploit,
        fraction=fraction,
        explore=explore,
        factors=tuple(factors),
        resample_probability=_number("pbt.resample_probability", p, "resample_probability", default_resample),
        choice_probability=_number("pbt.choice_probability", p, "choice_probability", 0.2),
        width=width,
        inherit=_inherited(p.get("inherit", []), space),
    )


def _inherited(names: Any, space: SearchSpace) -> tuple[str, ...]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError("pbt.inherit", names, "must be a list of dimension names")
    for i, name in enumerate(names):
        if name not in space:
            raise ConfigError(f"pbt.inherit[{i}]", name, f"not a dimension of the space ({', '.join(space)})")
    return tuple(dict.fromkeys(names))


def _parse_options(doc: Mapping[str, Any], strategy: str) -> EvolutionConfig | CMAESConfig | GPConfig | None:
    """The strategy's own table, each key checked against ``LIMITS``; a table for another strategy is refused."""
    for other in STRATEGY_OPTIONS:
        if other != strategy and other in doc:
            raise ConfigError(other, doc[other], f'a [{other}] table only goes with strategy = "{other}" (this study is {strategy})')
    cls = STRATEGY_OPTIONS.get(strategy)
    if cls is None:
        return None
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    table = _table(doc, strategy, set(fields))
    options = cls(**{key: _number(f"{strategy}.{key}", table, key, fields[key].default) for key in fields})
    if isinstance(options, EvolutionConfig) and options.tournament > options.population + options.elites:
        raise ConfigError(
            "evolution.tournament",
            options.tournament,
            f"a tournament draws from one generation and its elites ({options.population} + {options.elites} trials)",
        )
    return options  # type: ignore[no-any-return]


def parse_study(doc: Mapping[str, Any], *, default_name: str | None = None, source: str | None = None) -> StudyConfig:
    """Validate a parsed study document (the dict of a TOML file)."""
    try:
        config = _parse_study(doc, default_name)
    except ConfigError as err:
        raise (err.with_source(source) if source and not err.source else err) from None
    return replace(config, source=source, document=_plain_document(doc))


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
    unknown = set(doc) - _TOP_KEYS
    if unknown:
        bad = sorted(unknown)[0]
        raise ConfigError(bad, doc[bad], f"unknown key; expected one of {', '.join(sorted(_TOP_KEYS))}")

    name = doc.get("name", default_name)
    if name is None:
        raise ConfigError("name", None, "a study needs a name")
    if not isinstance(name, str) or not _NAME_RULE.fullmatch(name):
        raise ConfigError("name", name, "must be 1-100 letters, digits, '_', '-' or '.', starting with a letter or digit")

    if "strategy" not in doc:
        raise ConfigError("strategy", None, f"required; one of {', '.join(STRATEGIES)}")
    strategy = doc["strategy"]
    if strategy not in STRATEGIES:
        raise ConfigError("strategy", strategy, f"must be one of {', '.join(STRATEGIES)}")

    seed = _number("seed", doc, "seed", 0)
    model = _callable_path("model", doc["model"]) if "model" in doc else None
    space = parse_space(doc.get("space"), builtin=False if model is not None else None)
    if strategy == "cmaes" and all(isinstance(d, Choice) or d.low == d.high for d in space.values()):
        raise ConfigError(
            "space", space.describe(), "cmaes searches ranges, and every dimension here is a choice; use grid, random, qmc or tpe"
        )

    b = _table(doc, "budget", {"trials", "epochs", "timeout"})
    pbt = None
    if strategy == "pbt":
        for key in ("trials", "epochs"):
            if key in b:
                raise ConfigError(f"budget.{key}", b[key], "a pbt study's budget is [pbt] population x epochs; remove this key")
        pbt = _parse_pbt(doc, space)
        b = {**b, "trials": pbt.n_trials, "epochs": pbt.epochs}
    elif "pbt" in doc:
        raise ConfigError("pbt", doc["pbt"], f'a [pbt] table only goes with strategy = "pbt" (this study is {strategy})')
    if "epochs" not in b:
        raise ConfigError("budget.epochs", None, "required: the epochs each trial trains")
    epochs = _number("budget.epochs", b, "epochs")
    if pbt is not None:  # population x segments, each bounded in [pbt]
        trials: int | None = pbt.n_trials
    else:
        trials = _number("budget.trials", b, "trials") if "trials" in b else None
    timeout = parse_duration("budget.timeout", b["timeout"]) if "timeout" in b else None
    if strategy == "grid":
        size = len(space.grid())  # raises for a range without grid points
        if trials is None:
            trials = size
        elif trials > size:
            raise ConfigError("budget.trials", trials, f"a grid study runs each point once; this grid has {size} points")
    elif trials is None:
        raise ConfigError("budget.trials", None, f"required for a {strategy} study: the number of trials to run")
    budget = Budget(trials=trials, epochs=epochs, timeout=timeout)

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

    t = _table(doc, "training", {"batch_size", "steps_per_execution", "trainer", "population", "tile_columns"})
    own = "model" if model is not None else "data.loader" if loader is not None else None
    trainer = t.get("trainer", TrainingConfig.trainer if own is None else "keras")
    if trainer not in TRAINERS:
        raise ConfigError("training.trainer", trainer, f"must be one of {', '.join(TRAINERS)}")
    if own is not None and trainer == "population":
        raise ConfigError(
            "training.trainer",
            trainer,
            f"the population trainer trains the built-in model on its data; a study with {own} trains with keras",
        )
    if "batch_size" in space and "batch_size" in t:
        raise ConfigError("training.batch_size", t["batch_size"], "the space searches batch_size; set it in [space] only")
    training = TrainingConfig(
        batch_size=_number("training.batch_size", t, "batch_size", TrainingConfig.batch_size),
        steps_per_execution=_number("training.steps_per_execution", t, "steps_per_execution", TrainingConfig.steps_per_execution),
        trainer=trainer,
        population=_number("training.population", t, "population", TrainingConfig.population),
        tile_columns=_number("training.tile_columns", t, "tile_columns", None) if "tile_columns" in t else None,
    )

    p = _table(doc, "pruning", {"enabled", "rule", "startup_trials", "warmup_epochs", "min_epochs", "reduction_factor"})
    rule = p.get("rule", PruningConfig.rule)
    if rule not in PRUNING_RULES:
        raise ConfigError("pruning.rule", rule, f"must be one of {', '.join(PRUNING_RULES)}")
    pruning = PruningConfig(
        enabled=_bool("pruning.enabled", p.get("enabled", bool(p))),
        startup_trials=_number("pruning.startup_trials", p, "startup_trials", 5),
        warmup_epochs=_number("pruning.warmup_epochs", p, "warmup_epochs", 1),
        rule=rule,
        min_epochs=_number("pruning.min_epochs", p, "min_epochs", 1),
        reduction_factor=_number("pruning.reduction_factor", p, "reduction_factor", 3),
    )
    if pruning.enabled and rule != "median" and pruning.min_epochs >= epochs:
        raise ConfigError(
            "pruning.min_epochs", pruning.min_epochs, f"the first rung must come before the last epoch (budget.epochs = {epochs})"
        )

    layers = space.get("layers")
    deepest = max(int(v) for v in layers.grid_values()) if isinstance(layers, Choice) else int(layers.high) if layers is not None else 1
    if pbt is not None and pbt.width == "resize" and deepest > 1:
        raise ConfigError("pbt.width", "resize", "resizes a model of one hidden layer; this space has deeper ones (space.layers)")
    if pbt is not None and pruning.enabled:
        raise ConfigError("pruning.enabled", True, "a pbt study does not prune: poor members copy better ones instead")

    o = _table(doc, "objective", {"metric", "direction"})
    metric = o.get("metric", "val_accuracy")
    if not isinstance(metric, str) or not _METRIC_RULE.fullmatch(metric):
        raise ConfigError("objective.metric", metric, "must be a metric name: 1-100 letters, digits and '_', starting with a letter")
    if metric in _RESERVED_METRIC_NAMES:
        raise ConfigError("objective.metric", metric, f"is a name hpsearch keeps for itself ({', '.join(sorted(_RESERVED_METRIC_NAMES))})")
    if metric in space:
        raise ConfigError(
            "objective.metric", metric, "is also a dimension of the space; a metric and a hyperparameter need their own names"
        )
    direction = o.get("direction", KNOWN_DIRECTIONS.get(metric))
    if direction is None:
        raise ConfigError(
            "objective.direction",
            None,
            f"required for metric {metric!r}: maximize or minimize (known only for {', '.join(KNOWN_DIRECTIONS)})",
        )
    if direction not in ("maximize", "minimize"):
        raise ConfigError("objective.direction", direction, "must be maximize or minimize")

    return StudyConfig(
        name=name,
        strategy=strategy,
        space=space,
        budget=budget,
        seed=seed,
        data=data,
        training=training,
        pruning=pruning,
        metric=metric,
        direction=direction,
        pbt=pbt,
        options=_parse_options(doc, strategy),
        model=model,
    )


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a study file. The study's name defaults to the file's stem."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError("study file", str(p), "no such file")
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError("study file", str(p), f"is not valid TOML ({err})") from None
    return parse_study(doc, default_name=p.stem, source=str(p))
