"""Training a trial: the trainer interface (``trainer``), the per-trial Keras trainer and the built-in model
(``keras``), and the population trainer that trains many trials in one compiled computation (``population``).

Importing this package imports nothing heavy; ``keras`` and ``population`` import Keras.
"""
