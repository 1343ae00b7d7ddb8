"""Rules that stop a poor trial early, judged at the end of each epoch (``[pruning] rule``).

* ``median``: Optuna's ``MedianPruner``, fed the finished trials from the store.
* ``successive_halving``: asynchronous successive halving (ASHA, Li et al. 2018). Rungs sit at
  ``min_epochs * reduction_factor**k`` epochs (below the study's epochs). At a rung a trial goes
  on only if its value there is in the top ``1 / reduction_factor`` (at least the best one) of
  the values at that rung of itself and every trial numbered below it.
* ``hyperband``: brackets of successive halving (Li et al. 2017). Bracket ``b`` starts its rungs
  at ``min_epochs * reduction_factor**b``; the last bracket never stops a trial. Each trial is
  drawn into one bracket (seeded by the study seed and its number; the aggressive brackets get
  more trials, as Hyperband sizes them) and compared only within it.

Successive halving and Hyperband are written here rather than taken from Optuna's pruners
because Optuna's decide from whichever trials have reported by the time of the question, so a
resumed run would decide differently. Ours compare trial ``n`` only with trials numbered below
``n``; the members of a population report an epoch together before any of them is judged. On
one worker the decisions are therefore the same however often the study is killed and resumed;
on several workers they are asynchronous, as ASHA's are (a trial is compared with the lower
numbered trials that have reached the rung by then).

:data:`PRUNING_RULES` is the one list of the rules: name -> class and the options type that
checks what the rule needs of the ``[pruning]`` table (``OPTIONS`` beside each class).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from hpsearch.core.config import PruningConfig, PruningOptions, StudyConfig, register_pruning_rule
from hpsearch.core.errors import ConfigError
from hpsearch.core.records import TrialRecord, TrialState
from hpsearch.search.registry import Registry

__all__ = ["PRUNING_RULES", "HyperbandRule", "MedianRule", "PruningRule", "RungOptions", "SuccessiveHalvingRule", "pruning_rule"]


class RungOptions(PruningOptions):
    """The rules of a rule judging at rungs (``min_epochs * reduction_factor**k``): the first rung comes before the last epoch."""

    @classmethod
    def check(cls, pruning: PruningConfig, *, epochs: int) -> None:
        if pruning.min_epochs >= epochs:
            raise ConfigError(
                "pruning.min_epochs", pruning.min_epochs, f"the first rung must come before the last epoch (budget.epochs = {epochs})"
            )


class PruningRule(abc.ABC):
    """Decides, after an epoch, whether a trial stops there."""

    name: ClassVar[str]
    #: What the rule needs of the ``[pruning]`` table (:class:`hpsearch.core.config.PruningOptions`).
    OPTIONS: ClassVar[type[PruningOptions]] = PruningOptions

    def __init__(self, config: StudyConfig, history: Sequence[TrialRecord] = ()) -> None:
        """``history``: the study's trials when the trials being judged were claimed (the median rule's reference)."""
        self.config = config
        self.maximize = config.direction == "maximize"
        self.epochs = config.budget.epochs

    @abc.abstractmethod
    def stops(self, number: int, params: Mapping[str, Any], curve: Sequence[float], curves: Mapping[int, Sequence[float]]) -> bool:
        """Whether trial ``number`` stops after epoch ``len(curve)``.

        ``curve`` is its study metric per epoch so far; ``curves`` holds the other trials' curves as
        far as this worker knows them (number -> metric per epoch)."""

    def rungs(self, number: int) -> list[int]:
        """The epochs after which trial ``number`` can be stopped (for display)."""
        return list(range(1, self.epochs))


class MedianRule(PruningRule):
    """Optuna's median rule over the trials finished when the trials were claimed."""

    name = "median"

    def __init__(self, config: StudyConfig, history: Sequence[TrialRecord] = ()) -> None:
        import optuna

        from hpsearch.search.optuna_replay import optuna_study_from_history

        super().__init__(config, history)
        finished = [t for t in history if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
        self.pruner = optuna.pruners.MedianPruner(
            n_startup_trials=config.pruning.startup_trials, n_warmup_steps=config.pruning.warmup_epochs
        )
        self.study = optuna_study_from_history(config.space, finished, maximize=self.maximize, pruner=self.pruner)
        self.distributions = config.space.to_optuna()

    def stops(self, number: int, params: Mapping[str, Any], curve: Sequence[float], curves: Mapping[int, Sequence[float]]) -> bool:
        from optuna.trial import TrialState as OState
        from optuna.trial import create_trial

        # a RUNNING trial is not one the median is taken over, so one study serves every trial of a claim
        self.study.add_trial(
            create_trial(
                state=OState.RUNNING, params=dict(params), distributions=self.distributions, intermediate_values=dict(enumerate(curve))
            )
        )
        return bool(self.pruner.prune(self.study, self.study.trials[-1]))

    def rungs(self, number: int) -> list[int]:
        return list(range(self.config.pruning.warmup_epochs + 1, self.epochs))


class SuccessiveHalvingRule(PruningRule):
    """Asynchronous successive halving against the lower-numbered trials."""

    name = "successive_halving"
    OPTIONS = RungOptions

    def bracket(self, number: int) -> int:
        """The bracket trial ``number`` is in (successive halving has one)."""
        return 0

    def rungs(self, number: int) -> list[int]:
        return self.rungs_of_bracket(self.bracket(number))

    def rungs_of_bracket(self, bracket: int) -> list[int]:
        """The epochs at which the trials of ``bracket`` are judged."""
        p = self.config.pruning
        start = p.min_epochs * p.reduction_factor**bracket
        out = []
        while start < self.epochs:
            out.append(start)
            start *= p.reduction_factor
        return out

    def stops(self, number: int, params: Mapping[str, Any], curve: Sequence[float], curves: Mapping[int, Sequence[float]]) -> bool:
        epoch = len(curve)
        if epoch not in self.rungs(number):
            return False
        sign = 1.0 if self.maximize else -1.0
        bracket = self.bracket(number)
        rivals = [
            sign * c[epoch - 1]
            for n, c in curves.items()
            if n < number and len(c) >= epoch and c[epoch - 1] is not None and c[epoch - 1] == c[epoch - 1] and self.bracket(n) == bracket
        ]
        if curve[-1] is None:
            return False  # nothing reported to judge by
        own = sign * curve[-1]
        if own != own:  # NaN: the trainer fails the trial anyway
            return True
        keep = max(1, (len(rivals) + 1) // self.config.pruning.reduction_factor)
        better = sum(1 for r in rivals if r > own)
        return better >= keep


class HyperbandRule(SuccessiveHalvingRule):
    """Hyperband: each trial drawn into a bracket of successive halving, compared within it."""

    name = "hyperband"

    def __init__(self, config: StudyConfig, history: Sequence[TrialRecord] = ()) -> None:
        super().__init__(config, history)
        p = config.pruning
        # brackets b = 0 .. s_max; bracket b's first rung is min_epochs * eta**b, and it halves s_max - b times
        self.s_max = max(0, math.floor(math.log(self.epochs / p.min_epochs, p.reduction_factor) + 1e-9))
        sizes = [math.ceil((self.s_max + 1) / (s + 1) * p.reduction_factor**s) for s in range(self.s_max, -1, -1)]
        self.weights = np.array(sizes, dtype=float) / sum(sizes)

    def bracket(self, number: int) -> int:
        rng = np.random.default_rng([self.config.seed, number, 0xB4])
        return int(rng.choice(len(self.weights), p=self.weights))


def pruning_rule(config: StudyConfig, history: Sequence[TrialRecord]) -> PruningRule | None:
    """The study's pruning rule (None when pruning is off); ``history`` is the study's trials now."""
    if not config.pruning.enabled:
        return None
    return PRUNING_RULES.entry(config.pruning.rule).cls(config, history)


#: Every rule a study may name in ``[pruning] rule``.
PRUNING_RULES: Registry[PruningRule] = Registry("pruning rule", register_pruning_rule)
PRUNING_RULES.add(MedianRule)
PRUNING_RULES.add(SuccessiveHalvingRule)
PRUNING_RULES.add(HyperbandRule)
