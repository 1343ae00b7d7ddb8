"""The site's generated pages: an MkDocs hook (``hooks:`` in ``mkdocs.yml``), also imported by ``tests/test_docs.py``.

Nothing here is written by hand twice. At build time it fills in, where a page says ``<!-- generated: NAME -->``:

* ``study-file``: every key of a study file, from the parser itself (each table's keys are what
  :func:`hpsearch.parse_study` accepts: it is asked, with an unknown key, for the list it expects), their defaults
  from the configuration dataclasses and the strategies' options types (the registry
  :data:`hpsearch.search.strategies.STRATEGIES`), their ranges from :data:`hpsearch.core.limits.LIMITS`;
* ``cli``: every command and option of ``hpsearch``, from :func:`hpsearch.cli.build_parser` (``dashboard`` included);
* ``api``: a mkdocstrings entry for every name of ``hpsearch.__all__``.

It also renders the notebooks of ``notebooks/`` as pages (``notebooks/<name>.md``: their Markdown and code cells).

A key, a command, an option or a public name that is new and has no description here stops the build with its name
(``mkdocs build --strict`` runs in ``.ci/run``), and so does a description of something that no longer exists.
Importing hpsearch for this imports neither TensorFlow, Keras, Ray nor plotly.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the checkout's hpsearch, whether or not it is installed
    sys.path.insert(0, str(ROOT))

MARKER = re.compile(r"^<!-- generated: ([a-z-]+) -->$", re.MULTILINE)
NOTEBOOKS = ROOT / "notebooks"


class ReferenceDrift(Exception):
    """The code declares something this file does not describe, or the other way round."""


# ---------------------------------------------------------------------------------------------------- study file

#: What each key of a study file means. The keys themselves, their defaults and their ranges come from the code;
#: a key the parser accepts that is missing here (or a key here the parser no longer accepts) stops the build.
#: A strategy's own table may leave a numeric key out: the ``why`` of its bound in LIMITS describes it.
KEY_DOCS: dict[str, str] = {
    # top level
    "name": "The study's name: its key in the store. Defaults to the file's stem. 1-100 letters, digits, `_`, `-`, `.`.",
    "strategy": "The search strategy (required): one of {strategies}. See [Choose a strategy](../how-to/choose-a-strategy.md).",
    "seed": "Every random choice of the study derives from it.",
    "model": "`package.module:function`: a Keras model builder of your own instead of the built-in MNIST model "
    "([Your own model and data](../how-to/own-model.md)).",
    "budget": "How much the study spends: the `[budget]` table below.",
    "data": "What it trains on: the `[data]` table below.",
    "training": "How each trial trains: the `[training]` table below.",
    "space": "The hyperparameters searched: the `[space]` table below.",
    "pruning": "Early stopping (optional): the `[pruning]` table below.",
    "objective": "What the study optimises: the `[objective]` table below.",
    # [budget]
    "budget.trials": "Finished trials the study ends with. Required, except for `grid` (its grid's size, and at most that) "
    "and `pbt` (`[pbt] population` x segments; `[budget]` then takes only `timeout`).",
    "budget.epochs": "Epochs each trial trains (required; a `pbt` study sets `[pbt] epochs` instead).",
    "budget.timeout": 'A run starts no new trial after this long: seconds, or a text such as "90s", "30m", "1h30m". '
    "Running the study again continues it.",
    # [data]
    "data.dataset": "The built-in dataset: one of {datasets}.",
    "data.data_dir": "Where `mnist.npz` or the four IDX `.gz` files are (else `--data-dir`, `$HPSEARCH_DATA_DIR`, "
    "Debian's datasets, Keras's downloader).",
    "data.validation_size": "Images cut from the end of the training set for validation (default: 10,000; mnist-sample: 1,000).",
    "data.train_size": "Train on the first N training images only.",
    "data.loader": "`package.module:function` returning your own `(train, validation[, test])` splits; replaces every other `[data]` key.",
    # [training]
    "training.batch_size": "Examples per training step (or search `batch_size` in `[space]`, not both).",
    "training.steps_per_execution": "Training steps per Keras call (the per-trial `keras` trainer only).",
    "training.trainer": "One of {trainers}: `population` trains the trials of a claim together, in one compiled computation "
    "(the default for the built-in model); `keras` trains one Keras `fit` per trial (the default for a model or loader of "
    "your own). See [The population trainer](../explanation/population-trainer.md).",
    "training.population": "Trials trained together at most (population trainer).",
    "training.tile_columns": "Hidden columns of one population at most; a wider claim trains as several tiles "
    "(default: what the CPU's cache holds; 0 on a GPU: one).",
    # [pruning]
    "pruning.enabled": "Whether the rule stops trials; a `[pruning]` table in the file turns it on.",
    "pruning.rule": "One of {pruning_rules}. See [Early stopping](../how-to/early-stopping.md).",
    "pruning.startup_trials": "`median`: finished trials before it stops any.",
    "pruning.warmup_epochs": "`median`: epochs before it judges a trial.",
    "pruning.min_epochs": "`successive_halving`, `hyperband`: the first rung (below `budget.epochs`).",
    "pruning.reduction_factor": "`successive_halving`, `hyperband`: the top 1/`reduction_factor` go on at each rung.",
    # [objective]
    "objective.metric": "The metric the study optimises: a built-in metric ({metrics}) or any metric your model, loop or trainer reports.",
    "objective.direction": "`maximize` or `minimize`: needed for a metric of your own (against a built-in metric's own "
    "direction: a one-line warning).",
    "objective.metrics": "Several objectives (1 to {max_objectives} metric names): the study's result is a Pareto set. "
    "See [Several objectives](../how-to/several-objectives.md).",
    "objective.directions": "One direction per metric of `metrics`, in order (may be left out, all together, when every "
    "metric is built in).",
    # a dimension of [space]
    "space.*.low": "A range's lower end (with `high`).",
    "space.*.high": "A range's upper end (with `low`).",
    "space.*.log": "Search the range on a log scale (`learning_rate`'s default).",
    "space.*.grid_points": "How many points the range contributes to a `grid` study (log-spaced for a log range).",
    "space.*.type": '`"int"` or `"float"`: the kind of a range of your own model (else an integer range when both ends are integers).',
    "space.*.values": "A list of values to choose from (the same as writing the list itself).",
    "space.*.when": "When the dimension exists: `{{ other = [values] }}`, all must hold. "
    "See [Conditional dimensions](../how-to/conditional-dimensions.md).",
    # evolution's table (nsga2's takes the same keys, below); the other numeric keys are described by LIMITS
    "evolution.tournament": "Entrants of each tournament that picks a parent (at most `population` + `elites`).",
    "evolution.elites": "The best trials of all earlier generations that stay parents without training again (at most `population`).",
    "evolution.crossover": "The probability that a hyperparameter comes from the second parent.",
    "evolution.mutation": "The probability that a hyperparameter mutates (at least one does, unless it is 0).",
    "evolution.sigma": "The mutation step in generation 1, as a share of a range's width on its own scale; it adapts after that.",
    # pbt's table
    "pbt.epochs": "Total epochs each member trains (required). The budget is `population` x `epochs`.",
    "pbt.ready": "Members are ranked every `ready` epochs (at most `epochs`).",
    "pbt.exploit": '`"truncation"`: the bottom `fraction` copies a member of the top `fraction`; `"tournament"`: copy one '
    "random member if it is better.",
    "pbt.explore": '`"perturb"`: multiply by one of `factors`, clipped to the space; `"resample"`: draw from the prior.',
    "pbt.factors": "The factors `perturb` multiplies a hyperparameter by.",
    "pbt.resample_probability": "Per hyperparameter, draw from the prior instead (default 0.25 with `resample`, else 0).",
    "pbt.width": '`"inherit"`: width travels with the weights and is never explored; `"resize"`: explored, the hidden layer '
    "resized (Net2WiderNet).",
    "pbt.inherit": "Dimensions of your own model that travel with the weights and are never explored.",
}

KEY_DOCS.update({f"nsga2.{k.split('.', 1)[1]}": v for k, v in list(KEY_DOCS.items()) if k.startswith("evolution.")})

#: The default a reader should see where the dataclass's field default is not what a study file gets.
DEFAULT_OVERRIDES: dict[str, str] = {
    "name": "the file's stem",
    "strategy": "required",
    "model": "the built-in MNIST model",
    "budget.trials": "required (grid: the grid's size)",
    "budget.epochs": "required",
    "budget.timeout": "none",
    "data.data_dir": "none",
    "data.validation_size": "10000 (mnist-sample: 1000)",
    "data.train_size": "all",
    "data.loader": "none",
    "training.trainer": '"population" (your own model or data: "keras")',
    "training.tile_columns": "the CPU's cache (GPU: 0)",
    "pruning.enabled": "true with a [pruning] table",
    "objective.metric": '"val_accuracy"',
    "objective.direction": "the built-in metric's own",
    "objective.metrics": "none",
    "objective.directions": "the built-in metrics' own",
    "pbt.epochs": "required",
    "pbt.resample_probability": '0.0 (0.25 with explore = "resample")',
}

#: What each of the built-in model's hyperparameters is (names and kinds: hpsearch.core.builtin_model).
BUILTIN_DOCS: dict[str, str] = {
    "width": "Units of the hidden layer(s).",
    "dropout": "Dropout rate after the hidden layer(s).",
    "optimizer": "The Keras optimiser of that name.",
    "learning_rate": "The optimiser's learning rate (a range is on a log scale by default).",
    "batch_size": "Per trial, instead of `[training] batch_size`.",
    "layers": "Hidden layers of `width` units each.",
    "activation": "Of the hidden layers.",
    "weight_decay": "The optimiser's decoupled weight decay (left out: Keras's default, 0.004 for adamw, 0 otherwise).",
    "momentum": 'SGD\'s momentum; with other optimisers in the space, only under `when = { optimizer = ["sgd"] }`.',
    "nesterov": "SGD's Nesterov momentum; like `momentum`, SGD's alone.",
    "width_2": "The second hidden layer's own width (exists only for trials with 2 or 3 layers).",
    "dropout_2": "The second hidden layer's own dropout.",
    "width_3": "The third hidden layer's own width (exists only for trials with 3 layers).",
    "dropout_3": "The third hidden layer's own dropout.",
}

#: What a study gets for a built-in hyperparameter it leaves out, where no table of hpsearch.core.builtin_model says.
LEFT_OUT = {"momentum": "0 (SGD's)", "nesterov": "false (SGD's)", "weight_decay": "Keras's default"}

#: The order a reader meets the generic tables in (any other table the parser accepts is a strategy's own).
GENERIC_TABLES = ("budget", "data", "training", "space", "pruning", "objective")
_UNKNOWN = "zz_not_a_key"


def _parser_keys(doc: dict[str, Any], where: str) -> list[str]:
    """The keys the parser accepts at ``where``: the list in its refusal of an unknown key there."""
    from hpsearch import ConfigError, parse_study

    try:
        parse_study(doc, default_name="reference")
    except ConfigError as err:
        if err.field == (f"{where}.{_UNKNOWN}" if where else _UNKNOWN) and "expected one of " in err.rule:
            keys = [k.strip() for k in err.rule.split("expected one of ", 1)[1].split(",")]
            prefix = f"{where}." if where and where != "space.width" else "space.*." if where else ""
            order = {k: i for i, k in enumerate(KEY_DOCS)}
            return sorted(keys, key=lambda k: (order.get(prefix + k, len(order)), k))
        raise ReferenceDrift(f"asking the parser for the keys of {where or 'the top level'}: {err}") from None
    raise ReferenceDrift(f"the parser accepted an unknown key {_UNKNOWN!r} at {where or 'the top level'}")


def study_file_keys() -> dict[str, list[str]]:
    """Each table of a study file ("" for the top level, "space.*" for a dimension) and the keys the parser accepts there."""
    base: dict[str, Any] = {"strategy": "random", "budget": {"trials": 1, "epochs": 1}}
    keys = {"": _parser_keys({**base, _UNKNOWN: 1}, "")}
    for table in GENERIC_TABLES:
        if table == "space":
            keys["space.*"] = _parser_keys({**base, "space": {"width": {"low": 16, "high": 32, _UNKNOWN: 1}}}, "space.width")
        else:
            doc = {**base, table: {**base.get(table, {}), _UNKNOWN: 1}}
            keys[table] = _parser_keys(doc, table)
    return keys


def _strategies() -> list[Any]:
    from hpsearch.search.strategies import STRATEGIES

    return [STRATEGIES.entry(name) for name in STRATEGIES]


def table_keys(entry: Any) -> tuple[str, ...]:
    """The keys of a registered strategy's own table (none: it takes no table)."""
    return tuple(entry.options.keys())


def _first_paragraph(doc: str | None) -> str:
    text = (doc or "").strip().split("\n\n")[0]
    return _text(_rst_to_md(" ".join(line.strip() for line in text.splitlines())))


def _rst_to_md(text: str) -> str:
    """``code`` and :role:`name` as Markdown code."""
    text = re.sub(r":[a-z]+:`~?([^`]+)`", r"`\1`", text)
    return text.replace("``", "`")


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _text(text: str) -> str:
    """Text from the code (a help string, a docstring) as Markdown text: ``<name>`` stays visible, not an HTML tag."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _default_text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return repr(value)


def _range_text(name: str) -> str:
    from hpsearch.core.limits import LIMITS

    bound = LIMITS.get(name) or LIMITS.get(f"{name}[]")
    if bound is None:
        return ""
    if bound.duration:
        return "a duration over 0 s, at most a year"
    kind = "integer" if bound.integer else "number"
    each = " (each)" if name not in LIMITS else ""
    return f"{kind} in {bound.interval()}{each}"


def _formatting() -> dict[str, str]:
    from hpsearch.core.builtin_model import METRIC_DIRECTIONS
    from hpsearch.core.config import DATASETS, MAX_OBJECTIVES, TRAINERS, pruning_rule_names, strategy_names

    def listed(names: Iterable[str]) -> str:
        return ", ".join(f"`{n}`" for n in names)

    return {
        "strategies": listed(strategy_names()),
        "datasets": listed(DATASETS),
        "trainers": listed(TRAINERS),
        "pruning_rules": listed(pruning_rule_names()),
        "metrics": listed(METRIC_DIRECTIONS),
        "max_objectives": str(MAX_OBJECTIVES),
    }


def _doc(key: str, *, fallback: str = "") -> str:
    text = KEY_DOCS.get(key, fallback)
    if not text:
        raise ReferenceDrift(f"study file key {key!r} has no description: add it to KEY_DOCS in docs/gen_reference.py")
    return text.format(**_formatting())


def _defaults() -> dict[str, Any]:
    """Each key's default from the dataclass behind its table."""
    from hpsearch.core.config import Budget, DataConfig, PruningConfig, StudyConfig, TrainingConfig

    out: dict[str, Any] = {}
    for table, kind in (("budget", Budget), ("data", DataConfig), ("training", TrainingConfig), ("pruning", PruningConfig)):
        for f in dataclasses.fields(kind):
            if f.default is not dataclasses.MISSING:
                out[f"{table}.{f.name}"] = f.default
    study = {f.name: f for f in dataclasses.fields(StudyConfig)}
    out["seed"] = study["seed"].default
    return out


def _key_rows(table: str, keys: Iterable[str], defaults: dict[str, Any], *, fallback_why: bool = False) -> list[str]:
    from hpsearch.core.limits import LIMITS

    rows = ["| key | range | default | what it is |", "| --- | --- | --- | --- |"]
    for key in keys:
        full = f"{table}.{key}" if table else key
        bound = LIMITS.get(full) or LIMITS.get(f"{full}[]")
        fallback = bound.why[:1].upper() + bound.why[1:] + "." if fallback_why and bound is not None and bound.why else ""
        default = DEFAULT_OVERRIDES.get(full, _default_text(defaults[full]) if full in defaults else "")
        rows.append(f"| `{key}` | {_cell(_range_text(full))} | {_cell(default)} | {_cell(_doc(full, fallback=fallback))} |")
    return rows


def study_file_reference() -> str:
    """The Markdown of every key of a study file."""
    from hpsearch.core.builtin_model import (
        BUILTIN_DEFAULTS,
        BUILTIN_DIMENSIONS,
        DEFAULT_PARAMS,
        HYPERPARAMETERS,
        LAYER_DIMENSIONS,
        METRIC_DIRECTIONS,
    )
    from hpsearch.core.config import DATASETS, TRAINING_IMAGES
    from hpsearch.core.limits import LIMITS
    from hpsearch.search.pruning import PRUNING_RULES

    keys = study_file_keys()
    defaults = _defaults()
    strategies = _strategies()
    own_tables = {e.name for e in strategies if e.options.keys()}
    described_top = set(keys[""]) - own_tables
    check_described(
        declared={
            *described_top,
            *(f"{t}.{k}" for t in GENERIC_TABLES if t != "space" for k in keys[t]),
            *(f"space.*.{k}" for k in keys["space.*"]),
        },
        documented={k for k in KEY_DOCS if not any(k.startswith(f"{e.name}.") for e in strategies)},
        what="study file key",
        where="KEY_DOCS",
    )
    out: list[str] = []
    out += ["## Top level", "", *_key_rows("", [k for k in keys[""] if k not in own_tables], defaults), ""]
    tables_of_strategies = ", ".join(f"`[{name}]`" for name in sorted(own_tables))
    out += [f"A strategy's own table ({tables_of_strategies}) goes with that strategy only: [Strategies' tables](#strategies-tables).", ""]
    for table in GENERIC_TABLES:
        if table == "space":
            continue
        out += [f"## [{table}]", "", *_key_rows(table, keys[table], defaults), ""]
        if table == "data":
            sizes = ", ".join(f"{d}: {TRAINING_IMAGES[d]:,}" for d in DATASETS)
            out += [f"Training images of each dataset, before the validation split: {sizes}.", ""]

    # [space]
    out += ["## [space]", ""]
    out += [
        "Each key of `[space]` is a dimension: a range (`{ low = 1e-4, high = 1e-2, log = true }`), a list of values "
        "(`[64, 128]` or `{ values = [...] }`) or one fixed value (`dropout = 0.2`). A dimension's table takes these keys:",
        "",
        "| key | what it is |",
        "| --- | --- |",
        *(f"| `{k}` | {_cell(_doc(f'space.*.{k}'))} |" for k in keys["space.*"]),
        "",
        "### The built-in model's hyperparameters",
        "",
        "Their kinds and bounds are fixed. A space of the built-in model always has "
        + ", ".join(f"`{h}`" for h in HYPERPARAMETERS)
        + " (each left out is fixed at its default); any other name of letters, digits and `_` is a dimension of your own "
        "model, loop or function.",
        "",
        "| name | kind | range | left out | what it is |",
        "| --- | --- | --- | --- | --- |",
    ]
    check_described(declared=set(BUILTIN_DIMENSIONS), documented=set(BUILTIN_DOCS), what="built-in hyperparameter", where="BUILTIN_DOCS")
    for name, kind in BUILTIN_DIMENSIONS.items():
        if isinstance(kind, tuple):
            kind_text = "choice of " + ", ".join(f"`{_default_text(v)}`" if not isinstance(v, str) else f"`{v}`" for v in kind)
        else:
            kind_text = kind
        if name in DEFAULT_PARAMS:
            left_out = _default_text(DEFAULT_PARAMS[name]).strip('"')
        elif name in BUILTIN_DEFAULTS:
            left_out = _default_text(BUILTIN_DEFAULTS[name]).strip('"')
        elif name in LAYER_DIMENSIONS:
            left_out = name.split("_")[0]
        elif name == "batch_size":
            left_out = "[training] batch_size"
        else:
            left_out = LEFT_OUT.get(name, "Keras's default")
        out.append(
            f"| `{name}` | {_cell(kind_text)} | {_cell(_range_text(f'space.{name}'))} | {_cell(left_out)} | {_cell(BUILTIN_DOCS[name])} |"
        )
    out += ["", f"A range of `[space]` in a `grid` study gives `grid_points` in {LIMITS['space.grid_points'].interval()}.", ""]

    # strategies
    out += ["## Strategies' tables", "", "| `strategy` | what it is | its table | several objectives |", "| --- | --- | --- | --- |"]
    for e in strategies:
        table = f"[`[{e.name}]`](#{e.name})" if e.options.keys() else "none"
        several = "yes" if e.options.SEVERAL_OBJECTIVES else "no"
        out.append(f"| `{e.name}` | {_cell(_first_paragraph(sys.modules[e.cls.__module__].__doc__))} | {table} | {several} |")
    out.append("")
    strategy_keys = {f"{e.name}.{k}" for e in strategies for k in table_keys(e)}
    stale = {k for k in KEY_DOCS if k.split(".")[0] in {e.name for e in strategies} and k not in strategy_keys}
    if stale:
        raise ReferenceDrift(f"KEY_DOCS in docs/gen_reference.py describes keys no strategy has: {', '.join(sorted(stale))}")
    for e in strategies:
        if not e.options.keys():
            continue
        fields = {f.name: f for f in dataclasses.fields(e.options)}
        table_defaults = {f"{e.name}.{k}": fields[k].default for k in table_keys(e) if fields[k].default is not dataclasses.MISSING}
        out += [f"### [{e.name}]", "", _first_paragraph(e.options.__doc__), ""]
        out += [*_key_rows(e.name, e.options.keys(), table_defaults, fallback_why=True), ""]

    # pruning rules, objectives
    out += ["## Pruning rules", "", "| `rule` | what it does |", "| --- | --- |"]
    out += [f"| `{name}` | {_cell(_first_paragraph(PRUNING_RULES.entry(name).cls.__doc__))} |" for name in PRUNING_RULES]
    out += ["", "## Built-in metrics", "", "What the built-in model reports after every epoch, and each metric's direction:", ""]
    out += ["| metric | direction |", "| --- | --- |", *(f"| `{m}` | {d} |" for m, d in METRIC_DIRECTIONS.items()), ""]

    # every bound
    out += [
        "## Every bound",
        "",
        "Every number of a study file has its range declared once, in `hpsearch/core/limits.py`; a value outside it, not "
        "finite, or of the wrong type is refused in one line before any store is written (the tests generate their invalid "
        "values from the same declarations).",
        "",
        "| key | range | why the bound is there |",
        "| --- | --- | --- |",
    ]
    for name, bound in LIMITS.items():
        if name.startswith("--"):
            continue
        out.append(f"| `{name}` | {_cell(_range_text(name))} | {_cell(bound.why)} |")
    out.append("")
    return "\n".join(out)


def check_described(*, declared: set[str], documented: set[str], what: str, where: str) -> None:
    missing, stale = sorted(declared - documented), sorted(documented - declared)
    problems = []
    if missing:
        problems.append(f"{what}s without a description in {where} (docs/gen_reference.py): {', '.join(missing)}")
    if stale:
        problems.append(f"{where} (docs/gen_reference.py) describes {what}s the code no longer has: {', '.join(stale)}")
    if problems:
        raise ReferenceDrift("; ".join(problems))


# ---------------------------------------------------------------------------------------------------- command line


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[argparse.ArgumentParser, str]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return {name: (sub, helps.get(name, "")) for name, sub in action.choices.items()}
    return {}


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = argparse.HelpFormatter(prog=parser.prog, width=88)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _argument_row(action: argparse.Action) -> str | None:
    from hpsearch.core.limits import LIMITS

    if isinstance(action, argparse._HelpAction):
        return None
    if action.option_strings:
        metavar = action.metavar if isinstance(action.metavar, str) else (action.dest.upper() if action.nargs != 0 else None)
        names = ", ".join(f"`{o}{' ' + metavar if metavar else ''}`" for o in action.option_strings)
    else:
        names = f"`{action.metavar if isinstance(action.metavar, str) else action.dest}`" + (" ..." if action.nargs in ("+", "*") else "")
    notes = []
    type_name = getattr(action.type, "__name__", "")
    if type_name in LIMITS:
        notes.append(f"range: {_range_text(type_name)}")
    if action.choices and not isinstance(action, argparse._SubParsersAction):
        notes.append("one of " + ", ".join(f"`{c}`" for c in action.choices))
    if action.required and action.option_strings:
        notes.append("required")
    default = action.default
    if action.option_strings and default not in (None, False, argparse.SUPPRESS) and "default" not in (action.help or ""):
        notes.append(f"default: `{default}`")
    help_text = _text((action.help or "").replace("%(default)s", str(default)))
    if not help_text:
        raise ReferenceDrift(f"option {names} has no help text")
    return f"| {names} | {_cell(help_text)}{' (' + _cell('; '.join(notes)) + ')' if notes else ''} |"


def cli_reference() -> str:
    """The Markdown of every ``hpsearch`` command and its arguments."""
    from hpsearch.cli import build_parser
    from hpsearch.core.limits import LIMITS

    parser = build_parser()
    commands = _subcommands(parser)
    out = ["## Commands", "", "| command | what it does |", "| --- | --- |"]
    out += [f"| [`hpsearch {name}`](#hpsearch-{name}) | {_cell(_text(help_text))} |" for name, (_, help_text) in commands.items()]
    out += ["", "```text", _usage(parser), "```", ""]
    for name, (sub, _) in commands.items():
        if not sub.description:
            raise ReferenceDrift(f"command {name!r} has no description")
        out += [f"## hpsearch {name}", "", _text(sub.description), "", "```text", _usage(sub), "```", ""]
        rows = [r for r in (_argument_row(a) for a in sub._actions) if r]
        if rows:
            out += ["| argument | what it does |", "| --- | --- |", *rows, ""]
    out += ["## Options' ranges", "", "Every numeric option is checked against its range, declared in `hpsearch/core/limits.py`:", ""]
    out += ["| option | range | why |", "| --- | --- | --- |"]
    out += [f"| `{n}` | {_cell(_range_text(n))} | {_cell(b.why)} |" for n, b in LIMITS.items() if n.startswith("--")]
    out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------- Python API

#: The sections of the API page, by the module each public name is defined in (first match wins).
API_SECTIONS: list[tuple[str, tuple[str, ...]]] = [
    (
        "Run and read studies",
        (
            "hpsearch.api",
            "hpsearch.running.loop",
            "hpsearch.running.session",
            "hpsearch.running.ray_workers",
            "hpsearch.core.results",
            "hpsearch.read",
        ),
    ),
    ("Ask/tell: your own training loop", ("hpsearch.running.ask_tell",)),
    ("Study files and search spaces", ("hpsearch.core.config", "hpsearch.core.space", "hpsearch.core.builtin_model")),
    ("Trainers and models", ("hpsearch.train",)),
    ("Strategies", ("hpsearch.search",)),
    ("The store and its records", ("hpsearch.store", "hpsearch.core.records")),
    ("Reports and exports", ("hpsearch.show",)),
    ("Errors", ("hpsearch.core.errors",)),
]


def public_api() -> dict[str, str]:
    """Each name of ``hpsearch.__all__`` and the module that defines it (the lazy ones without importing Keras or plotly)."""
    import hpsearch

    out: dict[str, str] = {}
    for name in hpsearch.__all__:
        if name in hpsearch._LAZY_EXPORTS:
            out[name] = hpsearch._LAZY_EXPORTS[name]
            continue
        obj = getattr(hpsearch, name)
        module = getattr(obj, "__module__", None) if callable(obj) or isinstance(obj, type) else None
        if module is None:  # a constant: where the package takes it from
            module = next(m for m in ("hpsearch.core.space", "hpsearch.core.builtin_model") if hasattr(sys.modules.get(m), name))
        out[name] = module
    return out


def api_reference() -> str:
    """mkdocstrings entries for every public name, in sections."""
    names = public_api()
    sections: dict[str, list[str]] = {title: [] for title, _ in API_SECTIONS}
    sections["Other"] = []
    for name, module in names.items():
        title = next((t for t, prefixes in API_SECTIONS if any(module == p or module.startswith(p + ".") for p in prefixes)), "Other")
        sections[title].append(name)
    out: list[str] = []
    for title, members in sections.items():
        if not members:
            continue
        members.sort(key=lambda n: n[:1].isupper())  # the functions first, then the classes and constants, each as listed
        out += [f"## {title}", ""]
        for name in members:
            lazy = name in __import__("hpsearch")._LAZY_EXPORTS
            path = f"{names[name]}.{name}" if lazy else f"hpsearch.{name}"
            out += [f"::: {path}", "    options:", "      show_root_heading: true", "      heading_level: 3", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------- notebooks


def notebook_page(path: Path) -> str:
    """A notebook as a page: its Markdown cells as they are, its code cells as Python blocks (no outputs: CI executes
    the notebooks, tests/test_notebooks.py, and the repository keeps them without)."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    out = []
    for cell in nb.get("cells", []):
        source = "".join(cell.get("source", []))
        if cell.get("cell_type") == "markdown":
            out += [source, ""]
        elif cell.get("cell_type") == "code":
            out += ["```python", source, "```", ""]
    text = "\n".join(out)
    note = (
        f"\n\n!!! note\n    This page shows `notebooks/{path.name}` cell by cell, without outputs: run it with Jupyter to draw "
        "the figures (the test suite executes it against a store it builds, `tests/test_notebooks.py`).\n\n"
    )
    first_heading = re.search(r"^# .*$", text, re.MULTILINE)
    if first_heading:
        return text[: first_heading.end()] + note + text[first_heading.end() :]
    return f"# {path.stem}{note}{text}"


# ---------------------------------------------------------------------------------------------------- MkDocs events

GENERATORS = {"study-file": study_file_reference, "cli": cli_reference, "api": api_reference}


def expand(markdown: str) -> str:
    """``markdown`` with every ``<!-- generated: NAME -->`` replaced by its generated text."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ReferenceDrift(f"no generator called {name!r} (known: {', '.join(GENERATORS)})")
        return GENERATORS[name]()

    return MARKER.sub(replace, markdown)


#: A relative Markdown link (or image) target, without its anchor.
_LINK = re.compile(r"(\]\()([^)\s#]+)(#[^)\s]*)?(\))")
_LANGUAGES = {".yaml": "yaml", ".yml": "yaml", ".sbatch": "bash", ".sh": "bash", ".py": "python", ".toml": "toml"}


def folder_page(folder: Path, docs_dir: Path) -> str:
    """A page for a folder of the docs that has none (``docs/recipes/kubernetes/``): each of its files, shown whole."""
    out = [f"# {folder.relative_to(docs_dir).as_posix()}/", ""]
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        language = _LANGUAGES.get(path.suffix, "dockerfile" if path.name == "Dockerfile" else "text")
        out += [f"## {path.name}", "", f"```{language}", path.read_text(encoding="utf-8").rstrip("\n"), "```", ""]
    return "\n".join(out)


def _linked_folders(docs_dir: Path) -> dict[str, Path]:
    """Folders of the docs that a page links to (``[files](kubernetes/)``) and that have no page of their own."""
    found: dict[str, Path] = {}
    for page in docs_dir.rglob("*.md"):
        for match in _LINK.finditer(page.read_text(encoding="utf-8")):
            target = match.group(2)
            if "://" in target or target.startswith("/"):
                continue
            folder = (page.parent / target).resolve()
            if folder.is_dir() and folder.is_relative_to(docs_dir) and not any((folder / n).exists() for n in ("index.md", "README.md")):
                found[(folder.relative_to(docs_dir) / "index.md").as_posix()] = folder
    return found


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        files.append(File.generated(config, f"notebooks/{path.stem}.md", content=notebook_page(path)))
    docs_dir = Path(config["docs_dir"]).resolve()
    for uri, folder in _linked_folders(docs_dir).items():
        files.append(File.generated(config, uri, content=folder_page(folder, docs_dir)))
    return files


def _folder_links(markdown: str, page_dir: Path) -> str:
    """``[files](kubernetes/)`` -> ``[files](kubernetes/index.md)`` where that folder's page is generated (:func:`on_files`)."""

    def fix(match: re.Match[str]) -> str:
        target = match.group(2)
        if "://" in target or target.startswith("/") or not (page_dir / target).is_dir():
            return match.group(0)
        return f"{match.group(1)}{target.rstrip('/')}/index.md{match.group(3) or ''}{match.group(4)}"

    return _LINK.sub(fix, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    from mkdocs.exceptions import PluginError

    try:
        markdown = expand(markdown)
    except ReferenceDrift as err:
        raise PluginError(f"{page.file.src_uri}: {err}") from None
    if page.file.abs_src_path:
        markdown = _folder_links(markdown, Path(page.file.abs_src_path).parent)
    return markdown
