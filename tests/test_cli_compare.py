"""`hpsearch compare` and `hpsearch export`, run as a person runs them (a subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import hpsearch
from tests.comparison_store import shared_comparison_store


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(shared_comparison_store(tmp_path_factory))


def hpsearch_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hpsearch", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_compare_writes_one_self_contained_report(db: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    done = hpsearch_cli("compare", "cmp-grid", "cmp-tpe", "cmp-pbt", "--store", db, "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout and "cmp-grid, cmp-tpe, cmp-pbt" in done.stdout
    text = out.read_text(encoding="utf-8")
    assert text.count("class='figure'") == 8 and text.count("plotly-graph-div") == 8
    assert "<script src=" not in text.split("</head>")[1]  # figures use the plotly.js embedded in the head


def test_compare_unknown_study_is_bad_input_listing_the_known_ones(db: str, tmp_path: Path) -> None:
    done = hpsearch_cli("compare", "cmp-grid", "nope", "--store", db, "--out", str(tmp_path / "r.html"))
    assert done.returncode == 2
    assert done.stderr.startswith("hpsearch: error: study = 'nope': no such study in ")
    assert "(studies: cmp-empty, cmp-evolution, cmp-grid, cmp-hyperband, cmp-partial, cmp-pbt, cmp-random, cmp-tpe)" in done.stderr
    assert not (tmp_path / "r.html").exists() and done.stdout == ""


def test_compare_failures_exit_1(db: str, tmp_path: Path) -> None:
    missing = hpsearch_cli("compare", "x", "--store", str(tmp_path / "none.db"), "--out", str(tmp_path / "r.html"))
    assert missing.returncode == 1 and "hpsearch: error: no store at" in missing.stderr
    # outputs that may not be written (exit 2): tests/test_output_file.py


def test_export_every_format_and_metrics(db: str, tmp_path: Path) -> None:
    csv = tmp_path / "grid.csv"
    done = hpsearch_cli("export", "cmp-grid", "--store", db, "--out", str(csv))  # format from the extension
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(csv)) == len(hpsearch.trials("cmp-grid", db))
    parquet = tmp_path / "epochs.data"
    done = hpsearch_cli("export", "cmp-pbt", "--format", "parquet", "--metrics", "--store", db, "--out", str(parquet))
    assert done.returncode == 0, done.stderr
    assert "per-epoch metrics of cmp-pbt" in done.stdout, done.stdout
    assert len(pd.read_parquet(parquet)) == 4 * 3  # 4 members x 3 epochs
    out = tmp_path / "tpe.json"
    assert hpsearch_cli("export", "cmp-tpe", "--format", "json", "--store", db, "--out", str(out)).returncode == 0
    assert [r["number"] for r in json.loads(out.read_text())] == list(range(8))


def test_export_bad_input_exits_2(db: str, tmp_path: Path) -> None:
    unknown_format = hpsearch_cli("export", "cmp-grid", "--store", db, "--out", str(tmp_path / "t.txt"))
    assert unknown_format.returncode == 2
    assert (
        unknown_format.stderr.startswith("hpsearch: error: cannot tell the format of")
        and "--format csv|parquet|json" in unknown_format.stderr
    )
    unknown_study = hpsearch_cli("export", "nope", "--format", "csv", "--store", db, "--out", str(tmp_path / "t.csv"))
    assert unknown_study.returncode == 2 and "(studies: cmp-empty, cmp-evolution, cmp-grid" in unknown_study.stderr
    bad_choice = hpsearch_cli("export", "cmp-grid", "--format", "xlsx", "--out", str(tmp_path / "t.xlsx"))
    assert bad_choice.returncode == 2 and "invalid choice: 'xlsx'" in bad_choice.stderr
    assert not list(tmp_path.iterdir())


def test_export_model_refuses_what_it_cannot_write(db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In-process: a wrong suffix is bad input; a study with no completed trial, or whose best trial's
    weights are not on this machine (a toy objective keeps none), fails with the reason; nothing is written."""
    pytest.importorskip("keras")
    from hpsearch.cli import main

    def failure(*args: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as stopped:
            main(["export-model", *args, "--store", db])
        return int(stopped.value.code), capsys.readouterr().err

    code, err = failure("cmp-grid", "--out", str(tmp_path / "best.h5"))
    assert code == 2 and "--out = " in err and "must end in .keras" in err
    code, err = failure("cmp-empty", "--out", str(tmp_path / "best.keras"))
    assert code == 1 and "no trial has completed yet" in err
    code, err = failure("cmp-grid", "--out", str(tmp_path / "best.keras"))
    assert code == 1 and "are not on this machine" in err and "--checkpoint-dir" in err
    assert not list(tmp_path.iterdir())


def test_importing_hpsearch_loads_neither_plotly_nor_tensorflow() -> None:
    code = "import sys, hpsearch; print(sorted({m.split('.')[0] for m in sys.modules} & {'plotly', 'tensorflow', 'keras'}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
