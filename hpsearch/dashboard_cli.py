"""``hpsearch dashboard``: its arguments and handler, registered into the ``hpsearch`` parser.

Dash is imported only when the command runs, never when the parser is built.
"""

from __future__ import annotations

import argparse

from hpsearch.arguments import bounded
from hpsearch.core.errors import ConfigError, HpsearchError
from hpsearch.store import DEFAULT_STORE, Store

__all__ = ["register", "run"]

_TOKEN_ENV = "HPSEARCH_DASHBOARD_TOKEN"  # (hpsearch.show.dashboard.auth.TOKEN_ENV, not imported to build the parser)
_STORE_HELP = f"store path or SQLAlchemy URL (default: $HPSEARCH_STORE, else ./{DEFAULT_STORE})"


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``dashboard`` subcommand to ``subparsers`` (its handler is :func:`run`)."""
    parser = subparsers.add_parser(
        "dashboard",
        help="serve a live web dashboard of the studies in a store",
        description="Serve a web dashboard of the store: every study, a page per study (trial table, learning curves, "
        "hyperparameters, PBT schedules and lineage) and a comparison page; open pages refresh while studies run. "
        "The store is opened read-only: a running study never waits for the dashboard.",
    )
    parser.add_argument("--store", help=_STORE_HELP)
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, this machine only); any other (0.0.0.0: every address) needs a token",
    )
    parser.add_argument("--port", type=bounded("--port"), default=8050, help="port to listen on (default: 8050)")
    parser.add_argument(
        "--poll", type=bounded("--poll"), default=2.0, metavar="SECONDS", help="seconds between two refreshes of a page (default: 2)"
    )
    parser.add_argument(
        "--auth-file",
        metavar="FILE",
        help="a file readable by its owner only that holds the token (one line); every request must then carry it, as the "
        "password of HTTP Basic authentication (any user name) or as 'Authorization: Bearer TOKEN' "
        f"(default: ${_TOKEN_ENV} when set; never give the token itself on the command line)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    """Read the token (``--auth-file`` or ``$HPSEARCH_DASHBOARD_TOKEN``) and refuse a host beyond loopback without one
    (one line, exit 2); check the store (one line and exit 1 when it is missing or unreadable); then serve until Ctrl-C."""
    from hpsearch.show.dashboard import auth

    token = auth.read_token(args.auth_file)  # ConfigError -> "hpsearch: error: --auth-file = ...: ..." and exit 2
    if token is None and not auth.is_loopback(args.host):
        raise ConfigError("--host", args.host, auth.NEEDS_TOKEN)
    store = Store.open(args.store, read_only=True)  # StoreError -> "hpsearch: error: ..." and exit 1
    try:
        from hpsearch.show.dashboard.app import serve
    except ImportError as err:
        store.close()
        raise HpsearchError(f"the dashboard needs Dash and waitress: pip install dash waitress ({err})") from None
    try:
        serve(store, host=args.host, port=args.port, poll_interval=args.poll, token=token)
    except OSError as err:
        raise HpsearchError(f"cannot serve on {args.host}:{args.port}: {err.strerror or err}") from None
    finally:
        store.close()
    return 0
