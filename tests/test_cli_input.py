"""The ``hpsearch`` command on bad input: exit 2, one clear line on stderr, and nothing written.

Every test runs the real command in a subprocess (``python -m hpsearch``) and
trains no Keras model.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import hpsearch
from hpsearch.store import Store

REPO = Path(__file__).resolve().parents[1]
QUICKSTART = REPO / "studies" / "quickstart.toml"

VALID = """\
name = "cli-test"
strategy = "random"
seed = 1

[budget]
trials = 2
epochs = 1

[space]
width = [16, 32]
"""


def hpsearch_cli(*args: str, cwd: Path, extra_python_args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``python -m hpsearch ARGS`` in ``cwd``; the repository comes first on the import path."""
    env = {k: v for k, v in os.environ.items() if k not in ("HPSEARCH_STORE", "HPSEARCH_DATA_DIR")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, *extra_python_args, "-m", "hpsearch", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected exactly one line on stderr, got {result.stderr!r}"
    assert lines[0].startswith("hpsearch: error: "), lines[0]
    return lines[0]


def store_files(path: Path) -> list[Path]:
    return [p for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")) if p.exists()]


# --------------------------------------------------------------------------- bad study files

# Numbers out of their bounds are generated from hpsearch.core.limits and run in-process (tests/test_limits.py);
# these are the other rules, each through the real command once.
BAD_STUDIES = [
    ("unknown-top-level-key", 'optimiser = "adam"\n' + VALID, ["optimiser", "'adam'", "unknown key"]),
    ("unknown-budget-key", VALID.replace("epochs = 1", "epochs = 1\nepoch = 5"), ["budget.epoch", "5", "unknown key"]),
    ("unknown-space-key", VALID + "dropout = { low = 0.0, high = 0.5, step = 0.1 }\n", ["space.dropout.step", "0.1"]),
    ("dropout-in-values", VALID + "dropout = [0.2, -0.1]\n", ["space.dropout.values[1]", "-0.1", "in [0, 1)"]),
    (
        "inverted-range",
        VALID.replace("width = [16, 32]", "width = { low = 128, high = 16 }"),
        ["space.width", "'low': 128", "'high': 16", "low < high"],
    ),
    ("empty-values", VALID.replace("width = [16, 32]", "width = []"), ["space.width.values", "[]", "non-empty"]),
    ("unknown-optimizer", VALID + 'optimizer = ["adam", "adamx"]\n', ["space.optimizer.values[1]", "'adamx'", "must be one of"]),
    ("unknown-strategy", VALID.replace('"random"', '"bayes"'), ["strategy", "'bayes'", "must be one of"]),
    ("missing-strategy", VALID.replace('strategy = "random"\n', ""), ["strategy", "None", "required"]),
    (
        "grid-without-grid-points",
        VALID.replace('"random"', '"grid"').replace("trials = 2\n", "") + "dropout = { low = 0.0, high = 0.5 }\n",
        ["space.dropout.grid_points", "None", "grid"],
    ),
    (
        "grid-budget-larger-than-grid",
        VALID.replace('"random"', '"grid"').replace("trials = 2", "trials = 5"),
        ["budget.trials", "5", "this grid has 2 points"],
    ),
    ("random-without-trials", VALID.replace("trials = 2\n", ""), ["budget.trials", "None", "required for a random study"]),
    ("log-range-low-zero", VALID + "dropout = { low = 0.0, high = 0.5, log = true }\n", ["space.dropout.low", "0.0", "log-scale"]),
    ("timeout-abc", VALID.replace("epochs = 1", 'epochs = 1\ntimeout = "abc"'), ["budget.timeout", "'abc'", "duration"]),
    ("bad-name", VALID.replace('"cli-test"', '"cli test"'), ["name", "'cli test'", "letters, digits"]),
    ("invalid-toml", VALID.replace('strategy = "random"', "strategy = random"), ["study file", "study.toml", "not valid TOML"]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in BAD_STUDIES], ids=[c[0] for c in BAD_STUDIES])
def test_run_with_bad_study_exits_2_with_one_line_and_writes_nothing(tmp_path, text, expected):
    study = tmp_path / "study.toml"
    study.write_text(text, encoding="utf-8")
    store = tmp_path / "s.db"
    result = hpsearch_cli("run", str(study), "--store", str(store), "-q", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = error_line(result)
    for part in expected:
        assert part in line, f"{part!r} not in {line!r}"
    assert str(study) in line  # the message names the file
    assert result.stdout == ""
    assert store_files(store) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.toml"]  # no store, no checkpoint folder


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in BAD_STUDIES[:3]], ids=[c[0] for c in BAD_STUDIES[:3]])
def test_validate_with_bad_study_exits_2_with_one_line(tmp_path, text, expected):
    study = tmp_path / "study.toml"
    study.write_text(text, encoding="utf-8")
    result = hpsearch_cli("validate", str(study), cwd=tmp_path)
    assert result.returncode == 2
    line = error_line(result)
    assert all(part in line for part in expected), line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.toml"]


def test_run_with_missing_study_file_exits_2_and_writes_nothing(tmp_path):
    store = tmp_path / "s.db"
    missing = tmp_path / "nope.toml"
    result = hpsearch_cli("run", str(missing), "--store", str(store), cwd=tmp_path)
    assert result.returncode == 2
    line = error_line(result)
    assert "study file" in line and str(missing) in line and "no such file" in line
    assert list(tmp_path.iterdir()) == []


def test_run_with_bad_option_exits_2_with_one_line_and_writes_nothing(tmp_path):
    """The subprocess case of tests/test_limits.py's in-process option checks: one line, exit 2, no store."""
    study = tmp_path / "study.toml"
    study.write_text(VALID, encoding="utf-8")
    store = tmp_path / "s.db"
    result = hpsearch_cli("run", str(study), "--store", str(store), "--timeout", "-5s", cwd=tmp_path)
    assert result.returncode == 2
    line = error_line(result)
    assert "argument --timeout: '-5s': must be a duration" in line and "hpsearch run --help" in line
    assert store_files(store) == []


# --------------------------------------------------------------------------- stores that are not hpsearch stores


def _foreign_sqlite(path: Path, journal_mode: str = "delete") -> None:
    con = sqlite3.connect(path)
    try:
        con.execute(f"PRAGMA journal_mode = {journal_mode}")
        con.execute("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO people (name) VALUES ('ada'), ('grace')")
        con.commit()
    finally:
        con.close()


@pytest.mark.parametrize("command", ["run", "status"])
def test_text_file_as_store_is_refused_and_left_unchanged(tmp_path, command):
    store = tmp_path / "notes.db"
    store.write_text("my notes\nnot a database\n", encoding="utf-8")
    before = store.read_bytes()
    study = tmp_path / "study.toml"
    study.write_text(VALID, encoding="utf-8")
    args = ["run", str(study), "-q"] if command == "run" else ["status"]
    result = hpsearch_cli(*args, "--store", str(store), cwd=tmp_path)
    assert result.returncode != 0
    assert result.returncode == 1
    line = error_line(result)
    assert str(store) in line
    assert "is not an hpsearch store" in line and "not an SQLite database" in line
    assert store.read_bytes() == before
    assert store_files(store) == [store]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db", "study.toml"]


@pytest.mark.parametrize("command", ["run", "status"])
def test_sqlite_database_with_other_tables_is_refused_and_left_unchanged(tmp_path, command):
    store = tmp_path / "other.db"
    _foreign_sqlite(store)
    before = store.read_bytes()
    study = tmp_path / "study.toml"
    study.write_text(VALID, encoding="utf-8")
    args = ["run", str(study), "-q"] if command == "run" else ["status"]
    result = hpsearch_cli(*args, "--store", str(store), cwd=tmp_path)
    assert result.returncode == 1
    line = error_line(result)
    assert str(store) in line
    assert "is not an hpsearch store" in line and "other tables (people)" in line
    assert store.read_bytes() == before
    assert store_files(store) == [store]
    con = sqlite3.connect(store)
    try:
        assert con.execute("SELECT name FROM people ORDER BY id").fetchall() == [("ada",), ("grace",)]
    finally:
        con.close()


def test_wal_mode_sqlite_database_with_other_tables_gets_no_wal_or_shm_files(tmp_path):
    store = tmp_path / "other.db"
    _foreign_sqlite(store, journal_mode="wal")
    assert store_files(store) == [store]
    before = store.read_bytes()
    result = hpsearch_cli("status", "--store", str(store), cwd=tmp_path)
    assert result.returncode == 1
    assert "other tables (people)" in error_line(result)
    assert store.read_bytes() == before
    assert store_files(store) == [store]


@pytest.mark.parametrize("args", [["status"], ["trials", "quickstart"], ["best", "quickstart"]], ids=["status", "trials", "best"])
def test_read_commands_on_missing_store_fail_naming_the_path_and_create_nothing(tmp_path, args):
    store = tmp_path / "missing.db"
    result = hpsearch_cli(*args, "--store", "missing.db", cwd=tmp_path)
    assert result.returncode == 1
    line = error_line(result)
    assert str(store.resolve()) in line
    assert "no store at" in line
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- help and validate


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        ([], ["run", "validate", "status", "trials", "best", "COMMAND --help"]),
        (
            ["run"],
            [
                "STUDY",
                "--store",
                "--data-dir",
                "--timeout",
                "--max-failures",
                "--retry-failed",
                "--stale-after",
                "--checkpoint-dir",
                "--quiet",
            ],
        ),
        (["validate"], ["STUDY"]),
        (["status"], ["--store"]),
        (["trials"], ["NAME", "--store", "--state", "--format", "csv", "json"]),
        (["best"], ["NAME", "--store", "--json"]),
    ],
    ids=["top", "run", "validate", "status", "trials", "best"],
)
def test_help_exits_0_and_mentions_the_options(tmp_path, args, mentions):
    result = hpsearch_cli(*args, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.startswith("usage: hpsearch")
    for word in mentions:
        assert word in result.stdout, f"{word!r} missing from help of {args}"
    assert list(tmp_path.iterdir()) == []


def test_no_command_exits_2_with_one_line_listing_the_commands(tmp_path):
    result = hpsearch_cli(cwd=tmp_path)
    assert result.returncode == 2
    line = error_line(result)
    assert "a command is required: one of run, worker, validate" in line and "hpsearch --help" in line


def test_validate_quickstart_exits_0_and_prints_the_resolved_study(tmp_path):
    result = hpsearch_cli("validate", str(QUICKSTART), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"{QUICKSTART}: valid"
    assert lines[1] == "  study quickstart: random, 6 trials x 3 epochs, data mnist-sample, seed 42"
    assert "  width: {'low': 32, 'high': 256, 'log': True, 'grid_points': None}" in lines
    assert "  optimizer: {'values': ['adam', 'rmsprop', 'sgd', 'nadam']}" in lines
    assert list(tmp_path.iterdir()) == []


def test_cli_start_up_does_not_import_tensorflow_or_keras(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(VALID + "dropout = 1.0\n", encoding="utf-8")
    for args in (
        ["--help"],
        ["validate", str(QUICKSTART)],
        ["run", str(bad), "--store", str(tmp_path / "s.db")],
        ["status", "--store", str(tmp_path / "missing.db")],
    ):
        result = hpsearch_cli(*args, cwd=tmp_path, extra_python_args=("-X", "importtime"))
        imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
        assert "hpsearch.cli" in imported
        heavy = sorted(m for m in imported if m.startswith(("tensorflow", "keras")) or m == "hpsearch.train.keras")
        assert heavy == [], f"{args} imported {heavy[:5]}"


# --------------------------------------------------------------------------- study name mismatch

MISMATCH_NAME = "toy"


def _toy_study(width: str) -> str:
    return f'name = "{MISMATCH_NAME}"\nstrategy = "random"\nseed = 3\n[budget]\ntrials = 3\nepochs = 2\n[space]\nwidth = {width}\n'


@pytest.fixture
def toy_store(tmp_path) -> Path:
    """A store holding study ``toy`` (3 trials), created through the Python API with a toy trainer."""
    first = tmp_path / "toy.toml"
    first.write_text(_toy_study("[16, 32]"), encoding="utf-8")
    db = tmp_path / "s.db"
    trainer = hpsearch.FunctionTrainer(lambda params, epoch, seed: {"val_accuracy": 0.5, "loss": 0.5})
    summary = hpsearch.run_study(hpsearch.load_study(first), str(db), trainer=trainer)
    assert summary.finished == 3
    assert summary.complete
    return db


def _trial_count(db: Path) -> int:
    with Store.open(db, read_only=True) as store:
        return len(store.trials(store.study(MISMATCH_NAME).id))


def test_run_with_same_name_but_different_space_exits_2_and_keeps_the_store(tmp_path, toy_store):
    assert _trial_count(toy_store) == 3
    changed = tmp_path / "changed" / "toy.toml"
    changed.parent.mkdir()
    changed.write_text(_toy_study("[16, 64]"), encoding="utf-8")
    result = hpsearch_cli("run", str(changed), "--store", str(toy_store), "-q", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = error_line(result)
    assert str(changed) in line
    assert "name = 'toy'" in line
    assert "already exists" in line and "different space" in line
    assert "space.width.values (stored [16, 32], file [16, 64])" in line  # the one setting that differs
    assert _trial_count(toy_store) == 3
    with Store.open(toy_store, read_only=True) as store:
        assert store.study(MISMATCH_NAME).config["space"]["width"] == {"kind": "Choice", "values": [16, 32]}


def test_study_mismatch_is_reported_without_importing_keras(tmp_path, toy_store):
    changed = tmp_path / "changed.toml"
    changed.write_text(_toy_study("[16, 64]"), encoding="utf-8")
    result = hpsearch_cli("run", str(changed), "--store", str(toy_store), "-q", cwd=tmp_path, extra_python_args=("-X", "importtime"))
    assert result.returncode == 2
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "hpsearch.train.keras" not in imported
    assert "keras" not in imported


# --------------------------------------------------------------------------- store URLs and locations


def test_a_store_whose_driver_is_missing_is_one_line_naming_the_package_without_the_password(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(VALID, encoding="utf-8")
    result = hpsearch_cli("run", str(study), "-q", "--store", "mysql://user:s3cretPW@nohost/x", cwd=tmp_path)
    assert result.returncode == 1
    line = error_line(result)
    assert "'mysql://user:***@nohost/x'" in line and "driver 'MySQLdb' is not installed (pip install 'mysqlclient')" in line
    assert "s3cretPW" not in result.stderr + result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.toml"]


def test_run_refuses_a_store_in_missing_folders_and_creates_nothing(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(VALID, encoding="utf-8")
    store = tmp_path / "a" / "b" / "s.db"
    result = hpsearch_cli("run", str(study), "-q", "--store", f"sqlite:///{store}", cwd=tmp_path)
    assert result.returncode == 1
    assert f"cannot create the store {store}: no such directory: {store.parent}" in error_line(result)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["study.toml"]


# --------------------------------------------------------------------------- study-file messages (issue 20, item 13)


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("folder", None, "is a directory"),
        ("bad\nname.toml", 'name = "x"\nstrategy = "nope"\n', "'bad\\nname.toml': strategy = 'nope': must be one of"),
        ("unknown.toml", VALID.replace("width = [16, 32]", "beta_2 = [0.9]"), "space.beta_2 = [0.9]: the built-in model has no"),
        ("sgd.toml", VALID.replace("width = [16, 32]", "momentum = [0.9]"), "space.momentum = [0.9]: is SGD's: the built-in model"),
    ],
    ids=["directory", "newline-in-path", "unknown-dimension", "momentum-without-an-optimizer"],
)
def test_validate_names_the_study_file_and_its_values_in_one_line(tmp_path, name, text, expected):
    study = tmp_path / name
    if text is None:
        study.mkdir()
    else:
        study.write_text(text, encoding="utf-8")
    result = hpsearch_cli("validate", name, cwd=tmp_path)
    assert result.returncode == 2
    assert expected in error_line(result)
