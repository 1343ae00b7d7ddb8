"""The notebooks run, top to bottom, against a store the tests build (grid, random, tpe and pbt studies)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.comparison_store import shared_comparison_store

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(shared_comparison_store(tmp_path_factory))


def _execute(name: str, folder: Path) -> nbformat.NotebookNode:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(notebook, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


def _stdout(notebook: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream")


@pytest.mark.parametrize("name", ["compare_strategies.ipynb", "inspect_study.ipynb"])
def test_notebooks_are_committed_without_outputs_and_take_the_store_from_the_top(name: str) -> None:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)
    assert 'STORE = os.environ.get("HPSEARCH_NOTEBOOK_STORE"' in code[0].source


def test_compare_strategies_runs_on_the_test_store(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPSEARCH_NOTEBOOK_STORE", db)
    monkeypatch.setenv("HPSEARCH_NOTEBOOK_RUN_MISSING", "0")  # load only: never train here
    monkeypatch.setenv("HPSEARCH_NOTEBOOK_REPORT", str(tmp_path / "report.html"))
    notebook = _execute("compare_strategies.ipynb", tmp_path)
    out = _stdout(notebook)
    assert "comparing: cmp-grid (grid), cmp-random (random), cmp-tpe (tpe), cmp-pbt (pbt)" in out
    assert (tmp_path / "report.html").stat().st_size > 1_000_000
    figures = [
        o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if "application/vnd.plotly.v1+json" in o.get("data", {})
    ]
    assert len(figures) >= 6


def test_inspect_study_shows_a_pbt_study_in_depth(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPSEARCH_NOTEBOOK_STORE", db)
    monkeypatch.delenv("HPSEARCH_NOTEBOOK_STUDY", raising=False)  # the default: the PBT study
    notebook = _execute("inspect_study.ipynb", tmp_path)
    assert "cmp-pbt: pbt, COMPLETE, 12/12 trials finished" in _stdout(notebook)
    last = [c for c in notebook.cells if c.cell_type == "code"][-1]
    assert any("model_history" in c.source for c in notebook.cells) and last.outputs  # the best model's ancestry was shown
