"""The HTML report: self-contained (plotly.js inline), one figure per section, the best-trial table, escaping."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import plotly.graph_objects as go
import pytest

import hpsearch
from hpsearch.read.frames import UnknownStudyError, best_trials_frame
from hpsearch.show.plots import empty_figure, is_empty
from hpsearch.show.report import Section, render_report, report_sections, write_report
from tests.comparison_store import shared_comparison_store, toy_test_accuracy

NAMES = ["cmp-grid", "cmp-random", "cmp-tpe", "cmp-pbt", "cmp-evolution", "cmp-hyperband"]


@dataclass
class _Page(HTMLParser):
    """What the tests read from a report: scripts, sections with their figures and headings, table rows."""

    scripts: list[dict[str, str | None]] = field(default_factory=list)
    script_text: list[str] = field(default_factory=list)
    sections: list[dict] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    links: list[dict[str, str | None]] = field(default_factory=list)
    _in: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self._in.append(tag)
        if tag == "script":
            self.scripts.append(a)
            self.script_text.append("")
        elif tag == "link":
            self.links.append(a)
        elif tag == "section":
            self.sections.append({"class": a.get("class"), "id": a.get("id"), "figures": 0, "h2": "", "scripts": 0})
        elif tag == "div" and "plotly-graph-div" in (a.get("class") or "") and self.sections:
            self.sections[-1]["figures"] += 1
        elif tag == "tr":
            self.rows.append([])

    def handle_endtag(self, tag: str) -> None:
        while self._in and self._in.pop() != tag:
            pass

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if not self._in:
            return
        if self._in[-1] == "script":
            self.script_text[-1] += data
            if self.sections and "section" in self._in:
                self.sections[-1]["scripts"] += 1
        elif self._in[-1] == "h2" and self.sections:
            self.sections[-1]["h2"] += data
        elif self._in[-1] in ("td", "th") and self.rows:
            self.rows[-1].append(data.strip())


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    page.close()
    return page


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(shared_comparison_store(tmp_path_factory))


@pytest.fixture(scope="module")
def report(db: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, _Page]:
    out = write_report(db, NAMES, tmp_path_factory.mktemp("report") / "report.html")
    return out, _parse(out.read_text(encoding="utf-8"))


def test_plotly_is_embedded_inline_and_nothing_is_fetched(report: tuple[Path, _Page]) -> None:
    out, page = report
    assert all(s.get("src") is None for s in page.scripts)  # no external script
    assert not [link for link in page.links if link.get("href")]  # no stylesheet or font from elsewhere
    library = [t for t in page.script_text if "plotly.js v" in t[:2000] or len(t) > 1_000_000]
    assert len(library) == 1 and len(library[0]) > 1_000_000  # plotly.js itself, once
    assert page.script_text.index(library[0]) == 0  # in the head, before any figure
    assert not re.search(r"<script[^>]+src=", out.read_text(encoding="utf-8"))
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]  # no temporary file left


def test_one_figure_per_section_and_the_expected_sections(report: tuple[Path, _Page]) -> None:
    _, page = report
    figures = [s for s in page.sections if s["class"] == "figure"]
    assert all(s["figures"] == 1 for s in figures)
    assert [s["id"] for s in figures] == [
        "best-so-far",
        "distribution",
        "parallel",
        "slices",
        "learning-curves",
        "importance",
        "pbt-schedule-cmp-pbt",
        "pbt-lineage-cmp-pbt",
        "evolution-lineage-cmp-evolution",
        "rungs-cmp-hyperband",
    ]
    assert all(s["h2"] for s in page.sections)
    tables = [s for s in page.sections if s["class"] == "table"]
    assert len(tables) == 1 and tables[0]["figures"] == 0


def test_the_table_shows_the_best_trial_of_each_study_with_its_test_accuracy(db: str, report: tuple[Path, _Page]) -> None:
    _, page = report
    header, *rows = page.rows
    assert header[:5] == ["study", "strategy", "state", "trials done", "best trial"] and "test accuracy" in header
    assert [r[0] for r in rows] == NAMES
    for row in rows:
        best = hpsearch.best(row[0], db)
        assert row[4] == str(best.number)
        assert row[header.index("test accuracy")] == f"{toy_test_accuracy(best.params):.2%}"
        assert row[header.index("validation accuracy")] == f"{best.value:.2%}"


def test_figure_data_in_the_page_is_the_figure_of_its_section(db: str, report: tuple[Path, _Page]) -> None:
    _, page = report
    sections = report_sections(db, NAMES)
    calls = [t for t in page.script_text if "Plotly.newPlot" in t]
    assert len(calls) == len(sections)
    for section, call in zip(sections, calls):
        data = json.loads(re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", call, re.S).group(1))
        assert [t.get("name") for t in data] == [t.name for t in section.figure.data]


def test_still_running_and_empty_studies_give_a_report_with_empty_states(db: str, tmp_path: Path) -> None:
    out = write_report(db, ["cmp-empty", "cmp-partial"], tmp_path / "running.html")
    page = _parse(out.read_text(encoding="utf-8"))
    assert all(s["figures"] == 1 for s in page.sections if s["class"] == "figure")
    text = out.read_text(encoding="utf-8")
    assert "needs 4 completed trials" in text
    header, *rows = page.rows
    assert [r[0] for r in rows] == ["cmp-empty", "cmp-partial"]
    assert rows[0][header.index("test accuracy")] == "\u2014"  # not measured yet: a dash
    sections = report_sections(db, ["cmp-empty"])
    assert all(is_empty(s.figure) for s in sections)


def test_unknown_study_writes_nothing(db: str, tmp_path: Path) -> None:
    with pytest.raises(UnknownStudyError, match="cmp-grid"):
        write_report(db, ["cmp-grid", "missing"], tmp_path / "r.html")
    assert not list(tmp_path.iterdir())


def test_names_are_html_escaped(db: str) -> None:
    evil = "<script>alert(1)</script>"
    best = best_trials_frame(db, ["cmp-grid"]).assign(study=evil, optimizer="<i>adam</i>")
    fig = go.Figure(go.Scatter(x=[1], y=[2], name=evil))
    page = render_report(
        [Section("a<b", f"about {evil}", f"how {evil}", fig), Section("empty", "empty", "", empty_figure(f"no {evil}"))],
        best,
        title=f"report {evil}",
        subtitle=evil,
    )
    parsed = _parse(page)
    assert all("alert(1)" not in t for t in parsed.script_text if "Plotly.newPlot" not in t)
    assert page.count("<script>alert") == 0 and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;i&gt;adam&lt;/i&gt;" in page and "id='a&lt;b'" in page
    assert parsed.rows[1][0] == evil  # the parser unescapes: the text reads as written


def test_write_report_is_exported_lazily() -> None:
    assert "write_report" in hpsearch.__all__ and hpsearch.write_report is write_report
