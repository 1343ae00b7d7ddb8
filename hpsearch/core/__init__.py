"""The ground floor: what every other layer shares and nothing of hpsearch's own is imported by.

``space`` (dimensions and their ranges), ``records`` (the typed rows of a study), ``results`` (which trial is a
study's result, what counts as finished), ``config`` (the study file, validated), ``limits`` (every number's range),
``errors`` and ``formatting``.
"""
