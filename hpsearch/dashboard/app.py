"""The Dash app: routing, polling callbacks, :func:`create_app` and :func:`serve`.

The app holds one read-only store (``Store.open(url, read_only=True)``): on SQLite
that is a ``mode=ro`` connection whose reads take no lock in WAL mode, so a study
running beside the dashboard never waits for it or fails because of it. Each page
carries a ``dcc.Interval`` and the :func:`~hpsearch.dashboard.data.fingerprint` of
what it shows; a tick whose fingerprint did not change returns ``no_update``.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any
from urllib.parse import parse_qs, unquote

import dash
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, html, no_update

from hpsearch import analysis
from hpsearch.dashboard import data, figures, pages
from hpsearch.errors import UnknownStudyError
from hpsearch.store import Store

__all__ = ["DEFAULT_POLL_S", "create_app", "serve"]

#: Seconds between two polls of the store by an open page.
DEFAULT_POLL_S = 2.0
#: The overview's fingerprint also changes this often, so that "interrupted" shows up without a store change.
_CLOCK_S = 30.0


def _nav() -> html.Div:
    return html.Div(
        [
            html.B("hpsearch dashboard", style={"marginRight": "2em"}),
            dcc.Link("Studies", href="/", style={"marginRight": "1.5em"}),
            dcc.Link("Compare", href="/compare"),
        ],
        style={"padding": "8px 0", "borderBottom": "1px solid #ddd", "marginBottom": "8px"},
    )


def create_app(store_url: str | os.PathLike[str] | Store | None, *, poll_interval: float = DEFAULT_POLL_S) -> dash.Dash:
    """The dashboard of the store at ``store_url`` (a path or SQLAlchemy URL, opened read-only).

    Raises :class:`~hpsearch.errors.StoreError` at once for a missing or unreadable store.
    ``poll_interval`` is the seconds between two polls of an open page.
    """
    store = store_url if isinstance(store_url, Store) else Store.open(store_url, read_only=True)
    poll_ms = max(200, int(poll_interval * 1000))
    app = dash.Dash(
        __name__,
        title="hpsearch dashboard",
        suppress_callback_exceptions=True,
        update_title="",
    )
    app.layout = html.Div(
        [dcc.Location(id="url"), _nav(), html.Div(id="page")],
        style={"fontFamily": "system-ui, sans-serif", "margin": "0 2em"},
    )
    app.server.config["HPSEARCH_STORE"] = store.label
    _register_callbacks(app, store, poll_ms)
    return app


def _overview_fp(store: Store) -> list[Any]:
    return [*data.fingerprint(store), math.floor(time.time() / _CLOCK_S)]


def render_page(store: Store, pathname: str | None, search: str | None, poll_ms: int) -> Any:
    """The layout of the page at ``pathname`` (``/``, ``/study/<name>``, ``/compare?studies=a,b``)."""
    path = pathname or "/"
    if path in ("/", ""):
        return pages.overview_page(data.overview_rows(store), _overview_fp(store), poll_ms)
    if path.startswith("/study/"):
        name = unquote(path.removeprefix("/study/"))
        try:
            header = data.study_header(store, name)
        except UnknownStudyError:
            return pages.not_found_page(f"No study called {name!r} in {store.label}.")
        # the figures follow in the page's first callback: the header and the table show at once
        keys = figures.study_figure_keys(header.study.strategy)
        fp = data.fingerprint(store, name)
        return pages.study_page(header, data.trial_page(store, name), keys, fp, poll_ms)
    if path == "/compare":
        names = data.study_names(store)
        wanted = [n for part in parse_qs((search or "").lstrip("?")).get("studies", []) for n in part.split(",")]
        chosen = [n for n in wanted if n in names] or names[:2]
        return pages.compare_page(names, chosen, figures.COMPARE_FIGURES, poll_ms)
    return pages.not_found_page(f"No page at {path}.")


def _filters(states: list[str] | None, ranges: list[Any], ids: list[dict[str, Any]], optimizers: list[str] | None) -> dict[str, Any]:
    """The trial filters of a study page: states, hyperparameter bounds (sliders of a log range are in log10), optimizers."""
    bounds: dict[str, tuple[float, float]] = {}
    for value, ident in zip(ranges or [], ids or []):
        if value is not None and len(value) == 2:
            low, high = float(value[0]), float(value[1])
            if ident.get("log"):
                low, high = 10**low, 10**high
            # the slider's ends are rounded: widen them a little so that the space's own bounds stay in
            bounds[ident["param"]] = (low - abs(low) * 1e-6, high + abs(high) * 1e-6)
    return {"states": states or [], "ranges": bounds, "optimizers": optimizers}


def _register_callbacks(app: dash.Dash, store: Store, poll_ms: int) -> None:
    @app.callback(Output("page", "children"), Input("url", "pathname"), Input("url", "search"))
    def _route(pathname: str | None, search: str | None) -> Any:
        return render_page(store, pathname, search, poll_ms)

    @app.callback(
        Output("overview-table", "data"),
        Output("overview-empty", "children"),
        Output("overview-fp", "data"),
        Input("overview-tick", "n_intervals"),
        State("overview-fp", "data"),
        prevent_initial_call=True,
    )
    def _poll_overview(_n: int | None, last: list[Any] | None) -> Any:
        fp = _overview_fp(store)
        if _same(fp, last):
            return no_update, no_update, no_update
        rows = data.overview_rows(store)
        return pages.overview_records(rows), "" if rows else "No study in this store yet.", fp

    frames = figures.FrameCache()
    app.server.extensions["hpsearch_frames"] = frames  # (benchmarks/dashboard_load.py empties it to time a cold page)

    @app.callback(
        Output("study-header", "children"),
        Output("study-table", "data"),
        Output("study-table", "page_count"),
        Output("study-table", "page_current"),
        Output("study-count", "children"),
        Output("study-fp", "data"),
        Input("study-tick", "n_intervals"),
        Input("filter-state", "value"),
        Input({"type": "range", "param": ALL, "log": ALL}, "value"),
        Input("filter-optimizer", "value"),
        Input("study-table", "page_current"),
        Input("study-table", "sort_by"),
        State({"type": "range", "param": ALL, "log": ALL}, "id"),
        State("study-name", "data"),
        State("study-fp", "data"),
        prevent_initial_call=True,  # the page came with its header and table
    )
    def _poll_study_table(
        _n: int | None,
        states: list[str] | None,
        ranges: list[Any],
        optimizers: list[str] | None,
        page_current: int | None,
        sort_by: list[dict[str, str]] | None,
        range_ids: list[dict[str, Any]],
        name: str,
        last: list[Any] | None,
    ) -> Any:
        trigger = ctx.triggered_id
        polled = trigger == "study-tick"
        fp = data.fingerprint(store, name)
        if polled and _same(fp, last):
            return (no_update,) * 6
        filters = _filters(states, ranges, range_ids, optimizers)
        page = page_current if polled or trigger == "study-table" else 0  # new filters: back to the first page
        table = data.trial_page(store, name, **filters, sort_by=sort_by, page=page)
        table_out = (table.rows, table.page_count, table.page, table.shown_text)
        if not polled:  # a filter, the sort or the page changed: only the table
            return (no_update, *table_out, no_update)
        return (pages.header_children(data.study_header(store, name)), *table_out, list(fp))

    @app.callback(
        Output(pages.graph_id("study", MATCH), "figure"),
        Output(pages.graph_fp_id("study", MATCH), "data"),
        Input("study-tick", "n_intervals"),
        Input("study-parallel-mode", "value"),
        State("study-name", "data"),
        State(pages.graph_fp_id("study", MATCH), "data"),
    )
    def _draw_study_graph(_n: int | None, parallel_mode: str | None, name: str, last: list[Any] | None) -> Any:
        key = ctx.outputs_list[0]["id"]["key"]
        fp = data.fingerprint(store, name)
        if ctx.triggered_id == "study-parallel-mode" and key != "parallel":
            return no_update, no_update
        if ctx.triggered_id == "study-tick" and _same(fp, last):
            return no_update, no_update
        trials = frames.get(("study", name, _hashable(fp)), lambda: analysis.trials_frame(store, [name]))
        drawn = figures.study_figures(store, name, parallel_mode=parallel_mode or "lines", only={key}, trials=trials)
        return drawn[key], list(fp)

    @app.callback(
        Output("compare-message", "children"),
        Input("compare-pick", "value"),
    )
    def _compare_message(chosen: list[str] | None) -> str:
        names = [n for n in (chosen or []) if n]
        if not names:
            return "Pick one study or more to compare."
        try:
            analysis.resolve_studies(store, names)
        except UnknownStudyError as err:
            return str(err)
        return ""

    @app.callback(
        Output(pages.graph_id("compare", MATCH), "figure"),
        Output(pages.graph_fp_id("compare", MATCH), "data"),
        Input("compare-tick", "n_intervals"),
        Input("compare-pick", "value"),
        Input("compare-parallel-mode", "value"),
        State(pages.graph_fp_id("compare", MATCH), "data"),
    )
    def _draw_compare_graph(_n: int | None, chosen: list[str] | None, parallel_mode: str | None, last: list[Any] | None) -> Any:
        key = ctx.outputs_list[0]["id"]["key"]
        names = [n for n in (chosen or []) if n]
        fp = [names, *data.fingerprint(store)]
        if ctx.triggered_id == "compare-parallel-mode" and key != "parallel":
            return no_update, no_update
        if ctx.triggered_id == "compare-tick" and _same(fp, last):
            return no_update, no_update
        if not names:
            return pages.placeholder(key), fp
        try:
            trials = frames.get(("compare", _hashable(fp)), lambda: analysis.trials_frame(store, list(dict.fromkeys(names))))
            drawn = figures.compare_figures(store, names, parallel_mode=parallel_mode or "lines", only={key}, trials=trials)
        except UnknownStudyError:  # said once, by the message under the picker
            return pages.placeholder(key), fp
        return drawn[key], fp


def _hashable(value: Any) -> Any:
    """``value`` with its lists made tuples (a cache key)."""
    return tuple(_hashable(v) for v in value) if isinstance(value, list | tuple) else value


def _same(fingerprint: list[Any] | tuple[Any, ...], last: list[Any] | None) -> bool:
    """Whether a fingerprint equals the one a page stored (which went through JSON: tuples became lists)."""
    import json

    return last is not None and json.loads(json.dumps(list(fingerprint))) == last


def serve(
    store: str | os.PathLike[str] | Store | None, host: str = "127.0.0.1", port: int = 8050, *, poll_interval: float = DEFAULT_POLL_S
) -> None:
    """Serve the dashboard of ``store`` at http://host:port/ until interrupted (127.0.0.1 only, by default)."""
    app = create_app(store, poll_interval=poll_interval)
    print(f"hpsearch dashboard of {app.server.config['HPSEARCH_STORE']} at http://{host}:{port}/ (Ctrl-C to stop)", flush=True)
    app.run(host=host, port=port, debug=False)
