"""Claiming trials: the strategy asked outside any lock, the store's short locked ``take`` after.

A claim reads the study and its history (:meth:`Store.claim_snapshot`), takes the WAITING trials a dead
worker left (in number order), then asks the strategy for each next number, each time with the trials
proposed before it added as RUNNING (TPE's constant liar sees them), while the trainer says they ``fit``
together. Only then does :meth:`Store.take` lock the study, check that nothing changed since the read, and
insert the proposals as plain values (:class:`~hpsearch.core.records.Proposal`). If another worker got
there first, nothing is written and the claim starts again from the new history. So a claim never holds
the lock while a sampler thinks, two workers never take the same trial or number, and the store never
calls a strategy (Optuna's storages take plain values too).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hpsearch.core.records import Proposal, StudyRecord, StudyState, TrialRecord, TrialState
from hpsearch.search.strategies import Suggestion
from hpsearch.store import ClaimConflict, Store, WorkerInfo

__all__ = ["Ask", "Batch", "Claim", "Claims", "Fits", "claim_one", "claim_trials"]

#: A strategy's ``ask``: the history (every trial, in number order) and the next number -> a suggestion, or None.
Ask = Callable[[Sequence[TrialRecord], int], "Suggestion | None"]
#: A trainer's ``fits``: whether it trains trials of these params together.
Fits = Callable[[list[dict[str, Any]]], bool]
#: A strategy's ``batch_size``: the most new trials to propose together after the history (None: no limit of its own).
Batch = Callable[[Sequence[TrialRecord]], "int | None"]


@dataclass(frozen=True)
class Claims:
    """What :func:`claim_trials` took: the trials to run (possibly none), and whether to wait."""

    trials: list[TrialRecord] = dataclasses.field(default_factory=list)
    #: True when nothing was taken because the budget is spent but other workers still run trials.
    wait: bool = False

    @property
    def done(self) -> bool:
        return not self.trials and not self.wait


@dataclass(frozen=True)
class Claim:
    """What :func:`claim_one` took: a trial to run, or why there is none."""

    trial: TrialRecord | None = None
    #: True when the budget is spent but other workers still run trials (one may die and need redoing).
    wait: bool = False

    @property
    def done(self) -> bool:
        return self.trial is None and not self.wait


def claim_trials(
    store: Store,
    study_id: int,
    worker: WorkerInfo,
    ask: Ask,
    *,
    trial_seed: Callable[[int], int],
    epochs: int | None = None,
    limit: int = 1,
    fits: Fits | None = None,
    batch: Batch | None = None,
) -> Claims:
    """Take up to ``limit`` trials for ``worker``: WAITING trials first, in number order; then, while the study's
    trial count is under its budget, new trials ``ask`` proposes.

    With ``fits``, trials are taken only while the params of all taken so far ``fits`` accepts (at least one is
    always taken): what a population trainer trains together. A proposal that does not fit is not inserted; the
    next claim proposes it again. With ``batch`` (the strategy's ``batch_size``), at most that many new trials are
    proposed after the history read. ``epochs`` is the study's epochs per trial, used when a suggestion does not
    set its own (default: the study's).
    """
    while True:
        study, history = store.claim_snapshot(study_id)
        if study.state is StudyState.STOPPED:
            return Claims()  # another worker gave up on the study (too many failures): stop too
        chosen: list[TrialRecord] = []
        for trial in [t for t in history if t.state is TrialState.WAITING][:limit]:
            if fits is not None and chosen and not fits([*(t.params for t in chosen), trial.params]):
                break
            chosen.append(trial)
        last = max((t.number for t in history), default=-1)
        most = None if batch is None else batch(history)
        room = limit if most is None else min(limit, len(chosen) + max(1, most))
        proposals = _propose(study, history, chosen, ask, room, fits, last, trial_seed=trial_seed, epochs=epochs)
        if not chosen and not proposals:
            return Claims(wait=any(t.state is TrialState.RUNNING for t in history))
        try:
            return Claims(trials=store.take(study_id, worker, last=last, waiting=chosen, proposals=proposals))
        except ClaimConflict:
            continue  # another worker created or took trials since the history was read: ask again


def claim_one(
    store: Store, study_id: int, worker: WorkerInfo, ask: Ask, *, trial_seed: Callable[[int], int], epochs: int | None = None
) -> Claim:
    """Take the next trial for ``worker`` (:func:`claim_trials` for one trial)."""
    claims = claim_trials(store, study_id, worker, ask, trial_seed=trial_seed, epochs=epochs, limit=1)
    return Claim(trial=claims.trials[0]) if claims.trials else Claim(wait=claims.wait)


def _propose(
    study: StudyRecord,
    history: list[TrialRecord],
    chosen: list[TrialRecord],
    ask: Ask,
    limit: int,
    fits: Fits | None,
    last: int,
    *,
    trial_seed: Callable[[int], int],
    epochs: int | None,
) -> list[Proposal]:
    """The strategy's next suggestions after ``history`` (no lock held), numbered from ``last + 1``, as proposals."""
    proposals: list[Proposal] = []
    pending = list(history)
    while len(chosen) + len(proposals) < limit and len(pending) < study.n_trials:
        number = last + 1 + len(proposals)
        suggestion = ask(pending, number)
        if suggestion is None:
            break
        params = [*(t.params for t in chosen), *(p.params for p in proposals), dict(suggestion.params)]
        if fits is not None and len(params) > 1 and not fits(params):
            break
        proposal = Proposal(
            number=number,
            params=dict(suggestion.params),
            seed=trial_seed(number),
            epochs=int(suggestion.epochs if suggestion.epochs is not None else (epochs or study.epochs)),
            member=suggestion.member,
            generation=suggestion.generation,
            start_epoch=suggestion.start_epoch,
            parent_trial=suggestion.parent_trial,
            decision=suggestion.decision,
        )
        proposals.append(proposal)
        pending.append(
            TrialRecord(
                id=-number - 1,
                study_id=study.id,
                number=number,
                state=TrialState.RUNNING,
                params=proposal.params,
                seed=proposal.seed,
                attempt=1,
                epochs=proposal.epochs,
                member=proposal.member,
                generation=proposal.generation,
                start_epoch=proposal.start_epoch,
                parent_trial=proposal.parent_trial,
            )
        )
    return proposals
