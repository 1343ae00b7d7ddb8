"""Every bounded number, checked from its declaration in hpsearch.core.limits (no hand-listed cases).

For each study-file key and each command-line option in ``LIMITS``, the invalid values come
from :meth:`Bound.invalid_values`: each end crossed, huge and non-finite numbers, the wrong
types. A study file carrying one is refused by ``parse_study`` naming the field, the value and
the declared rule, and by the real command (``hpsearch.cli.main``, in-process) with one line,
exit 2 and no store written; an option is refused the same way before anything runs.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from hpsearch import cli
from hpsearch.core.config import parse_study
from hpsearch.core.errors import ConfigError
from hpsearch.core.limits import LIMITS

STUDY_KEYS = sorted(k for k in LIMITS if not k.startswith("--"))
RUN_OPTIONS = [
    "--timeout",
    "--stale-after",
    "--max-failures",
    "--workers",
    "--recycle-after",
    "--threads",
    "--cpus-per-worker",
    "--gpus-per-worker",
]
DASHBOARD_OPTIONS = ["--port", "--poll"]
EXPORT_MODEL_OPTIONS = ["--trial"]


def test_every_option_in_limits_is_checked_here() -> None:
    assert sorted(RUN_OPTIONS + DASHBOARD_OPTIONS + EXPORT_MODEL_OPTIONS) == sorted(k for k in LIMITS if k.startswith("--"))


def study_with(key: str, value: Any) -> tuple[dict[str, Any], str]:
    """A valid study document with ``value`` at the place ``key`` names, and the field its error names."""
    pbt = key.startswith("pbt.")
    table, _, leaf = key.partition(".")
    own_table = table in ("evolution", "nsga2", "cmaes", "gp")  # a strategy's own table goes with that strategy
    doc: dict[str, Any] = {"name": "limits", "strategy": "pbt" if pbt else table if own_table else "random"}
    doc["budget"] = {} if pbt else {"trials": 2, "epochs": 1}
    if pbt:
        doc["pbt"] = {"population": 4, "epochs": 10_000, "ready": 1}
    if table == "cmaes":  # one searched dimension is enough for CMA-ES
        doc["space"] = {"dropout": {"low": 0.0, "high": 0.5}}
    if leaf in ("tournament", "elites") and table in ("evolution", "nsga2"):  # a tournament draws from a generation (and
        # its elites), and there are at most as many elites as a generation has trials: room for the largest
        doc[table] = {"population": 1024}
    if key == "seed":
        doc["seed"] = value
        return doc, key
    if key == "pbt.factors[]":
        doc["pbt"]["factors"] = [value]
        return doc, "pbt.factors[0]"
    if key == "space.grid_points":
        doc["space"] = {"dropout": {"low": 0.0, "high": 0.5, "grid_points": value}}
        return doc, "space.dropout.grid_points"
    if key.startswith("data."):
        doc["data"] = {"dataset": "mnist"}
    if leaf in ("width_2", "dropout_2", "width_3", "dropout_3"):  # a layer's own exists only for trials with that layer
        doc["space"] = {"layers": [1, 2, 3]}
    if leaf == "momentum":  # SGD's: the built-in model's beside an optimizer
        doc["space"] = {"optimizer": ["sgd"]}
    doc.setdefault(table, {})[leaf] = value
    return doc, key


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"


def toml_text(doc: dict[str, Any]) -> str:
    top = [f"{k} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    tables = [f"[{k}]\n" + "".join(f"{kk} = {toml_value(vv)}\n" for kk, vv in v.items()) for k, v in doc.items() if isinstance(v, dict)]
    return "\n".join(top) + "\n" + "\n".join(tables)


def same_value(a: Any, b: Any) -> bool:
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("key", STUDY_KEYS)
def test_study_numbers_outside_their_bound_are_refused_naming_field_value_and_rule(key: str) -> None:
    bound = LIMITS[key]
    for value in bound.invalid_values():
        doc, field = study_with(key, value)
        with pytest.raises(ConfigError) as info:
            parse_study(doc)
        err = info.value
        assert err.field == field, (key, value, str(err))
        assert same_value(err.value, value), (key, value, str(err))
        assert err.rule == bound.rule()
        assert "\n" not in str(err)
    for value in bound.valid_values():
        doc, _ = study_with(key, value)
        parse_study(doc)  # both ends are accepted


@pytest.mark.parametrize("key", STUDY_KEYS)
def test_the_command_refuses_them_with_one_line_exit_2_and_no_store(key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "study.toml"
    store = tmp_path / "s.db"
    for value in LIMITS[key].invalid_values():
        doc, field = study_with(key, value)
        study.write_text(toml_text(doc), encoding="utf-8")
        with pytest.raises(SystemExit) as info:
            cli.main(["run", str(study), "--store", str(store), "-q"])
        captured = capsys.readouterr()
        assert info.value.code == 2, (key, value, captured.err)
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"hpsearch: error: {study}: {field} = "), (key, value, captured.err)
        assert captured.out == ""
        assert sorted(p.name for p in tmp_path.iterdir()) == ["study.toml"]  # no store, no checkpoint folder


def option_texts(option: str) -> list[str]:
    """The invalid values of an option as typed on a command line."""
    bound = LIMITS[option]
    return [v if isinstance(v, str) else str(v) for v in bound.invalid_values() if bound.duration or not isinstance(v, str)]


@pytest.mark.parametrize("option", RUN_OPTIONS + DASHBOARD_OPTIONS + EXPORT_MODEL_OPTIONS)
def test_options_outside_their_bound_are_one_line_naming_option_value_and_rule(
    option: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = tmp_path / "study.toml"
    study.write_text(toml_text({"name": "limits", "strategy": "random", "budget": {"trials": 2, "epochs": 1}}), encoding="utf-8")
    store = tmp_path / "s.db"
    command = ["dashboard", "--store", str(store)] if option in DASHBOARD_OPTIONS else ["run", str(study), "--store", str(store)]
    if option in EXPORT_MODEL_OPTIONS:
        command = ["export-model", "limits", "--store", str(store), "--out", str(tmp_path / "m.keras")]
    for text in option_texts(option):
        with pytest.raises(SystemExit) as info:
            cli.main([*command, option, text])
        captured = capsys.readouterr()
        assert info.value.code == 2, (option, text)
        lines = captured.err.splitlines()
        assert lines == [f"hpsearch: error: argument {option}: {text!r}: {LIMITS[option].rule()} (see hpsearch {command[0]} --help)"]
        assert sorted(p.name for p in tmp_path.iterdir()) == ["study.toml"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run"], "the following arguments are required: STUDY (see hpsearch run --help)"),
        (["run", "s.toml", "--bogus"], "unrecognized arguments: --bogus"),
        (["trials", "x", "--state", "done"], "argument --state: invalid choice: 'DONE'"),
        (["status", "--store"], "argument --store: expected one argument (see hpsearch status --help)"),
        (["export", "x"], "the following arguments are required: --out"),
    ],
    ids=["missing-file", "unknown-option", "bad-choice", "missing-value", "missing-required-option"],
)
def test_other_argument_errors_are_one_line_without_the_usage_block(argv: list[str], expected: str, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpsearch: error: ") and expected in lines[0], lines


def test_help_still_prints_the_usage(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["run", "--help"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: hpsearch run")
