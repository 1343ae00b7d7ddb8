"""Deciding what to try next: the search strategies and the pruning rules, each behind a registry that owns its
name, its options and their validation. Strategies keep no state of their own: each decides from the space, its
seed and the history it is handed.
"""

# The registries fill as their modules are imported; importing hpsearch.search (as hpsearch/__init__ does) fills both,
# so that hpsearch.core.config knows every strategy and pruning rule before any study file is parsed.
from hpsearch.search import pruning, strategies  # noqa: F401
