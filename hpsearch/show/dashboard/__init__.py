"""A live web dashboard of a store (Dash): overview, study pages and comparisons.

    hpsearch dashboard --store hpsearch.db        # http://127.0.0.1:8050/

Importing this package does not import Dash (the ``hpsearch`` command registers its
``dashboard`` subcommand through :mod:`hpsearch.dashboard_cli`); :func:`create_app`
and :func:`serve` load it on first use.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from hpsearch.show.dashboard import app

        return getattr(app, name)
    raise AttributeError(f"module 'hpsearch.show.dashboard' has no attribute {name!r}")
