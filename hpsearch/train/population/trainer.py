"""The population trainer: the :class:`hpsearch.train.trainer.Trainer` that trains a batch of jobs as populations.

The runner claims trials while they fit one population (:meth:`PopulationTrainer.fits`: at
most ``[training] population`` trials, whose widths add up to at most the population's
columns, sized from the study's space by :func:`columns_for_space`) and hands them over
together. They train as one :class:`~hpsearch.train.population.engine.Population`, epoch by epoch,
the epochs of all members reported at once (one store transaction). A member that is pruned,
fails (a non-finite loss) or reaches its epochs stops updating while the others go on. One
population shape serves the whole study, so a study compiles once.

Tiles: on a CPU, a population's epoch costs more per column once its weights and optimiser
slots outgrow the cache (:data:`_CACHE_BYTES_PER_COLUMN`), so a claim wider than
:func:`default_tile_columns` trains as several populations of one shape (tiles, sharing one
compilation), each epoch of every tile before the next epoch of any: the same numbers (a
member's do not depend on its company), in less time. On a GPU a claim is one population.

PBT: a segment that continues a member copies its parent's weights and optimiser state
inside the population when the parent is still there (it finished in the same slot layout
and nothing has overwritten it), else reads the parent's checkpoint (after a resume, or when
the parent trained elsewhere); both give the same state. A new optimiser starts fresh
state; a resized member (``width = "resize"``) is trained by the per-trial Keras trainer,
which resizes it.

What comes out is ordinary Keras: a finished member's weights and optimiser state are
written as the ``.weights.h5`` of ``build_model(**params)`` (the per-trial trainer, the
test evaluation and ``keras.models`` read them as they read their own), directly, with no
Keras model built (:mod:`hpsearch.train.population.checkpoint`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from keras import ops

from hpsearch.core.builtin_model import LAYER_DIMENSIONS, trainable_params
from hpsearch.core.config import DataConfig, TrainingConfig
from hpsearch.core.records import TrialState
from hpsearch.core.space import Choice, SearchSpace
from hpsearch.train.keras import KerasTrainer
from hpsearch.train.keras.model import uses_momentum
from hpsearch.train.population.backend import devices
from hpsearch.train.population.checkpoint import member_of_checkpoint, write_member
from hpsearch.train.population.engine import INPUTS, MAX_DEPTH, Member, Population, epoch_order, member_scores
from hpsearch.train.trainer import EpochCallback, EpochResult, TrainJob, TrainOutcome, first_non_finite, report_epochs

__all__ = [
    "PopulationTrainer",
    "columns_for_space",
    "default_tile_columns",
    "epoch_shares",
    "narrowest_width",
    "pack",
    "population_columns",
]


def _round_up_64(columns: float) -> int:
    return int(-(-columns // 64) * 64)


#: Hidden columns per population when nothing says how wide the trials are: room for ``population``
#: members of 128 units.
DEFAULT_MEMBER_WIDTH = 128


def population_columns(population: int, typical_width: float, widest: int) -> int:
    """The hidden columns of a population of ``population`` trials whose widths average
    ``typical_width``: room for them all on average (a multiple of 64), and for the widest one alone."""
    columns = max(float(population) * typical_width, float(widest))
    return _round_up_64(columns)


def _width_range(space: SearchSpace) -> tuple[int, int]:
    """The narrowest and the widest trial ``space`` can propose."""
    dimension = space["width"]
    if isinstance(dimension, Choice):
        values = [int(v) for v in dimension.grid_values()]
        return min(values), max(values)
    return int(dimension.low), int(dimension.high)


def columns_for_space(space: SearchSpace, population: int) -> int:
    """:func:`population_columns` for trials drawn from ``space``: its mean width (over a fixed sample
    of the prior) and its widest."""
    typical = float(np.mean([space["width"].sample(np.random.default_rng([7, i])) for i in range(512)]))
    return population_columns(population, typical, _width_range(space)[1])


#: Bytes of cache per hidden column a population's epoch stays fast in, measured on these 2-core
#: machines (32 MiB of L3; full MNIST, batch 32, 8 members): an epoch costs 2.2-2.3 ms per column
#: up to 832 columns, 2.9 at 1024, 3.0 at 1408, 3.4 at 2048 and 3.8 at 2816, as the weights and
#: their optimiser slots (16 bytes per input weight, with the gradient) outgrow the cache.
_CACHE_BYTES_PER_COLUMN = 14 * INPUTS * 4
#: The tile when the cache size cannot be read.
_DEFAULT_TILE = 704
#: The widest tile of members with further hidden layers, whose [columns, columns] kernels (with their
#: gradients and optimiser slots) stay smaller than the first layer's [784, columns] up to here.
DEEP_TILE_COLUMNS = 512


def default_tile_columns() -> int:
    """The columns of one population on this machine: 0 (one population per claim, however wide) on a
    GPU; on a CPU, as many as stay in its last-level cache (:data:`_CACHE_BYTES_PER_COLUMN`, at least
    256), where a wide claim trains faster as several narrower populations."""
    if "GPU" in devices():
        return 0
    try:
        text = Path("/sys/devices/system/cpu/cpu0/cache/index3/size").read_text().strip()
    except OSError:
        return _DEFAULT_TILE
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    size = int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)
    return max(256, size // _CACHE_BYTES_PER_COLUMN // 64 * 64)


def pack(widths: Sequence[int], columns: int, slots: int) -> list[list[int]]:
    """The indices of ``widths`` packed first fit, in order, into tiles of at most ``columns`` columns
    and ``slots`` members (a member wider than ``columns`` takes a tile of its own). In order, so that
    adding a member never moves the ones before it: the runner's claims grow one trial at a time."""
    tiles: list[list[int]] = []
    used: list[int] = []
    for i, width in enumerate(widths):
        for t, tile in enumerate(tiles):
            if used[t] + width <= columns and len(tile) < slots:
                tile.append(i)
                used[t] += width
                break
        else:
            tiles.append([i])
            used.append(width)
    return tiles


def narrowest_width(space: SearchSpace) -> int:
    """The narrowest trial ``space`` can propose."""
    return _width_range(space)[0]


def epoch_shares(seconds: float, sizes: Sequence[int]) -> list[float]:
    """``seconds``, the wall time of an epoch the members of ``sizes`` (trainable parameters) trained together, shared
    among them in proportion to their sizes: the members train in one computation, whose matrix products (nearly
    all its work) grow with each member's parameters, so a member's share of them is its share of the time. The
    shares add up to ``seconds``."""
    total = sum(sizes)
    return [seconds * size / total for size in sizes]


def _member_of(job: TrainJob) -> Member:
    """The population member a job trains: its width, dropout, learning rate, seed and weight decay."""
    p = job.params
    decay = p.get("weight_decay")
    return Member(int(p["width"]), float(p["dropout"]), float(p["learning_rate"]), job.seed, None if decay is None else float(decay))


@dataclass
class _Tile:
    """One population of a pass and the job (an index into the pass's jobs) in each of its slots."""

    population: Population
    jobs: list[int]


def trains_alone(params: Mapping[str, Any]) -> bool:
    """Whether a trial of the built-in model trains through the per-trial Keras trainer: a population
    holds members of up to :data:`MAX_DEPTH` hidden layers, so deeper models train one by one, and
    its update has no SGD momentum, so a trial of SGD with momentum does too, and its further layers are as wide as
    the first, with its dropout, so a trial whose layers differ (``width_2`` ...) does too."""
    own_layers = any(
        params.get(name) is not None and params[name] != params.get("width" if name.startswith("width") else "dropout")
        for name in LAYER_DIMENSIONS
    )
    return int(params.get("layers", 1)) > MAX_DEPTH or uses_momentum(params) or own_layers


class PopulationTrainer:
    """Trains jobs of the seed MLP in populations; see the module docstring."""

    has_test_set = True
    trains_builtin_model = True

    def __init__(
        self,
        data: DataConfig | None = None,
        training: TrainingConfig | None = None,
        *,
        study_seed: int = 0,
        optimizers: tuple[str, ...] | None = None,
        columns: int | None = None,
        narrowest: int = 1,
    ) -> None:
        self.training = training or TrainingConfig()
        self.study_seed = study_seed
        #: The optimisers one population covers (the study space's; default: those of the jobs at hand).
        self.optimizers = optimizers
        #: The runner claims up to this many trials at once and hands them over together.
        self.max_jobs = max(1, self.training.population)
        #: Hidden units of all members together (members sit side by side in them).
        self.columns = columns or population_columns(self.max_jobs, DEFAULT_MEMBER_WIDTH, DEFAULT_MEMBER_WIDTH)
        #: The narrowest trial the study can propose (it bounds how many members a tile needs slots for).
        self.narrowest = max(1, int(narrowest))
        #: The columns of one population at most (a wider claim trains as several, one after the other in
        #: each epoch); 0: one population per claim. See :func:`default_tile_columns`.
        self.tile_columns = default_tile_columns() if self.training.tile_columns is None else self.training.tile_columns
        #: A pass trains in this many populations (tiles) of ``tile_width`` columns each: the claim's columns
        #: split evenly in tiles of at most ``tile_columns``.
        self.tiles = 1 if not self.tile_columns or self.tile_columns >= self.columns else -(-self.columns // self.tile_columns)
        self.tile_width = _round_up_64(-(-self.columns // self.tiles))
        self._keras = KerasTrainer(data, self.training)
        #: The populations built, by shape (optimisers, columns, activation, depth): the first of each compiled, the others its twins.
        self._populations: dict[tuple[tuple[str, ...], int, str, int], list[Population]] = {}
        self._tensors: tuple[Any, ...] | None = None
        #: The shape of each population built (each compiles once): for tests and benchmarks.
        self.shapes_built: list[tuple[tuple[str, ...], int, str, int]] = []
        #: How often live members moved to a narrower population after others were pruned or finished.
        self.compactions = 0
        #: How PBT continuations found their parent: copied inside a population, or read from a checkpoint file.
        self.continued = {"in_memory": 0, "from_checkpoint": 0}
        #: Which finished member each population slot still holds, by the checkpoint it was saved as.
        self._resident: dict[int, dict[int, str]] = {}

    @property
    def dataset(self) -> Any:
        return self._keras.dataset

    def group(self, params: Mapping[str, Any]) -> tuple[int, str, int]:
        """What the members of one population share: the batch size, the hidden activation and the hidden layers."""
        return self._keras.batch_size(params), str(params.get("activation", "relu")), int(params.get("layers", 1))

    def fits(self, params: Sequence[Mapping[str, Any]]) -> bool:
        """Whether trials of these ``params`` train together (the runner claims trials while they do, so
        that each pass is full): at most ``population`` of them, those of each :meth:`group` in one pass,
        side by side in the pass's :attr:`tiles` populations of :attr:`tile_width` columns (packed by
        :func:`pack`; the groups' passes train one after the other); a trial that :func:`trains_alone`
        fits alone."""
        if any(trains_alone(p) for p in params):
            return len(params) == 1
        if len(params) > self.max_jobs:
            return False
        groups: dict[tuple[int, str, int], list[int]] = {}
        for p in params:
            groups.setdefault(self.group(p), []).append(int(p["width"]))
        for (_batch, _activation, depth), widths in groups.items():
            tile_width, tiles = self._tiling(depth)
            if len(widths) > 1 and len(pack(widths, tile_width, self._slots(tile_width))) > tiles:
                return False
        return True

    def _tiling(self, depth: int) -> tuple[int, int]:
        """The columns of each tile and the tiles of a pass of members with ``depth`` hidden layers: for one,
        :attr:`tile_width` and :attr:`tiles`; deeper members' further layers are [columns, columns] products
        (block-diagonal), whose cost grows with the square of the columns, so their tiles are at most
        :data:`DEEP_TILE_COLUMNS` wide, and more of them."""
        if depth == 1 or self.tile_width <= DEEP_TILE_COLUMNS:
            return self.tile_width, self.tiles
        tiles = -(-self.columns // DEEP_TILE_COLUMNS)
        return _round_up_64(-(-self.columns // tiles)), tiles

    def _data(self) -> tuple[Any, ...]:
        if self._tensors is None:
            d = self.dataset
            flat = [ops.convert_to_tensor(a.reshape(len(a), -1)) for a in (d.x_train, d.x_val)]
            labels = [ops.convert_to_tensor(a.astype(np.int32)) for a in (d.y_train, d.y_val)]
            self._tensors = (flat[0], labels[0], flat[1], labels[1])
        return self._tensors

    def _slots(self, columns: int) -> int:
        """Member slots of a population of ``columns``: room for the claim, or for as many of the space's
        narrowest trials as fit its columns, whichever is less (fewer slots: a cheaper output product)."""
        return max(1, min(self.max_jobs, columns // self.narrowest))

    def _shape(self, optimizers: tuple[str, ...], columns: int, activation: str, depth: int) -> Population:
        """The first population of this shape (built, and compiled on first use, once per shape)."""
        key = (optimizers, columns, activation, depth)
        if key not in self._populations:
            self._populations[key] = [Population(optimizers, columns, self._slots(columns), activation, depth)]
            self.shapes_built.append(key)
        return self._populations[key][0]

    def _instance(self, optimizers: tuple[str, ...], columns: int, activation: str, depth: int, taken: set[int]) -> Population:
        """A population of this shape that is not in ``taken`` (ids), a twin of the first if all are:
        the tiles of one pass hold their state apart and share one compilation."""
        first = self._shape(optimizers, columns, activation, depth)
        for population in self._populations[(optimizers, columns, activation, depth)]:
            if id(population) not in taken:
                return population
        twin = first.twin()
        self._populations[(optimizers, columns, activation, depth)].append(twin)
        return twin

    def _columns_for(self, widths: Sequence[int], optimizers: tuple[str, ...], activation: str, depth: int, epochs: int) -> int:
        """The columns of a tile holding ``widths``: :attr:`tile_width` (or room for the widest alone),
        halved while they fit half of it, when the narrower shape pays for its compilation (it is built
        already, or at least two epochs are left)."""
        columns = max(self._tiling(depth)[0], _round_up_64(max(widths)))
        while columns % 128 == 0 and sum(widths) <= columns // 2 and len(widths) <= self._slots(columns // 2):
            narrower = columns // 2
            if epochs < 2 and (optimizers, narrower, activation, depth) not in self._populations:
                break
            columns = narrower
        return columns

    def _plan(self, jobs: Sequence[TrainJob], members: Sequence[int], depth: int) -> list[list[int]]:
        """``members`` (indices into ``jobs``, of ``depth`` hidden layers) packed into tiles by :func:`pack`."""
        members = list(members)
        tile_width = self._tiling(depth)[0]
        tiles = pack([int(jobs[i].params["width"]) for i in members], tile_width, self._slots(tile_width))
        return [[members[k] for k in tile] for tile in tiles]

    def train(self, jobs: Sequence[TrainJob], on_epoch: EpochCallback) -> list[TrainOutcome]:
        outcomes: list[TrainOutcome | None] = [None] * len(jobs)
        by_group: dict[tuple[int, str, int], list[list[int]]] = {}  # each group's passes, the groups in the order met
        for i, job in enumerate(jobs):
            resized = job.parent_params is not None and job.params["width"] != job.parent_params["width"]
            # a continuation of a member that trained alone starts from its Keras checkpoint (SGD's momentum slots in it)
            if resized or trains_alone(job.params) or (job.parent_params is not None and trains_alone(job.parent_params)):
                outcomes[i] = self._keras.train([job], on_epoch)[0]  # a deeper model, or a resized PBT member (Net2WiderNet in Keras)
                continue
            passes = by_group.setdefault(self.group(job.params), [])
            if passes and self.fits([jobs[j].params for j in (*passes[-1], i)]):
                passes[-1].append(i)
            else:
                passes.append([i])  # what does not fit trains next, in the same shape
        # no Keras model is built for a pass (checkpoints are written directly): nothing to release
        for chunk in (chunk for passes in by_group.values() for chunk in passes):
            for i, outcome in zip(chunk, self._train_group([jobs[i] for i in chunk], on_epoch)):
                outcomes[i] = outcome
        return [o for o in outcomes if o is not None]

    def _train_group(self, jobs: list[TrainJob], on_epoch: EpochCallback) -> list[TrainOutcome]:
        """One pass over ``jobs``, in tiles (populations side by side in time, each epoch of every tile
        before the next epoch of any), under one update covering their optimisers.

        Each epoch reports Keras's four metrics and the built-in model's cost
        (:data:`~hpsearch.core.builtin_model.COST_METRICS`): ``params``, the member's trainable parameters, and
        ``epoch_seconds``, its share of the epoch's wall time (every tile's), by :func:`epoch_shares` (also the
        epoch's ``seconds``)."""
        x, y, x_val, y_val = self._data()
        used = {str(job.params["optimizer"]) for job in jobs}
        optimizers = self.optimizers if self.optimizers is not None and used <= set(self.optimizers) else tuple(sorted(used))
        batch_size, activation, depth = self.group(jobs[0].params)
        last = max(job.epochs for job in jobs)
        tiles, failed = self._place(jobs, optimizers, activation, depth, last)
        results: list[list[EpochResult]] = [[] for _ in jobs]
        sizes = [trainable_params(job.params) for job in jobs]
        ended: list[TrainOutcome | None] = [TrainOutcome(TrialState.FAIL, [], failed[i]) if i in failed else None for i in range(len(jobs))]
        for epoch in range(1, last + 1):
            if all(e is not None for e in ended):
                break
            tiles = self._compacted(tiles, jobs, ended, optimizers, activation, depth, epochs_left=last - epoch + 1)
            start = time.perf_counter()
            metrics: dict[int, dict[str, float]] = {}
            order = epoch_order(self.study_seed, epoch, int(x.shape[0]))  # every tile's, as every member's
            for tile in tiles:
                if not any(ended[i] is None for i in tile.jobs):
                    continue
                loss, accuracy = tile.population.train_epoch(x, y, order, batch_size)
                val_loss, val_accuracy = tile.population.evaluate(x_val, y_val)
                for slot, i in enumerate(tile.jobs):
                    if ended[i] is None:
                        metrics[i] = {
                            "loss": float(loss[slot]),
                            "accuracy": float(accuracy[slot]),
                            "val_loss": float(val_loss[slot]),
                            "val_accuracy": float(val_accuracy[slot]),
                        }
            live = sorted(metrics)
            shares = epoch_shares(time.perf_counter() - start, [sizes[i] for i in live])
            reports = []
            for i, seconds in zip(live, shares):
                metrics[i].update(params=float(sizes[i]), epoch_seconds=seconds)
                results[i].append(EpochResult(epoch, metrics[i], seconds))
                reports.append((jobs[i], results[i][-1]))
            where = {i: (tile, slot) for tile in tiles for slot, i in enumerate(tile.jobs)}
            for i, keep_going in zip(live, report_epochs(on_epoch, reports)):  # one store transaction for them all
                job, tile, slot = jobs[i], *where[i]
                bad = first_non_finite(metrics[i])
                if bad is not None:
                    ended[i] = TrainOutcome(TrialState.FAIL, results[i], f"{bad} became {metrics[i][bad]} at epoch {epoch}")
                elif not keep_going:
                    ended[i] = TrainOutcome(TrialState.PRUNED, results[i])
                elif epoch == job.epochs:
                    self._save(tile.population, slot, job)
                    ended[i] = TrainOutcome(TrialState.COMPLETE, results[i])
                    if job.weights_path is not None:
                        self._resident[id(tile.population)][slot] = str(job.weights_path)
                if ended[i] is not None:
                    tile.population.retire(slot)
        return [e for e in ended if e is not None]

    def _compacted(
        self,
        tiles: list[_Tile],
        jobs: list[TrainJob],
        ended: list[TrainOutcome | None],
        optimizers: tuple[str, ...],
        activation: str,
        depth: int,
        *,
        epochs_left: int,
    ) -> list[_Tile]:
        """The tiles to train the next epochs in: ``tiles``, or, once pruned, failed or finished members
        leave room (and at least two epochs are left, to pay for compiling), the live members packed
        again into fewer or narrower tiles, weights, optimiser state and step counts as they are. A
        member's numbers do not depend on where it sits, so moving it changes nothing but the cost of
        an epoch."""
        live = [i for tile in tiles for i in tile.jobs if ended[i] is None]
        if len(live) == len(jobs) or not live or epochs_left < 2:
            return tiles  # nobody left: the layout is the one the pass started with (PBT finds its parents there)
        plan = self._plan(jobs, live, depth)
        widths = [[int(jobs[i].params["width"]) for i in members] for members in plan]
        columns = [self._columns_for(w, optimizers, activation, depth, epochs_left) for w in widths]
        if sum(columns) >= sum(tile.population.columns for tile in tiles if any(ended[i] is None for i in tile.jobs)):
            return tiles
        where = {i: (tile, slot) for tile in tiles for slot, i in enumerate(tile.jobs)}
        moved = {i: (where[i][0].population.member_weights(where[i][1]), where[i][0].population.member_state(where[i][1])) for i in live}
        taken = {id(tile.population) for tile in tiles}
        out = []
        for members, w, c in zip(plan, widths, columns):
            population = self._instance(optimizers, c, activation, depth, taken)
            taken.add(id(population))
            population.arrange(w)
            self._resident[id(population)] = {}
            for slot, i in enumerate(members):
                weights, state = moved[i]
                population.set_member(slot, _member_of(jobs[i]), weights, str(jobs[i].params["optimizer"]), state)
            out.append(_Tile(population, members))
        self.compactions += 1
        return out

    def _place(
        self, jobs: list[TrainJob], optimizers: tuple[str, ...], activation: str, depth: int, epochs: int
    ) -> tuple[list[_Tile], dict[int, str]]:
        """Lay ``jobs`` out in tiles: a new trial at its initialisation; a PBT continuation as a copy of
        its parent made in memory when the parent is still held by a population (by a gather when it
        is the one the child trains in, else through a host copy), else read from the parent's
        checkpoint. A tile whose continuations find their parents in a population of a shape that
        holds it trains there (the copies are one gather). Returns the tiles, and the jobs that
        cannot start (a parent checkpoint gone), by index, with the reason."""
        held = {
            path: (population, slot)
            for shapes in self._populations.values()
            for population in shapes
            for slot, path in self._resident.get(id(population), {}).items()
        }

        def parent(i: int) -> tuple[Population, int] | None:
            checkpoint = jobs[i].parent_checkpoint
            return held.get(str(checkpoint)) if checkpoint is not None else None

        tiles: list[_Tile] = []
        taken: set[int] = set()
        for members in self._plan(jobs, range(len(jobs)), depth):
            widths = [int(jobs[i].params["width"]) for i in members]
            homes = [p for p in (parent(i) for i in members) if p is not None and id(p[0]) not in taken]
            home = homes[0][0] if homes else None
            same_kind = home is not None and (home.optimizers, home.activation, home.depth) == (optimizers, activation, depth)
            if home is not None and same_kind and home.fits(widths):
                population = home
            else:
                population = self._instance(
                    optimizers, self._columns_for(widths, optimizers, activation, depth, epochs), activation, depth, taken
                )
            taken.add(id(population))
            tiles.append(_Tile(population, list(members)))
        # parents held elsewhere than their child's tile are copied out before any tile is laid out again
        copies: dict[int, tuple[tuple[np.ndarray, ...], dict[str, Any]]] = {}
        for tile in tiles:
            for i in tile.jobs:
                found = parent(i)
                if found is not None and found[0] is not tile.population:
                    copies[i] = (found[0].member_weights(found[1]), found[0].member_state(found[1]))
        failed: dict[int, str] = {}
        for tile in tiles:
            population = tile.population
            sources = [found[1] if (found := parent(i)) is not None and found[0] is population else None for i in tile.jobs]
            population.arrange([int(jobs[i].params["width"]) for i in tile.jobs], sources)  # every copy within it at once
            self._resident[id(population)] = {}
            for slot, i in enumerate(tile.jobs):
                job = jobs[i]
                member = _member_of(job)
                optimizer = str(job.params["optimizer"])
                if job.parent_checkpoint is None:
                    population.set_member(slot, member, optimizer=optimizer)
                    continue
                assert job.parent_params is not None
                fresh_optimizer = optimizer != job.parent_params["optimizer"]
                if sources[slot] is not None:
                    self.continued["in_memory"] += 1
                    population.set_hyperparameters(slot, member, optimizer)
                    if fresh_optimizer:
                        population.reset_optimizer_state(slot)
                    continue
                if i in copies:
                    self.continued["in_memory"] += 1
                    weights, state = copies[i]
                elif not job.parent_checkpoint.exists():
                    failed[i] = f"FileNotFoundError: checkpoint {job.parent_checkpoint} of the parent trial is gone"
                    population.retire(slot)
                    continue
                else:
                    weights, state = member_of_checkpoint(dict(job.parent_params), job.parent_checkpoint)
                    self.continued["from_checkpoint"] += 1
                population.set_member(slot, member, weights, optimizer, None if fresh_optimizer else state)
        return tiles, failed

    def _save(self, population: Population, index: int, job: TrainJob) -> None:
        if job.weights_path is None:
            return
        write_member(Path(job.weights_path), dict(job.params), population.member_weights(index), population.member_state(index))

    def evaluate(self, job: TrainJob) -> dict[str, float] | None:
        """The test metrics of a job's saved weights, as the Keras trainer names them (``loss``, ``accuracy``),
        computed by the engine's forward pass from the checkpoint (no Keras model built: 2-7 s less at the end
        of a study); a model a population does not hold is evaluated by Keras."""
        if trains_alone(job.params):
            return self._keras.evaluate(job)
        if job.weights_path is None or not Path(job.weights_path).exists():
            return None
        weights, _state = member_of_checkpoint(dict(job.params), Path(job.weights_path))
        d = self.dataset
        loss, accuracy = member_scores(weights, str(job.params.get("activation", "relu")), d.x_test, d.y_test)  # every hidden layer
        return {"loss": loss, "accuracy": accuracy}
