"""Who may read the dashboard: a token (a password) checked on every request, and where the token comes from.

Served beyond this machine (``--host`` other than loopback), the dashboard needs a token: from
``--auth-file FILE`` (a file readable by its owner only) or ``$HPSEARCH_DASHBOARD_TOKEN``, never
from the command line, where ``ps`` would show it. Every request (pages, scripts, Dash's
``/_dash-layout``, ``/_dash-dependencies`` and ``/_dash-update-component``) is then answered
``401`` unless it carries the token: as the password of HTTP Basic authentication (any user
name; a browser asks for it) or as ``Authorization: Bearer TOKEN``.

Imports neither Dash nor Flask: the ``hpsearch`` command reads the token before it loads them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from hpsearch.core.errors import ConfigError

__all__ = ["TOKEN_ENV", "MIN_TOKEN_CHARS", "NEEDS_TOKEN", "is_loopback", "read_token", "require_token"]

#: The environment variable that may hold the token (``--auth-file`` is read first when given).
TOKEN_ENV = "HPSEARCH_DASHBOARD_TOKEN"
#: The shortest token taken.
MIN_TOKEN_CHARS = 8
#: The rule a host beyond loopback without a token breaks.
NEEDS_TOKEN = f"serving beyond this machine needs a token: --auth-file FILE or ${TOKEN_ENV} (never on the command line)"
#: The most a token file may hold (a token is one line).
_MAX_FILE_BYTES = 4096
_REALM = 'Basic realm="hpsearch dashboard", charset="UTF-8"'
_REFUSED = (
    b"401 Unauthorized: this dashboard needs its token, as the password of HTTP Basic authentication "
    b"(any user name) or as 'Authorization: Bearer TOKEN'.\n"
)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is an address of this machine only: ``localhost``, ``127.x.x.x``, ``::1``."""
    name = host.strip().removeprefix("[").removesuffix("]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:  # a host name, or "" (every address)
        return False


def read_token(auth_file: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The token of ``auth_file`` when given, else of ``$HPSEARCH_DASHBOARD_TOKEN``; ``None`` without either.

    Raises :class:`~hpsearch.core.errors.ConfigError` (one line, which never shows the token) for
    a file that is missing, not a regular file, readable or writable by others than its owner,
    empty, of more than one line, or a token shorter than :data:`MIN_TOKEN_CHARS` characters.
    """
    if auth_file is None:
        text = (os.environ if environ is None else environ).get(TOKEN_ENV, "")
        return _checked(f"${TOKEN_ENV}", "(hidden)", text) if text else None
    path = Path(auth_file)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError("--auth-file", str(path), "must be a regular file holding the token")
        if os.name == "posix" and info.st_mode & 0o077:
            raise ConfigError("--auth-file", str(path), f"must be readable by its owner only (chmod 600 {path})")
        with path.open("rb") as handle:
            raw = handle.read(_MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ConfigError("--auth-file", str(path), f"cannot be read: {err.strerror or err}") from None
    if len(raw) > _MAX_FILE_BYTES:
        raise ConfigError("--auth-file", str(path), "must hold one line: the token")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("--auth-file", str(path), "must be UTF-8 text: the token") from None
    return _checked("--auth-file", str(path), text)


def _checked(field: str, shown: str, text: str) -> str:
    token = text.strip()
    if not token:
        raise ConfigError(field, shown, "is empty: it must hold the token")
    if any(c in token for c in "\r\n"):
        raise ConfigError(field, shown, "must hold one line: the token")
    if len(token) < MIN_TOKEN_CHARS:
        raise ConfigError(field, shown, f"the token must be at least {MIN_TOKEN_CHARS} characters long")
    return token


def require_token(app: WSGIApp, token: str) -> WSGIApp:
    """``app`` answering ``401`` to every request that does not carry ``token`` (see the module)."""
    expected = token.encode("utf-8")

    def allowed(header: str) -> bool:
        scheme, _, value = header.strip().partition(" ")
        if scheme.lower() == "bearer":
            return hmac.compare_digest(value.strip().encode("latin-1", "replace"), expected)  # (WSGI's headers are latin-1)
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True)
            except (binascii.Error, ValueError):
                return False
            return hmac.compare_digest(decoded.partition(b":")[2], expected)
        return False

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if allowed(environ.get("HTTP_AUTHORIZATION", "")):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [
                ("WWW-Authenticate", _REALM),
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(_REFUSED))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [_REFUSED]

    return guarded
