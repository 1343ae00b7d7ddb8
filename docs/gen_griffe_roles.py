"""A griffe extension for the API reference (``mkdocs.yml``: mkdocstrings' ``extensions``): hpsearch's docstrings cite
other objects as Sphinx does (``:class:`StudyConfig```, ``:func:`~hpsearch.read.frames.trials_frame```); on the site
each is shown as code (``StudyConfig``, ``trials_frame``) instead of the role's raw text, and a reStructuredText
simple table (rows between two ``=====  =====`` lines) as a list."""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|data|attr|exc|obj|const):`(~?)([^`<]+?)(?:\s*<([^>]+)>)?`")


def roles_as_code(text: str) -> str:
    """``:class:`~a.b.C``` -> ```C```, ``:func:`a.f``` -> ```a.f```, ``:mod:`title <a.b>``` -> ```a.b```."""

    def code(match: re.Match[str]) -> str:
        short, name, target = match.groups()
        name = (target or name).strip()
        if short:
            name = name.rsplit(".", 1)[-1]
        return f"`{name.lstrip('.')}`"

    return ROLE.sub(code, text)


BORDER = re.compile(r"^\s*=+(\s+=+)+\s*$")


def tables_as_lists(text: str) -> str:
    """A simple table of two columns (``name  what it is`` rows between border lines) as ``* name: what it is``."""
    out: list[str] = []
    rows: list[str] | None = None
    for line in text.split("\n"):
        if BORDER.match(line):
            if rows is None:
                rows = []
            else:
                out += ["", *rows, ""]
                rows = None
        elif rows is not None:
            name, _, rest = line.strip().partition("  ")
            rows.append(f"* {name}: {rest.strip()}" if rest else f"* {name}")
        else:
            out.append(line)
    return "\n".join(out if rows is None else out + rows)


class RolesAsCode(griffe.Extension):
    """Rewrite every docstring's Sphinx roles as Markdown code, once the object is loaded."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = roles_as_code(tables_as_lists(obj.docstring.value))
