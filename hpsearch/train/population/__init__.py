"""The population trainer: many trials of the seed MLP trained together in one compiled computation.

:mod:`hpsearch.train.population.engine` holds the stacked model and its compiled training step;
:mod:`hpsearch.train.population.optimizers` Keras's nine optimisers as member-stacked update rules.
TensorFlow is imported only by these modules, never by ``import hpsearch``.
"""

import hpsearch.train.keras  # noqa: F401  # Keras imported quietly before any module here imports it
