"""Population-based training (Jaderberg et al. 2017) as a stateless strategy.

Every segment (one member training ``ready`` epochs) is a trial. Which member
advances next, whom it copies and how it explores are decided from the space,
the seed, the trial number and the trials in the store alone, so a restarted
run continues the same schedule and several workers can share a population.

* Scheduling: the least-trained member whose last segment is finished goes next
  (round-robin on one runner; asynchronous, as in the paper, on several).
* Ranking: a member at epoch E is compared only with members that have a
  result at epoch E (their latest validation value there).
* Exploit: ``truncation`` (bottom fraction copies a uniformly chosen member of
  the top fraction) or ``tournament`` (copy one random member if it is better).
  The copy is of the parent's checkpoint: weights and optimizer state.
* Explore (only after an exploit): ``perturb`` multiplies each continuous
  hyperparameter by one of the factors, clipped to the declared bounds (integers
  stay integers) and moves a choice to a neighbouring value with
  ``choice_probability``; each hyperparameter is redrawn from the prior instead
  with ``resample_probability`` (``resample`` is that alone).
* Architecture travels with the weights it belongs to and is never explored: the
  dimensions of ``[pbt] inherit``, and the built-in model's ``layers``,
  ``activation``, ``batch_size`` and ``width`` (``width = "resize"`` explores width
  too, and the trainer resizes the hidden layer of the copied weights).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from hpsearch.core.builtin_model import ARCHITECTURE
from hpsearch.core.config import Budget, PruningConfig, StrategyOptions, parse_duration
from hpsearch.core.errors import ConfigError
from hpsearch.core.limits import LIMITS, check
from hpsearch.core.records import Decision, TrialRecord, TrialState
from hpsearch.core.results import best_of, final_best
from hpsearch.core.space import Choice, FloatRange, IntRange, Params, SearchSpace
from hpsearch.search.strategies._base import Strategy, Suggestion

__all__ = [
    "PBTConfig",
    "PBTStrategy",
    "explore",
    "inherited_dimensions",
    "perturb_value",
    "ranked_at",
    "select_tournament",
    "select_truncation",
]


@dataclass(frozen=True)
class PBTConfig(StrategyOptions):
    """Population-based training (Jaderberg et al. 2017): the ``[pbt]`` table of a study file.

    ``population`` members each train ``epochs`` epochs in segments of ``ready``
    epochs. At every ready point a member is ranked against the members that have
    a result at the same epoch; ``exploit`` decides whether it copies another
    member's weights, optimizer state and hyperparameters (``truncation``: the
    bottom ``fraction`` copies a member of the top ``fraction``; ``tournament``:
    copy one random member if it is better), and ``explore`` then changes the
    copied hyperparameters (``perturb``: multiply continuous ones by one of
    ``factors``, move a choice to a neighbouring value with probability
    ``choice_probability``; each hyperparameter is instead redrawn from the prior
    with probability ``resample_probability``, the whole of ``resample``).
    ``width`` is ``inherit`` (width travels with the weights it belongs to) or
    ``resize`` (width is explored too, and the hidden layer is resized). ``inherit``
    names more dimensions that travel with the weights and are never explored: the
    architecture of a model of your own (the built-in model's ``layers``,
    ``activation`` and ``batch_size`` always are).

    The budget of a PBT study is ``population`` x ``epochs`` (``[budget]`` takes only a timeout),
    and it does not prune.
    """

    SEVERAL_OBJECTIVES: ClassVar[bool] = False  # a member copies a better member: better by one value

    population: int = 8
    ready: int = 2
    epochs: int = 10
    exploit: str = "truncation"
    fraction: float = 0.2
    explore: str = "perturb"
    factors: tuple[float, ...] = (0.8, 1.2)
    resample_probability: float = 0.0
    choice_probability: float = 0.2
    width: str = "inherit"
    inherit: tuple[str, ...] = ()

    @property
    def segments(self) -> int:
        """Segments (trials) per member."""
        return -(-self.epochs // self.ready)

    @property
    def n_trials(self) -> int:
        return self.population * self.segments

    @classmethod
    def parse(cls, table: Mapping[str, Any], *, strategy: str, space: SearchSpace) -> PBTConfig:
        p = table
        if "epochs" not in p:
            raise ConfigError("pbt.epochs", None, "required: the total epochs each member trains")
        population = check("pbt.population", p.get("population", 8))
        epochs = check("pbt.epochs", p["epochs"])
        ready = check("pbt.ready", p.get("ready", 2))
        if ready > epochs:
            raise ConfigError("pbt.ready", ready, f"the ready interval must be <= pbt.epochs ({epochs})")
        exploit = p.get("exploit", "truncation")
        if exploit not in ("truncation", "tournament"):
            raise ConfigError("pbt.exploit", exploit, "must be truncation or tournament")
        fraction = check("pbt.fraction", p.get("fraction", 0.2))
        explore = p.get("explore", "perturb")
        if explore not in ("perturb", "resample"):
            raise ConfigError("pbt.explore", explore, "must be perturb or resample")
        factors = p.get("factors", [0.8, 1.2])
        if not isinstance(factors, list) or not factors:
            raise ConfigError("pbt.factors", factors, f"must be a non-empty list of numbers, each in {LIMITS['pbt.factors[]'].interval()}")
        factors = [check("pbt.factors[]", f, field=f"pbt.factors[{i}]") for i, f in enumerate(factors)]
        default_resample = 0.25 if explore == "resample" else 0.0
        width = p.get("width", "inherit")
        if width not in ("inherit", "resize"):
            raise ConfigError("pbt.width", width, "must be inherit (width travels with the weights) or resize")
        inherit = _inherited(p.get("inherit", []), space)
        _check_kept_conditions(space, {*inherit, *ARCHITECTURE, *(["width"] if width == "inherit" else [])})
        return cls(
            population=population,
            ready=ready,
            epochs=epochs,
            exploit=exploit,
            fraction=fraction,
            explore=explore,
            factors=tuple(factors),
            resample_probability=check("pbt.resample_probability", p.get("resample_probability", default_resample)),
            choice_probability=check("pbt.choice_probability", p.get("choice_probability", 0.2)),
            width=width,
            inherit=inherit,
        )

    def budget(self, table: Mapping[str, Any], *, strategy: str, space: SearchSpace) -> Budget:
        """``population`` x segments trials of ``epochs`` epochs; ``[budget]`` may only set the timeout."""
        for key in ("trials", "epochs"):
            if key in table:
                raise ConfigError(f"budget.{key}", table[key], "a pbt study's budget is [pbt] population x epochs; remove this key")
        timeout = parse_duration("budget.timeout", table["timeout"]) if "timeout" in table else None
        return Budget(trials=self.n_trials, epochs=check("budget.epochs", self.epochs), timeout=timeout)

    def check(self, *, space: SearchSpace, pruning: PruningConfig) -> None:
        layers = space.get("layers")
        deepest = max(int(v) for v in layers.grid_values()) if isinstance(layers, Choice) else int(layers.high) if layers is not None else 1
        if self.width == "resize" and deepest > 1:
            raise ConfigError("pbt.width", "resize", "resizes a model of one hidden layer; this space has deeper ones (space.layers)")
        if pruning.enabled:
            raise ConfigError("pruning.enabled", True, "a pbt study does not prune: poor members copy better ones instead")

    def identity(self) -> dict[str, Any]:
        """``[pbt]`` as stored (``inherit`` only where it names something: studies before it recorded none)."""
        out = {**super().identity(), "factors": list(self.factors), "inherit": list(self.inherit)}
        if not self.inherit:
            out.pop("inherit")
        return out


def _inherited(names: Any, space: SearchSpace) -> tuple[str, ...]:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError("pbt.inherit", names, "must be a list of dimension names")
    for i, name in enumerate(names):
        if name not in space:
            raise ConfigError(f"pbt.inherit[{i}]", name, f"not a dimension of the space ({', '.join(space)})")
    return tuple(dict.fromkeys(names))


def _check_kept_conditions(space: SearchSpace, kept: set[str]) -> None:
    """Refuse a condition on a dimension a member keeps from the member it copies (its weights have that shape) that
    names a dimension PBT explores: a copy whose explored values changed would gain or lose it, unlike its weights."""
    for name in sorted(n for n in kept if n in space):
        loose = [parent for parent, _ in space[name].when if parent not in kept]
        if loose:
            rule = (
                f"a PBT member keeps {name} from the member it copies, so it cannot exist only under {', '.join(loose)}, "
                f"which PBT explores: add {', '.join(loose)} to [pbt] inherit, or drop the condition"
            )
            raise ConfigError(f"space.{name}.when", {parent: list(values) for parent, values in space[name].when}, rule)


def inherited_dimensions(config: PBTConfig, space: SearchSpace, *, builtin: bool = True) -> frozenset[str]:
    """The dimensions a PBT member keeps from the member it copies, unexplored."""
    names = set(config.inherit)
    if builtin:
        names |= {n for n in ARCHITECTURE if n in space}
        if config.width == "inherit":
            names.add("width")
    return frozenset(names)


def ranked_at(history: Sequence[TrialRecord], epoch: int) -> dict[int, TrialRecord]:
    """For every member with a COMPLETE segment ending at ``epoch``, that segment."""
    out: dict[int, TrialRecord] = {}
    for t in history:
        if t.member is not None and t.state is TrialState.COMPLETE and t.value is not None and t.end_epoch == epoch:
            out[t.member] = t
    return out


def _order(ranked: Mapping[int, TrialRecord], maximize: bool) -> list[int]:
    """Members best first (ties: lower member id first)."""
    sign = -1.0 if maximize else 1.0
    return sorted(ranked, key=lambda m: (sign * ranked[m].value, m))  # type: ignore[operator]


def select_truncation(
    member: int, ranked: Mapping[int, TrialRecord], fraction: float, rng: np.random.Generator, *, maximize: bool = True
) -> int | None:
    """The member to copy if ``member`` is in the bottom ``fraction``; None otherwise.

    With n ranked members, the top and bottom groups hold ceil(fraction * n)
    members each (at most n // 2, so they never overlap).
    """
    n = len(ranked)
    if member not in ranked or n < 2:
        return None
    k = min(max(1, math.ceil(fraction * n)), n // 2)
    order = _order(ranked, maximize)
    if member not in order[-k:]:
        return None
    top = order[:k]
    return int(top[int(rng.integers(len(top)))])


def select_tournament(member: int, ranked: Mapping[int, TrialRecord], rng: np.random.Generator, *, maximize: bool = True) -> int | None:
    """Compare ``member`` with one other ranked member chosen at random; copy it if it is better."""
    others = sorted(m for m in ranked if m != member)
    if member not in ranked or not others:
        return None
    other = others[int(rng.integers(len(others)))]
    mine, theirs = ranked[member].value, ranked[other].value
    better = theirs > mine if maximize else theirs < mine  # type: ignore[operator]
    return other if better else None


def perturb_value(dim: Any, value: Any, factor: float) -> Any:
    """``value * factor`` clipped to the dimension's bounds; integers stay integers."""
    if isinstance(dim, IntRange):
        return dim.clip(round(value * factor))
    if isinstance(dim, FloatRange):
        return dim.clip(value * factor)
    raise TypeError(f"{dim.name} is not a continuous dimension")


def _neighbour(dim: Choice, value: Any, rng: np.random.Generator) -> Any:
    choices = list(dim.choices)
    if value not in choices:
        return choices[int(rng.integers(len(choices)))]
    i = choices.index(value)
    options = [j for j in (i - 1, i + 1) if 0 <= j < len(choices)]
    return choices[options[int(rng.integers(len(options)))]]


def explore(
    params: Params, space: SearchSpace, config: PBTConfig, rng: np.random.Generator, *, inherited: frozenset[str] | None = None
) -> Params:
    """New hyperparameters from a parent's, by perturbation and/or resampling from the prior; the
    ``inherited`` dimensions (default: :func:`inherited_dimensions` of the built-in model) stay. In a conditional
    space only the parent's dimensions are explored, then those its new values no longer allow are dropped and those
    they now allow are drawn from their prior (:meth:`~hpsearch.core.space.SearchSpace.completed`)."""
    out = dict(params)
    keep = inherited_dimensions(config, space) if inherited is None else inherited
    for name, dim in space.items():
        if isinstance(dim, Choice) and len(dim.choices) < 2:
            continue  # fixed
        if name not in params:
            continue  # does not exist for this member
        if name in keep:
            continue  # travels with the weights
        if rng.random() < config.resample_probability:
            out[name] = _plain(dim.sample(rng))
        elif config.explore == "perturb":
            if isinstance(dim, Choice):
                if rng.random() < config.choice_probability:
                    out[name] = _plain(_neighbour(dim, params[name], rng))
            else:
                factor = config.factors[int(rng.integers(len(config.factors)))]
                out[name] = perturb_value(dim, params[name], factor)
    return space.completed(out, rng) if space.conditional else out


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class PBTStrategy(Strategy):
    name = "pbt"
    OPTIONS = PBTConfig
    options: PBTConfig

    def __init__(
        self,
        space: SearchSpace,
        *,
        seed: int = 0,
        maximize: bool = True,
        options: PBTConfig | None = None,
        pbt: PBTConfig | None = None,
        builtin: bool = True,
    ) -> None:
        """``pbt``: ``options`` under its old name."""
        super().__init__(space, seed=seed, maximize=maximize, options=options if options is not None else pbt, builtin=builtin)
        self.pbt = self.options
        #: Dimensions a member keeps from the member it copies (``builtin``: the built-in model's architecture too).
        self.inherited = inherited_dimensions(self.pbt, space, builtin=builtin)

    def budget(self, requested: int | None) -> int:
        return self.pbt.n_trials

    def _segment_epochs(self, start: int) -> int:
        return min(self.pbt.ready, self.pbt.epochs - start)

    @staticmethod
    def _by_member(history: Sequence[TrialRecord]) -> dict[int, list[TrialRecord]]:
        out: dict[int, list[TrialRecord]] = {}
        for t in sorted(history, key=lambda t: (t.generation or 0, t.number)):
            if t.member is not None:
                out.setdefault(t.member, []).append(t)
        return out

    def ask(self, history: Sequence[TrialRecord], number: int) -> Suggestion | None:
        members = self._by_member(history)
        for m in range(self.pbt.population):
            if m not in members:  # the initial population, drawn from the prior
                params = self.space.sample(np.random.default_rng([self.seed, 0, m]))
                return Suggestion(params, epochs=self._segment_epochs(0), member=m, generation=0, start_epoch=0)
        ready = sorted(
            (segs[-1].end_epoch, m) for m, segs in members.items() if segs[-1].state.is_finished() and segs[-1].end_epoch < self.pbt.epochs
        )
        for _epoch, m in ready:  # least-trained first
            suggestion = self._next_segment(history, members[m][-1], number)
            if suggestion is not None:
                return suggestion
        return None

    def _next_segment(self, history: Sequence[TrialRecord], last: TrialRecord, number: int) -> Suggestion | None:
        cfg = self.pbt
        member, at = last.member, last.end_epoch
        assert member is not None
        rng = np.random.default_rng([self.seed, 1, number])
        ranked = ranked_at(history, at)
        if last.state is TrialState.COMPLETE:
            if cfg.exploit == "truncation":
                parent_member = select_truncation(member, ranked, cfg.fraction, rng, maximize=self.maximize)
            else:
                parent_member = select_tournament(member, ranked, rng, maximize=self.maximize)
            kind = "continue" if parent_member is None else "exploit"
        else:
            # the segment failed (or was pruned): its weights are gone; copy the best member at that epoch
            if not ranked:
                return None  # nobody has a result at this epoch yet: another member goes first
            parent_member = _order(ranked, self.maximize)[0]
            kind = "recover"
        if parent_member is None:
            parent, params = last, dict(last.params)
            reason = f"ranked {self._rank_text(member, ranked)} at epoch {at}: kept its own weights"
        else:
            parent = ranked[parent_member]
            params = explore(parent.params, self.space, cfg, rng, inherited=self.inherited)
            reason = (
                f"ranked {self._rank_text(member, ranked)} at epoch {at}; copied member {parent_member} ({parent.value:.4f}) and explored"
            )
            if kind == "recover":
                reason = f"segment {last.number} {last.state.value}; copied the best member at epoch {at} and explored"
        reset = params.get("optimizer") != parent.params.get("optimizer") or params.get("width") != parent.params.get("width")
        decision = Decision(
            trial_number=number,
            member=member,
            generation=(last.generation or 0) + 1,
            at_epoch=at,
            kind=kind,
            parent_trial=parent.number,
            parent_member=parent.member,
            old_params=dict(last.params),
            new_params=params,
            optimizer_reset=bool(reset),
            reason=reason,
        )
        return Suggestion(
            params,
            epochs=self._segment_epochs(at),
            member=member,
            generation=decision.generation,
            start_epoch=at,
            parent_trial=parent.number,
            decision=decision,
        )

    def stuck_reason(self, history: Sequence[TrialRecord]) -> str:
        members = self._by_member(history)
        failed = sorted({segs[-1].end_epoch for segs in members.values() if segs[-1].state is not TrialState.COMPLETE})
        epochs = ", ".join(map(str, failed)) or "?"
        return f"every member still training failed at epoch {epochs}, so none has a checkpoint to copy from"

    def _rank_text(self, member: int, ranked: Mapping[int, TrialRecord]) -> str:
        order = _order(ranked, self.maximize)
        return f"{order.index(member) + 1}/{len(order)}" if member in order else "unranked"

    def checkpoints_to_keep(self, history: Sequence[TrialRecord]) -> set[int]:
        """What a member may still continue from or copy; bounded by a small multiple of the population.

        * each member's latest COMPLETE segment (to continue, or resume after a crash);
        * the parent of every unfinished segment (it may have to be redone);
        * every COMPLETE segment ending at or after the epoch of the slowest member that has yet
          to decide: that member will rank, and may copy, any segment at each of its later ready points;
        * the best final segment (for the test evaluation), and the best segment so far (the provisional
          result of a study stopped before any member finished: :func:`hpsearch.core.results.study_result`).
        """
        keep: set[int] = set()
        pending: list[int] = []
        for segs in self._by_member(history).values():
            complete = [t for t in segs if t.state is TrialState.COMPLETE]
            if complete:
                keep.add(complete[-1].number)
            if segs[-1].end_epoch < self.pbt.epochs:
                pending.append(segs[-1].end_epoch)
        keep |= {t.parent_trial for t in history if not t.state.is_finished() and t.parent_trial is not None}
        if pending:
            slowest = min(pending)
            keep |= {t.number for t in history if t.state is TrialState.COMPLETE and t.end_epoch >= slowest}
        for best in (final_best(history, epochs=self.pbt.epochs, maximize=self.maximize), best_of(history, maximize=self.maximize)):
            if best is not None:
                keep.add(best.number)
        return keep
