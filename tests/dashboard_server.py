"""Serve a dashboard on a free port of 127.0.0.1 in a background thread, and drive it with headless Chromium.

Shared by the dashboard tests and ``benchmarks/dashboard_load.py``. The browser is
Debian's ``/usr/bin/chromium`` driven by Playwright (never downloaded).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(store: Any, *, poll_interval: float = 1.0, apps: list[Any] | None = None, token: str | None = None) -> Iterator[str]:
    """The dashboard of ``store`` served by waitress (as ``hpsearch dashboard`` serves it) in a thread; yields its
    base URL (``http://127.0.0.1:PORT``). With a ``token``, every request must carry it. The Dash app is appended
    to ``apps`` when given."""
    from waitress import wasyncore

    from hpsearch.show.dashboard.app import create_app, create_server

    app = create_app(store, poll_interval=poll_interval, token=token)
    if apps is not None:
        apps.append(app)
    server = create_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.run, name="dashboard", daemon=True)
    thread.start()

    def close() -> None:  # in the server's own thread: its loop ends once nothing is left to watch
        wasyncore.close_all(server._map)
        server.task_dispatcher.shutdown(timeout=5)

    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.trigger.pull_trigger(close)
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium browser (Playwright's ``Browser``)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
