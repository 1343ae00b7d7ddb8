"""Deciding what to try next: the search strategies and the pruning rules, each behind a registry that owns its
name, its options and their validation. Strategies keep no state of their own: each decides from the space, its
seed and the history it is handed.
"""
