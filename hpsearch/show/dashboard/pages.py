"""The layouts of the dashboard pages (Dash components), built from :mod:`hpsearch.show.dashboard.data`.

Every name and message is passed to Dash as text (never as HTML), so Dash escapes
it: a study called ``<script>alert(1)</script>`` shows as those characters. The
overview links to study pages with markdown whose raw HTML is disabled and whose
special characters are backslash-escaped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from dash import dash_table, dcc, html

from hpsearch.core.space import Choice, SearchSpace
from hpsearch.read.frames import study_dimensions, study_space
from hpsearch.show.dashboard.data import PAGE_SIZE, OverviewRow, StudyHeader, TrialPage, choice_filters, is_numeric
from hpsearch.store import TrialState

__all__ = [
    "compare_page",
    "figure_graphs",
    "graph_fp_id",
    "graph_id",
    "choice_id",
    "header_children",
    "not_found_page",
    "overview_page",
    "overview_records",
    "parallel_mode_picker",
    "placeholder",
    "slider_ranges",
    "study_href",
    "study_page",
]

_MD_SPECIAL = set("\\`*_{}[]()<>#+-.!|~")
_TABLE_STYLE: dict[str, Any] = {
    "style_table": {"overflowX": "auto"},
    "style_cell": {"fontFamily": "system-ui, sans-serif", "fontSize": "14px", "padding": "4px 8px", "textAlign": "left"},
    "style_header": {"fontWeight": "bold", "backgroundColor": "#f3f3f3"},
}


def study_href(name: str) -> str:
    """The path of a study's page."""
    return "/study/" + quote(name, safe="")


def _md_text(text: str) -> str:
    """``text`` as literal markdown (every special character escaped)."""
    return "".join("\\" + c if c in _MD_SPECIAL else c for c in text)


def _when(ts: float | None) -> str:
    return "" if not ts else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def _num(value: float | None, digits: int = 4) -> float | None:
    return None if value is None or not math.isfinite(value) else round(value, digits)


def overview_records(rows: Sequence[OverviewRow]) -> list[dict[str, Any]]:
    """The rows of the overview table."""
    return [
        {
            "study": f"[{_md_text(r.name)}]({study_href(r.name)})",
            "name": r.name,
            "strategy": r.strategy,
            "state": r.state,
            "finished": r.finished,
            "budget": r.n_trials,
            "progress": f"{r.finished} / {r.n_trials}",
            "running": r.running,
            "failed": r.failed,
            "best": _num(r.best_value),
            "metric": r.metric,
            "updated": _when(r.updated_at),
        }
        for r in rows
    ]


_OVERVIEW_COLUMNS = [
    {"name": "study", "id": "study", "presentation": "markdown"},
    {"name": "strategy", "id": "strategy"},
    {"name": "state", "id": "state"},
    {"name": "trials finished", "id": "finished", "type": "numeric"},
    {"name": "budget", "id": "budget", "type": "numeric"},
    {"name": "running", "id": "running", "type": "numeric"},
    {"name": "failed", "id": "failed", "type": "numeric"},
    {"name": "best value", "id": "best", "type": "numeric"},
    {"name": "metric", "id": "metric"},
    {"name": "last update", "id": "updated"},
]


def overview_page(rows: Sequence[OverviewRow], fingerprint: Any, poll_ms: int) -> html.Div:
    """Every study of the store in one sortable table."""
    return html.Div(
        [
            html.H2("Studies"),
            html.P(
                "State: running (heartbeats arriving), finished, interrupted (RUNNING in the store but no heartbeat for a few "
                "minutes: run it again to resume), stopped (too many failures). Click a study to open it; click a header to sort."
            ),
            dash_table.DataTable(  # type: ignore[attr-defined]
                id="overview-table",
                columns=_OVERVIEW_COLUMNS,
                data=overview_records(rows),
                sort_action="native",
                markdown_options={"html": False, "link_target": "_self"},
                page_action="none",
                **_TABLE_STYLE,
            ),
            html.P("No study in this store yet." if not rows else "", id="overview-empty"),
            dcc.Store(id="overview-fp", data=list(fingerprint) if fingerprint is not None else None),
            dcc.Interval(id="overview-tick", interval=poll_ms),
        ]
    )


def header_children(header: StudyHeader) -> list[Any]:
    """The summary of a study: strategy, state, progress, best trial and test accuracy."""
    r = header.row
    best = "none yet" if header.best_trial is None else f"trial {header.best_trial}, {r.metric} {_num(r.best_value)}"
    test = "not evaluated yet" if header.test_accuracy is None else f"{header.test_accuracy:.4f}"
    items = [
        ("strategy", r.strategy),
        ("state", r.state),
        ("trials finished", f"{r.finished} / {r.n_trials}"),
        ("running", str(r.running)),
        ("failed", str(r.failed)),
        ("best", best),
        ("test accuracy of the best trial", test),
        ("last update", _when(r.updated_at)),
    ]
    return [html.Span([html.B(k + ": "), html.Span(v, id=f"study-{k.split()[0]}")], style={"marginRight": "1.5em"}) for k, v in items]


def slider_ranges(space: SearchSpace) -> dict[str, tuple[float, float, bool]]:
    """For each numeric hyperparameter of ``space``: (low, high, log scale) of its filter slider."""
    out: dict[str, tuple[float, float, bool]] = {}
    for name, dim in space.items():
        if isinstance(dim, Choice):
            numbers = [float(c) for c in dim.choices if isinstance(c, int | float) and not isinstance(c, bool)]
            if len(numbers) >= 2 and len(numbers) == len(dim.choices):
                out[name] = (min(numbers), max(numbers), False)
        else:
            out[name] = (float(dim.low), float(dim.high), bool(dim.log))
    return out


def _slider(name: str, low: float, high: float, log: bool) -> html.Div:
    log = log and low > 0
    lo, hi = (math.log10(low), math.log10(high)) if log else (low, high)
    marks = {v: f"{10**v if log else v:.3g}" for v in (lo, hi)}
    return html.Div(
        [
            html.Label(f"{name}{' (log scale)' if log else ''}"),
            dcc.RangeSlider(
                id={"type": "range", "param": name, "log": int(log)},
                min=lo,
                max=hi,
                value=[lo, hi],
                step=(hi - lo) / 100 or 1,
                marks=marks,
                # a log slider moves in log10: typed bounds would be exponents, so it has none, and its
                # tooltip shows the value (assets/slider_values.js)
                allow_direct_input=not log,
                tooltip={"placement": "bottom", "transform": "hpsearchPow10"} if log else None,
            ),
        ],
        style={"width": "22em", "display": "inline-block", "marginRight": "1em", "verticalAlign": "top"},
    )


#: Heights of the figures while they are being drawn (those of the drawn figures: the page does not jump).
_HEIGHTS = {
    "learning-curves": 380,
    "parallel": 460,
    "slices": 420,
    "best-so-far": 460,
    "distribution": 440,
    "pareto-front": 480,
    "hypervolume": 440,
}


def placeholder(key: str) -> dict[str, Any]:
    """The figure a graph shows until its first drawing arrives."""
    hidden = {"visible": False}
    return {
        "data": [],
        "layout": {
            "height": _HEIGHTS.get(key, 400),
            "xaxis": hidden,
            "yaxis": hidden,
            "template": {"layout": {"paper_bgcolor": "white", "plot_bgcolor": "white"}},
            "annotations": [{"text": "drawing…", "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}],
        },
    }


def graph_id(prefix: str, key: Any) -> dict[str, Any]:
    """The id of the graph of figure ``key`` on the ``prefix`` (study / compare) page (``key`` may be Dash's ``ALL``)."""
    return {"type": f"{prefix}-graph", "key": key}


def graph_fp_id(prefix: str, key: Any) -> dict[str, Any]:
    """The id of the store holding the fingerprint a graph was drawn at."""
    return {"type": f"{prefix}-graph-fp", "key": key}


def figure_graphs(keys: Sequence[str], *, prefix: str, columns: int = 1, figures: dict[str, Any] | None = None) -> list[Any]:
    """One graph per figure key, ``columns`` side by side, each in a box with the id ``<prefix>-<key>``
    beside the store of the fingerprint it was drawn at.

    The graphs are on the page from its first paint (a placeholder until their figure
    arrives), so the browser loads plotly.js while the server draws the figures; each
    graph is drawn by its own request, and shows as soon as it is ready."""
    width = f"{100 / columns - 1:.1f}%"
    return [
        html.Div(
            [
                dcc.Graph(id=graph_id(prefix, key), figure=(figures or {}).get(key, placeholder(key)), config={"displaylogo": False}),
                dcc.Store(id=graph_fp_id(prefix, key)),
            ],
            id=f"{prefix}-{key}",
            style={"width": width, "display": "inline-block", "verticalAlign": "top"},
            className="figure-card",
        )
        for key in keys
    ]


def parallel_mode_picker(prefix: str) -> html.Div:
    """How to draw the parallel coordinates: SVG lines, or WebGL with brushing."""
    return html.Div(
        [
            html.Label("parallel coordinates: ", style={"marginRight": "0.5em"}),
            dcc.RadioItems(
                id=f"{prefix}-parallel-mode",
                options=[
                    {"label": "lines (fast)", "value": "lines"},
                    {"label": "interactive: drag along an axis to filter (WebGL, slower without a GPU)", "value": "webgl"},
                ],
                value="lines",
                inline=True,
                style={"display": "inline-block"},
                inputStyle={"marginRight": "0.3em", "marginLeft": "1em"},
            ),
        ],
        style={"margin": "8px 0"},
    )


#: The columns of the trial table around the study's hyperparameters (which come after ``state``).
_BEFORE = ["number", "state"]
_AFTER = ["value", "epochs", "attempt", "seconds", "member", "generation", "error"]
_NUMERIC = {"number", "value", "epochs", "attempt", "seconds", "member", "generation"}


def choice_id(name: Any) -> dict[str, Any]:
    """The id of the filter of the values of choice ``name`` on a study page (``name`` may be Dash's ``ALL``)."""
    return {"type": "choice", "param": name}


def _choice_filter(name: str, values: Sequence[str]) -> html.Div:
    return html.Div(
        [html.Label(f"{name} "), dcc.Dropdown(id=choice_id(name), options=list(values), value=list(values), multi=True)],
        style={"width": "30em", "display": "inline-block", "marginLeft": "2em", "verticalAlign": "top"},
    )


def study_page(header: StudyHeader, table: TrialPage, figure_keys: Sequence[str], version: dict[str, Any], poll_ms: int) -> html.Div:
    """One study: summary, filters, the trial table (filtered, sorted and paged by the store) and
    the graphs of ``figure_keys`` (placeholders: each is drawn by its own first callback), all
    at ``version`` (``{"fp": the store's fingerprint, "at": time}``, see ``app._next_version``)."""
    study = header.study
    sliders = [_slider(name, *spec) for name, spec in slider_ranges(study_space(study)).items()]
    dims = study_dimensions(study)
    numeric = _NUMERIC | {name for name, dim in dims.items() if is_numeric(dim)}
    shown = {"pbt": {"member", "generation"}, "evolution": {"generation"}, "nsga2": {"generation"}, "cmaes": {"generation"}}.get(
        study.strategy, set()
    )
    columns = [
        {"name": c, "id": c, **({"type": "numeric"} if c in numeric else {})}
        for c in [*_BEFORE, *dims, *_AFTER]
        if c not in {"member", "generation"} or c in shown
    ]
    return html.Div(
        [
            dcc.Link("← all studies", href="/"),
            html.H2(study.name, id="study-title"),
            html.Div(header_children(header), id="study-header"),
            html.H3("Trials"),
            html.Div(
                [
                    html.Label("state "),
                    dcc.Checklist(
                        id="filter-state",
                        options=[st.value for st in TrialState],
                        value=[st.value for st in TrialState],
                        inline=True,
                        style={"display": "inline-block"},
                    ),
                    *(_choice_filter(name, values) for name, values in choice_filters(study).items()),
                ]
            ),
            html.Div(sliders),
            html.P(table.shown_text, id="study-count"),
            dash_table.DataTable(  # type: ignore[attr-defined]
                id="study-table",
                columns=columns,
                data=table.rows,
                sort_action="custom",
                sort_mode="single",
                sort_by=[],
                page_action="custom",
                page_current=table.page,
                page_size=PAGE_SIZE,
                page_count=table.page_count,
                **_TABLE_STYLE,
            ),
            parallel_mode_picker("study"),
            html.Div(figure_graphs(figure_keys, prefix="study"), id="study-figures"),
            dcc.Store(id="study-name", data=study.name),
            dcc.Store(id="study-version", data=version),  # the store's state to draw (app.py)
            dcc.Store(id="study-fp", data={"fp": version["fp"]}),  # what the header and table show
            dcc.Interval(id="study-tick", interval=poll_ms),
        ]
    )


def compare_page(
    names: Sequence[str], chosen: Sequence[str], figure_keys: Sequence[str], version: dict[str, Any], poll_ms: int
) -> html.Div:
    """Pick studies; their comparison figures (``figure_keys``) are drawn two by two, at ``version``
    (``{"fp": [the picked studies, *the store's fingerprint], "at": time}``)."""
    return html.Div(
        [
            html.H2("Compare studies"),
            dcc.Dropdown(id="compare-pick", options=list(names), value=list(chosen), multi=True, placeholder="pick studies"),
            parallel_mode_picker("compare"),
            html.P("", id="compare-message"),
            html.Div(figure_graphs(figure_keys, prefix="compare", columns=2), id="compare-figures"),
            dcc.Store(id="compare-version", data=version),
            dcc.Interval(id="compare-tick", interval=poll_ms),
        ]
    )


def not_found_page(message: str) -> html.Div:
    """A page for an unknown study or path."""
    return html.Div([html.H2("Not found"), html.P(message, id="not-found"), dcc.Link("← all studies", href="/")])
