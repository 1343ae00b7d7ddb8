"""``python -m hpsearch``: the command line (:mod:`hpsearch.cli`)."""

from hpsearch.cli import entry

entry()
