"""The population trainer: many trials of the seed MLP trained together in one compiled computation.

:mod:`hpsearch.population.engine` holds the stacked model and its compiled training step;
:mod:`hpsearch.population.optimizers` Keras's nine optimisers as member-stacked update rules.
TensorFlow is imported only by these modules, never by ``import hpsearch``.
"""
