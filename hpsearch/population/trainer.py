"""The population trainer: the :class:`hpsearch.trainer.Trainer` that trains a batch of jobs as populations.

The runner claims trials while they fit one population (:meth:`PopulationTrainer.fits`: at
most ``[training] population`` trials, whose widths add up to at most the population's
columns, sized from the study's space by :func:`columns_for_space`) and hands them over
together. They train as one :class:`~hpsearch.population.engine.Population`, epoch by epoch,
the epochs of all members reported at once (one store transaction). A member that is pruned,
fails (a non-finite loss) or reaches its epochs stops updating while the others go on. One
population shape serves the whole study, so a study compiles once.

PBT: a segment that continues a member copies its parent's weights and optimiser state
inside the population when the parent is still there (it finished in the same slot layout
and nothing has overwritten it), else reads the parent's checkpoint (after a resume, or when
the parent trained elsewhere); both give the same state. A new optimiser starts fresh
state; a resized member (``width = "resize"``) is trained by the per-trial Keras trainer,
which resizes it.

What comes out is ordinary Keras: a finished member's weights and optimiser state are
written as the ``.weights.h5`` of ``build_model(**params)`` (the per-trial trainer, the
test evaluation and ``keras.models`` read them as they read their own).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from keras import ops

from hpsearch.config import DataConfig, TrainingConfig
from hpsearch.objective import KerasTrainer
from hpsearch.objective.memory import trial_memory_scope
from hpsearch.objective.model import build_model, hidden_weights, set_hidden_weights
from hpsearch.objective.train import save_checkpoint
from hpsearch.population.engine import Member, Population, epoch_order
from hpsearch.space import Choice, SearchSpace
from hpsearch.store.records import TrialState
from hpsearch.trainer import EpochCallback, EpochResult, TrainJob, TrainOutcome, first_non_finite, report_epochs

__all__ = ["PopulationTrainer", "columns_for_space", "keras_model_of", "member_of_checkpoint", "population_columns"]

#: The Keras optimiser attributes that hold each of our slots (Keras 3's own names).
_KERAS_SLOTS: dict[str, dict[str, str]] = {
    "adam": {"m": "_momentums", "v": "_velocities"},
    "adamw": {"m": "_momentums", "v": "_velocities"},
    "sgd": {},
    "rmsprop": {"v": "_velocities"},
    "nadam": {"m": "_momentums", "v": "_velocities"},
    "adamax": {"m": "_m", "u": "_u"},
    "adagrad": {"acc": "_accumulators"},
    "adadelta": {"acc_grad": "_accumulated_grads", "acc_delta": "_accumulated_delta_vars"},
    "lion": {"m": "_momentums"},
}
_LAYER_VARIABLES = ("kernel", "bias", "out_kernel", "out_bias")


def _layer_variable_positions(model: Any) -> list[int]:
    """Where each of kernel, bias, out_kernel, out_bias is among ``model.trainable_variables`` (the order
    of the optimiser's slot lists)."""
    index = {id(v): i for i, v in enumerate(model.trainable_variables)}
    return [index[id(v)] for v in (*model.get_layer("dense").trainable_variables, *model.get_layer("dense_1").trainable_variables)]


def _round_up_64(columns: float) -> int:
    return int(-(-columns // 64) * 64)


def keras_model_of(params: dict[str, Any], weights: tuple[np.ndarray, ...], state: dict[str, Any] | None = None) -> Any:
    """``build_model(**params)`` holding ``weights`` and, if given, the optimiser ``state`` of a population member."""
    model = build_model(**params)
    set_hidden_weights(model, weights)  # type: ignore[arg-type]
    if state is not None:
        optimizer = model.optimizer
        optimizer.build(model.trainable_variables)
        optimizer.iterations.assign(state["step"])
        if hasattr(optimizer, "_u_product"):
            optimizer._u_product.assign(state["u_product"])
        order = _layer_variable_positions(model)
        for slot, attribute in _KERAS_SLOTS[str(params["optimizer"])].items():
            keras_slots = getattr(optimizer, attribute)
            for name, position in zip(_LAYER_VARIABLES, order):
                keras_slots[position].assign(state["slots"][name][slot])
    return model


def member_of_checkpoint(params: dict[str, Any], path: Path) -> tuple[tuple[np.ndarray, ...], dict[str, Any]]:
    """The weights and optimiser state of a checkpoint written for ``build_model(**params)`` (by either
    trainer), in the layout :meth:`Population.set_member` takes: the inverse of :func:`keras_model_of`."""
    model = build_model(**params)
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    model.load_weights(path)
    order = _layer_variable_positions(model)
    slots: dict[str, dict[str, np.ndarray]] = {name: {} for name in _LAYER_VARIABLES}
    for slot, attribute in _KERAS_SLOTS[str(params["optimizer"])].items():
        keras_slots = getattr(optimizer, attribute)
        for name, position in zip(_LAYER_VARIABLES, order):
            slots[name][slot] = np.asarray(keras_slots[position].numpy())
    u_product = float(optimizer._u_product.numpy()) if hasattr(optimizer, "_u_product") else 1.0
    state = {"step": int(optimizer.iterations.numpy()), "u_product": u_product, "slots": slots}
    return hidden_weights(model), state


#: Hidden columns per population when nothing says how wide the trials are: room for ``population``
#: members of 128 units.
DEFAULT_MEMBER_WIDTH = 128


def population_columns(population: int, typical_width: float, widest: int) -> int:
    """The hidden columns of a population of ``population`` trials whose widths average
    ``typical_width``: room for them all on average (a multiple of 64), and for the widest one alone."""
    columns = max(float(population) * typical_width, float(widest))
    return _round_up_64(columns)


def columns_for_space(space: SearchSpace, population: int) -> int:
    """:func:`population_columns` for trials drawn from ``space``: its mean width (over a fixed sample
    of the prior) and its widest."""
    dimension = space["width"]
    typical = float(np.mean([dimension.sample(np.random.default_rng([7, i])) for i in range(512)]))
    widest = max(dimension.grid_values()) if isinstance(dimension, Choice) else dimension.high
    return population_columns(population, typical, int(widest))


def _member_of(job: TrainJob) -> Member:
    """The population member a job trains: its width, dropout, learning rate, seed and weight decay."""
    p = job.params
    decay = p.get("weight_decay")
    return Member(int(p["width"]), float(p["dropout"]), float(p["learning_rate"]), job.seed, None if decay is None else float(decay))


def trains_alone(params: Mapping[str, Any]) -> bool:
    """Whether a trial of the built-in model trains through the per-trial Keras trainer: a population
    holds one hidden layer, so deeper models train one by one."""
    return int(params.get("layers", 1)) > 1


class PopulationTrainer:
    """Trains jobs of the seed MLP in populations; see the module docstring."""

    has_test_set = True

    def __init__(
        self,
        data: DataConfig | None = None,
        training: TrainingConfig | None = None,
        *,
        study_seed: int = 0,
        optimizers: tuple[str, ...] | None = None,
        columns: int | None = None,
    ) -> None:
        self.training = training or TrainingConfig()
        self.study_seed = study_seed
        #: The optimisers one population covers (the study space's; default: those of the jobs at hand).
        self.optimizers = optimizers
        #: The runner claims up to this many trials at once and hands them over together.
        self.max_jobs = max(1, self.training.population)
        #: Hidden units of all members together (members sit side by side in them).
        self.columns = columns or population_columns(self.max_jobs, DEFAULT_MEMBER_WIDTH, DEFAULT_MEMBER_WIDTH)
        self._keras = KerasTrainer(data, self.training)
        self._populations: dict[tuple[tuple[str, ...], int, str], Population] = {}
        self._tensors: tuple[Any, ...] | None = None
        #: The shape of each population built (each compiles once): for tests and benchmarks.
        self.shapes_built: list[tuple[tuple[str, ...], int, str]] = []
        #: How often live members moved to a narrower population after others were pruned or finished.
        self.compactions = 0
        #: How PBT continuations found their parent: copied inside a population, or read from a checkpoint file.
        self.continued = {"in_memory": 0, "from_checkpoint": 0}
        #: Which finished member each population slot still holds, by the checkpoint it was saved as.
        self._resident: dict[int, dict[int, str]] = {}

    @property
    def dataset(self) -> Any:
        return self._keras.dataset

    def group(self, params: Mapping[str, Any]) -> tuple[int, str]:
        """What the members of one population share: the batch size and the hidden activation."""
        return int(params.get("batch_size", self.training.batch_size)), str(params.get("activation", "relu"))

    def fits(self, params: Sequence[Mapping[str, Any]]) -> bool:
        """Whether trials of these ``params`` train together in one population (the runner claims
        trials while they do, so that each population is full): at most ``population`` of them, side
        by side in its columns, of one :meth:`group`; a trial that :func:`trains_alone` fits alone."""
        if any(trains_alone(p) for p in params):
            return len(params) == 1
        return (
            len(params) <= self.max_jobs
            and sum(int(p["width"]) for p in params) <= self.columns
            and len({self.group(p) for p in params}) <= 1
        )

    def _data(self) -> tuple[Any, ...]:
        if self._tensors is None:
            d = self.dataset
            flat = [ops.convert_to_tensor(a.reshape(len(a), -1)) for a in (d.x_train, d.x_val)]
            labels = [ops.convert_to_tensor(a.astype(np.int32)) for a in (d.y_train, d.y_val)]
            self._tensors = (flat[0], labels[0], flat[1], labels[1])
        return self._tensors

    def _population(self, optimizers: tuple[str, ...], widest: int, columns: int | None = None, activation: str = "relu") -> Population:
        """The population (built once per shape) for these optimisers and activation: ``columns`` wide, by
        default the trainer's columns or, for a trial wider than planned, a wider one."""
        columns = columns or max(self.columns, _round_up_64(widest))
        key = (optimizers, columns, activation)
        if key not in self._populations:
            self._populations[key] = Population(optimizers, columns, self.max_jobs, activation)
            self.shapes_built.append(key)
        return self._populations[key]

    def train(self, jobs: Sequence[TrainJob], on_epoch: EpochCallback) -> list[TrainOutcome]:
        outcomes: list[TrainOutcome | None] = [None] * len(jobs)
        passes: list[list[int]] = []
        for i, job in enumerate(jobs):
            resized = job.parent_params is not None and job.params["width"] != job.parent_params["width"]
            if resized or trains_alone(job.params):
                outcomes[i] = self._keras.train([job], on_epoch)[0]  # a deeper model, or a resized PBT member (Net2WiderNet in Keras)
            elif passes and self.fits([jobs[j].params for j in (*passes[-1], i)]):
                passes[-1].append(i)
            else:
                passes.append([i])  # what does not fit trains next, in the same shape
        for chunk in passes:
            with trial_memory_scope():  # the Keras models built to write checkpoints go with the pass
                for i, outcome in zip(chunk, self._train_group([jobs[i] for i in chunk], on_epoch)):
                    outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def _train_group(self, jobs: list[TrainJob], on_epoch: EpochCallback) -> list[TrainOutcome]:
        """One population for ``jobs``, under one update covering their optimisers."""
        x, y, x_val, y_val = self._data()
        used = {str(job.params["optimizer"]) for job in jobs}
        optimizers = self.optimizers if self.optimizers is not None and used <= set(self.optimizers) else tuple(sorted(used))
        batch_size, activation = self.group(jobs[0].params)
        population = self._population(optimizers, max(int(job.params["width"]) for job in jobs), activation=activation)
        failed = self._place(population, jobs)
        slot = list(range(len(jobs)))  # where each job sits in the population it trains in now
        results: list[list[EpochResult]] = [[] for _ in jobs]
        ended: list[TrainOutcome | None] = [TrainOutcome(TrialState.FAIL, [], failed[i]) if i in failed else None for i in range(len(jobs))]
        last = max(job.epochs for job in jobs)
        for epoch in range(1, last + 1):
            if all(e is not None for e in ended):
                break
            population = self._compacted(population, jobs, ended, slot, epochs_left=last - epoch + 1)
            start = time.perf_counter()
            loss, accuracy = population.train_epoch(x, y, epoch_order(self.study_seed, epoch, int(x.shape[0])), batch_size)
            val_loss, val_accuracy = population.evaluate(x_val, y_val)
            live = [i for i in range(len(jobs)) if ended[i] is None]
            seconds = (time.perf_counter() - start) / max(1, len(live))
            reports = []
            for i in live:
                metrics = {
                    "loss": float(loss[slot[i]]),
                    "accuracy": float(accuracy[slot[i]]),
                    "val_loss": float(val_loss[slot[i]]),
                    "val_accuracy": float(val_accuracy[slot[i]]),
                }
                results[i].append(EpochResult(epoch, metrics, seconds))
                reports.append((jobs[i], results[i][-1]))
            for i, keep_going in zip(live, report_epochs(on_epoch, reports)):  # one store transaction for them all
                job, metrics = jobs[i], results[i][-1].metrics
                bad = first_non_finite(metrics)
                if bad is not None:
                    ended[i] = TrainOutcome(TrialState.FAIL, results[i], f"{bad} became {metrics[bad]} at epoch {epoch}")
                elif not keep_going:
                    ended[i] = TrainOutcome(TrialState.PRUNED, results[i])
                elif epoch == job.epochs:
                    self._save(population, slot[i], job)
                    ended[i] = TrainOutcome(TrialState.COMPLETE, results[i])
                    if job.weights_path is not None:
                        self._resident[id(population)][slot[i]] = str(job.weights_path)
                if ended[i] is not None:
                    population.retire(slot[i])
        return [e for e in ended if e is not None]

    def _compacted(
        self, population: Population, jobs: list[TrainJob], ended: list[TrainOutcome | None], slot: list[int], *, epochs_left: int
    ) -> Population:
        """The population to train the next epochs in: ``population``, or, once pruned, failed or finished
        members leave the live ones in half of its columns or less (and at least two epochs are left, to pay for
        compiling it), a narrower one of half (a quarter, ...) its columns that the live members move
        to, weights, optimiser state and step counts as they are. A member's numbers do not depend on
        where it sits, so moving it changes nothing but the cost of an epoch. Updates ``slot``."""
        live = [i for i in range(len(jobs)) if ended[i] is None]
        if len(live) == len(jobs):
            return population  # nobody left: the layout is the one the pass started with (PBT finds its parents there)
        widths = [int(jobs[i].params["width"]) for i in live]
        columns = population.columns
        while columns % 128 == 0 and sum(widths) <= columns // 2:
            columns //= 2
        if columns == population.columns or epochs_left < 2:
            return population
        narrower = self._population(population.optimizers, max(widths), columns, population.activation)
        moved = [(population.member_weights(slot[i]), population.member_state(slot[i])) for i in live]
        narrower.arrange(widths)
        self._resident[id(narrower)] = {}
        for j, (i, (weights, state)) in enumerate(zip(live, moved)):
            narrower.set_member(j, _member_of(jobs[i]), weights, str(jobs[i].params["optimizer"]), state)
            slot[i] = j
        self.compactions += 1
        return narrower

    def _place(self, population: Population, jobs: list[TrainJob]) -> dict[int, str]:
        """Lay ``jobs`` out side by side in ``population``: a new trial at its initialisation; a PBT
        continuation as a copy of its parent, made inside the population when the parent is still
        there (its slot keeps the member it finished), else read from the parent's checkpoint.
        Returns the jobs that cannot start (a parent checkpoint gone), by slot, with the reason."""
        failed: dict[int, str] = {}
        resident = self._resident.setdefault(id(population), {})
        held = {path: slot for slot, path in resident.items()}
        sources: list[int | None] = [None] * len(jobs)
        for i, job in enumerate(jobs):
            if job.parent_checkpoint is not None and str(job.parent_checkpoint) in held:
                sources[i] = held[str(job.parent_checkpoint)]
        population.arrange([int(job.params["width"]) for job in jobs], sources)  # every copy at once
        resident.clear()
        for i, job in enumerate(jobs):
            member = _member_of(job)
            optimizer = str(job.params["optimizer"])
            if job.parent_checkpoint is None:
                population.set_member(i, member, optimizer=optimizer)
                continue
            assert job.parent_params is not None
            fresh_optimizer = optimizer != job.parent_params["optimizer"]
            if sources[i] is not None:
                self.continued["in_memory"] += 1
                population.set_hyperparameters(i, member, optimizer)
                if fresh_optimizer:
                    population.reset_optimizer_state(i)
            elif not job.parent_checkpoint.exists():
                failed[i] = f"FileNotFoundError: checkpoint {job.parent_checkpoint} of the parent trial is gone"
                population.retire(i)
            else:
                weights, state = member_of_checkpoint(dict(job.parent_params), job.parent_checkpoint)
                self.continued["from_checkpoint"] += 1
                population.set_member(i, member, weights, optimizer, None if fresh_optimizer else state)
        return failed

    def _save(self, population: Population, index: int, job: TrainJob) -> None:
        if job.weights_path is None:
            return
        model = keras_model_of(dict(job.params), population.member_weights(index), population.member_state(index))
        save_checkpoint(model, Path(job.weights_path))

    def evaluate(self, job: TrainJob) -> tuple[float, float] | None:
        return self._keras.evaluate(job)
