"""The Dash app: routing, polling callbacks, :func:`create_app`, and :func:`serve` (waitress; a token beyond loopback).

The app holds one read-only store (``Store.open(url, read_only=True)``): on SQLite
that is a ``mode=ro`` connection whose reads take no lock in WAL mode, so a study
running beside the dashboard never waits for it or fails because of it.

Each page carries a ``dcc.Interval``; every callback stores what it drew (the
:func:`~hpsearch.show.dashboard.data.fingerprint` of the store, and the filters, sort and
page of a table or the drawing of a figure) and returns ``no_update`` when the page
asks for the same again. What to draw is decided from that state, never from which
input fired: Dash drops a pending request of a callback when a newer one starts, so a
tick right after a filter change carries the change and must apply it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

import dash
import waitress.server
from dash import ALL, MATCH, Input, Output, State, ctx, dcc, html, no_update

from hpsearch.core.errors import ConfigError, UnknownStudyError
from hpsearch.read import frames
from hpsearch.show import plots
from hpsearch.show.dashboard import auth, data, figures, pages
from hpsearch.store import Store

__all__ = ["DEFAULT_POLL_S", "SERVER_THREADS", "create_app", "create_server", "serve"]

_log = logging.getLogger(__name__)

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


def create_app(
    store_url: str | os.PathLike[str] | Store | None, *, poll_interval: float = DEFAULT_POLL_S, token: str | None = None
) -> dash.Dash:
    """The dashboard of the store at ``store_url`` (a path or SQLAlchemy URL, opened read-only).

    Raises :class:`~hpsearch.core.errors.StoreError` at once for a missing or unreadable store.
    ``poll_interval`` is the seconds between two polls of an open page. With a ``token``, every
    request without it (pages, scripts and Dash's callbacks alike) is answered 401
    (:func:`hpsearch.show.dashboard.auth.require_token`).
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
    if token is not None:
        # around Flask's whole WSGI app: no route, asset or hook of Dash answers before the check
        app.server.wsgi_app = auth.require_token(app.server.wsgi_app, token)  # type: ignore[method-assign]
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
        fp = data.fingerprint(store, name)  # read first: what the page shows is at least this recent
        try:
            header = data.study_header(store, name)
        except UnknownStudyError:
            return pages.not_found_page(f"No study called {name!r} in {store.label}.")
        # the header and the table show at once; each figure is drawn by its own callback
        keys = figures.figure_keys_of(header.study)
        return pages.study_page(header, data.trial_page(store, name), keys, version_of(list(fp)), poll_ms)
    if path == "/compare":
        names = data.study_names(store)
        wanted = [n for part in parse_qs((search or "").lstrip("?")).get("studies", []) for n in part.split(",")]
        chosen = [n for n in wanted if n in names] or names[:2]
        return pages.compare_page(names, chosen, figures.COMPARE_FIGURES, version_of(_compare_state(store, chosen)), poll_ms)
    return pages.not_found_page(f"No page at {path}.")


def _filters(
    states: list[str] | None,
    ranges: list[Any],
    ids: list[dict[str, Any]],
    choices: list[Any] | None = None,
    choice_ids: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The trial filters of a study page: states, hyperparameter bounds (sliders of a log range are in log10),
    the values kept of each choice of words."""
    bounds: dict[str, tuple[float, float]] = {}
    for value, ident in zip(ranges or [], ids or []):
        if value is not None and len(value) == 2:
            low, high = float(value[0]), float(value[1])
            if ident.get("log"):
                low, high = 10**low, 10**high
            # the slider's ends are rounded: widen them a little so that the space's own bounds stay in
            bounds[ident["param"]] = (low - abs(low) * 1e-6, high + abs(high) * 1e-6)
    kept = {ident["param"]: list(value or []) for value, ident in zip(choices or [], choice_ids or [])}
    return {"states": states or [], "ranges": bounds, "choices": kept}


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
        if _as_json(fp) == last:
            return no_update, no_update, no_update
        rows = data.overview_rows(store)
        return pages.overview_records(rows), "" if rows else "No study in this store yet.", fp

    frame_cache = figures.FrameCache()
    app.server.extensions["hpsearch_frames"] = frame_cache  # (benchmarks/dashboard_load.py empties it to time a cold page)

    patience = max(PATIENCE_S, 10 * poll_ms / 1000)

    @app.callback(
        Output("study-version", "data"),
        Input("study-tick", "n_intervals"),
        State("study-name", "data"),
        State("study-version", "data"),
        State(pages.graph_fp_id("study", ALL), "data"),
        prevent_initial_call=True,
    )
    def _check_study(_n: int | None, name: str, version: Any, drawn: list[Any]) -> Any:
        return _next_version(_as_json(list(data.fingerprint(store, name))), version, drawn, time.time(), patience)

    @app.callback(
        Output("study-header", "children"),
        Output("study-table", "data"),
        Output("study-table", "page_count"),
        Output("study-table", "page_current"),
        Output("study-count", "children"),
        Output("study-fp", "data"),
        Input("study-version", "data"),
        Input("filter-state", "value"),
        Input({"type": "range", "param": ALL, "log": ALL}, "value"),
        Input(pages.choice_id(ALL), "value"),
        Input("study-table", "page_current"),
        Input("study-table", "sort_by"),
        State({"type": "range", "param": ALL, "log": ALL}, "id"),
        State(pages.choice_id(ALL), "id"),
        State("study-name", "data"),
        State("study-fp", "data"),
        prevent_initial_call=True,  # the page came with its header and table
    )
    def _draw_study_table(
        version: Any,
        states: list[str] | None,
        ranges: list[Any],
        choices: list[Any],
        page_current: int | None,
        sort_by: list[dict[str, str]] | None,
        range_ids: list[dict[str, Any]],
        choice_ids: list[dict[str, Any]],
        name: str,
        last: dict[str, Any] | None,
    ) -> Any:
        filters = [states, ranges, choices]
        drawn = _as_json({"fp": version["fp"], "filters": filters, "sort": sort_by, "page": page_current})
        last = last or {}
        if drawn == last:
            return (no_update,) * 6
        same_filters = last.get("filters") in (None, drawn["filters"])
        page = page_current if same_filters else 0  # new filters: back to the first page
        try:
            table = data.trial_page(store, name, **_filters(states, ranges, range_ids, choices, choice_ids), sort_by=sort_by, page=page)
            header = no_update if last.get("fp") == drawn["fp"] else pages.header_children(data.study_header(store, name))
        except UnknownStudyError:  # deleted or renamed while the page is open: say so, keep polling
            return (html.B(_gone(name, store)),) + (no_update,) * 4 + (drawn,)
        drawn["page"] = table.page
        return (header, table.rows, table.page_count, table.page, table.shown_text, drawn)

    @app.callback(
        Output(pages.graph_id("study", MATCH), "figure"),
        Output(pages.graph_fp_id("study", MATCH), "data"),
        Input("study-version", "data"),
        Input("study-parallel-mode", "value"),
        State("study-name", "data"),
        State(pages.graph_fp_id("study", MATCH), "data"),
    )
    def _draw_study_graph(version: Any, parallel_mode: str | None, name: str, last: Any) -> Any:
        key = ctx.outputs_list[0]["id"]["key"]
        mode = parallel_mode or "lines"
        drawn = [version, mode if key == "parallel" else None]
        if drawn == last:
            return no_update, no_update

        def draw() -> Any:
            trials = frame_cache.get(("study", name, _hashable(version["fp"])), lambda: frames.trials_frame(store, [name]))
            return figures.study_figures(store, name, parallel_mode=mode, only={key}, trials=trials)[key]

        return _drawn_or_error(draw, drawn, gone=_gone(name, store))

    @app.callback(
        Output("compare-message", "children"),
        Input("compare-pick", "value"),
        Input("compare-version", "data"),  # a picked study may be deleted while the page is open
    )
    def _compare_message(chosen: list[str] | None, _version: Any) -> str:
        names = [n for n in (chosen or []) if n]
        if not names:
            return "Pick one study or more to compare."
        try:
            frames.resolve_studies(store, names)
        except UnknownStudyError as err:
            return str(err)
        return ""

    @app.callback(
        Output("compare-version", "data"),
        Input("compare-tick", "n_intervals"),
        State("compare-pick", "value"),
        State("compare-version", "data"),
        State(pages.graph_fp_id("compare", ALL), "data"),
        prevent_initial_call=True,
    )
    def _check_compare(_n: int | None, chosen: list[str] | None, version: Any, drawn: list[Any]) -> Any:
        return _next_version(_compare_state(store, chosen), version, drawn, time.time(), patience)

    @app.callback(
        Output("compare-version", "data", allow_duplicate=True),
        Input("compare-pick", "value"),
        prevent_initial_call=True,
    )
    def _pick_compare(chosen: list[str] | None) -> Any:
        # its own callback, without the graphs' state: a new pick is drawn at once, even while
        # the graphs of the last one are still being drawn (Dash waits for pending outputs)
        return version_of(_compare_state(store, chosen))

    @app.callback(
        Output(pages.graph_id("compare", MATCH), "figure"),
        Output(pages.graph_fp_id("compare", MATCH), "data"),
        Input("compare-version", "data"),
        Input("compare-parallel-mode", "value"),
        State(pages.graph_fp_id("compare", MATCH), "data"),
    )
    def _draw_compare_graph(version: Any, parallel_mode: str | None, last: Any) -> Any:
        key = ctx.outputs_list[0]["id"]["key"]
        mode = parallel_mode or "lines"
        drawn = [version, mode if key == "parallel" else None]
        if drawn == last:
            return no_update, no_update
        names = version["fp"][0]
        if not names:
            return plots.empty_figure("No study picked."), drawn

        def draw() -> Any:
            trials = frame_cache.get(("compare", _hashable(version["fp"])), lambda: frames.trials_frame(store, list(dict.fromkeys(names))))
            return figures.compare_figures(store, names, parallel_mode=mode, only={key}, trials=trials)[key]

        return _drawn_or_error(draw, drawn, gone="A picked study is no longer in the store (see above).")


#: Seconds a polled page waits for its graphs to draw a version before it publishes the next one anyway
#: (a request lost to a restarted server or a network error is never answered), or draws a failed figure again.
PATIENCE_S = 30.0


def version_of(state: Any, at: float | None = None) -> dict[str, Any]:
    """What a polled page is asked to draw: the store's state (as the page stores it) and when it was asked."""
    return {"fp": _as_json(state), "at": time.time() if at is None else at}


def _next_version(current: Any, version: dict[str, Any] | None, drawn: list[Any], now: float, patience: float) -> Any:
    """The version a polled page should draw next (:func:`version_of`), or ``no_update``.

    ``current`` is what the store holds now, ``version`` what the page was last asked to
    draw and ``drawn`` what each of its graphs drew (``[version, mode]``, with a third item
    when drawing failed). A new version is published once every graph has drawn the last
    one: this back-pressure lets a poll shorter than a redraw go on without starving the
    graphs (Dash drops a pending request when a newer one of the same callback starts).
    After ``patience`` seconds the next version is published anyway, and a failed figure is
    drawn again, so that a lost request or a passing error never freezes the page."""
    if version is None:
        return version_of(current, now)
    shown = [d for d in drawn if d is not None and d[0] == version]
    failed = any(len(d) > 2 for d in shown)
    waiting = len(shown) < len(drawn)
    if current == version["fp"] and not failed:
        return no_update
    if (waiting or failed) and now - version["at"] < patience:
        return no_update
    return version_of(current, now)


def _compare_state(store: Store, chosen: list[str] | None) -> Any:
    """The studies picked on the compare page and the store's fingerprint, as the page stores them."""
    return _as_json([[n for n in (chosen or []) if n], *data.fingerprint(store)])


def _gone(name: str, store: Store) -> str:
    return f"The study {name!r} is no longer in {store.label} (deleted or renamed?)."


def _drawn_or_error(draw: Callable[[], Any], drawn: list[Any], *, gone: str) -> tuple[Any, list[Any]]:
    """``draw()`` and ``drawn``; or, when it fails, a figure saying why and ``drawn`` marked as failed
    (it is drawn again later: :func:`_next_version`). The page goes on polling either way."""
    try:
        return draw(), drawn
    except UnknownStudyError:
        return plots.empty_figure(gone), [*drawn, "failed"]
    except Exception as err:  # a bug or a lost connection in one figure must not stop the others, nor the polling
        _log.exception("a dashboard figure failed")
        reason = (str(err).splitlines() or [""])[0][:200]  # (no SQL statement on the page)
        return plots.empty_figure(f"This figure could not be drawn ({type(err).__name__}: {reason}); it is tried again shortly."), [
            *drawn,
            "failed",
        ]


def _hashable(value: Any) -> Any:
    """``value`` with its lists made tuples (a cache key)."""
    return tuple(_hashable(v) for v in value) if isinstance(value, list | tuple) else value


def _as_json(value: Any) -> Any:
    """``value`` as a page stores it (through JSON: tuples become lists), to compare with what it stored."""
    return json.loads(json.dumps(value))


#: Threads of the server answering requests (a page asks for each of its figures at once).
SERVER_THREADS = 8


def create_server(app: dash.Dash, host: str = "127.0.0.1", port: int = 8050, *, threads: int = SERVER_THREADS) -> Any:
    """A waitress server of ``app`` bound to ``host:port`` (port 0: a free one, ``server.effective_port``);
    ``server.run()`` serves until interrupted. Raises :class:`OSError` when the address cannot be bound."""
    return waitress.server.create_server(app.server, host=host, port=port, threads=threads, ident="hpsearch")


def serve(
    store: str | os.PathLike[str] | Store | None,
    host: str = "127.0.0.1",
    port: int = 8050,
    *,
    poll_interval: float = DEFAULT_POLL_S,
    token: str | None = None,
    threads: int = SERVER_THREADS,
) -> None:
    """Serve the dashboard of ``store`` at http://host:port/ with waitress until interrupted (127.0.0.1 only, by default).

    A ``host`` other than loopback needs a ``token`` (:class:`~hpsearch.core.errors.ConfigError` without one);
    with a token, every request without it is answered 401."""
    if token is None and not auth.is_loopback(host):
        raise ConfigError("host", host, auth.NEEDS_TOKEN)
    app = create_app(store, poll_interval=poll_interval, token=token)
    server = create_server(app, host, port, threads=threads)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # no "Task queue depth" line while a page draws its figures
    shown = f"[{host}]" if ":" in host else host
    needs = "; the token is the password, any user name" if token is not None else ""
    print(f"hpsearch dashboard of {app.server.config['HPSEARCH_STORE']} at http://{shown}:{port}/ (Ctrl-C to stop{needs})", flush=True)
    server.run()  # (returns on Ctrl-C)
