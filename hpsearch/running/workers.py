"""Several worker processes sharing one store: ``hpsearch run --workers N`` and ``hpsearch worker``.

The coordination is the database's: every worker claims trials through the
store's atomic claim (see :mod:`hpsearch.running.claims`), so the workers of
one machine, or of many machines sharing a PostgreSQL database, never take the
same trial, together end with exactly the trial budget, and redo the trial of a
worker that died. This module only starts and supervises the processes:

* each worker is a fresh Python process (``spawn``), with its backend's thread
  pools limited so that N workers do not oversubscribe the cores: by default
  ``max(1, cores // N)`` threads each (``threads`` to change it);
* a worker returns after ``recycle_after`` trials and is replaced by a fresh
  process, so memory a backend does not give back cannot build up over a long study;
* only as many workers start as there are trials a worker could claim now (trials the
  budget has not proposed yet, trials waiting, failed ones with ``retry_failed``, running
  ones whose heartbeat is older than ``stale_after``): none for a finished study, one to
  wait for (and redo, should they die) trials other workers are running, or to evaluate
  a study whose budget is spent; a recycled worker is replaced on the same terms;
* a worker count the machine's available memory cannot hold, at :data:`WORKER_MEMORY`
  each, is refused before the study is created or any process starts.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import psutil

from hpsearch.core.config import StudyConfig
from hpsearch.core.errors import ConfigError, HpsearchError, UnknownStudyError
from hpsearch.core.formatting import format_duration
from hpsearch.running.checkpoints import remote_for
from hpsearch.running.progress import Progress, SilentProgress
from hpsearch.running.session import RunOptions, StudySummary, summarize
from hpsearch.store import Store, StudyState, TrialRecord, TrialState, store_url
from hpsearch.train.trainer import Trainer

__all__ = ["WORKER_MEMORY", "Launcher", "Processes", "WorkerSpec", "default_threads", "limit_threads", "run_workers", "work"]

#: The memory one worker process is taken to need, in bytes: about 1 GiB (an interpreter with TensorFlow and
#: Keras imported is 0.36 GB of its own, 0.8 GB resident; the MNIST arrays, a model and its compiled steps come
#: on top; docs/benchmarks.md ("Speed and memory") measured 1.6 GB at the peak of a population study).
WORKER_MEMORY = 1 << 30

#: Exit status of a worker that stopped after ``recycle_after`` trials and wants a successor.
EXIT_RECYCLE = 3
#: Exit status of a worker whose study failed (too many failures, stuck): no successor.
EXIT_STUDY_FAILED = 4

TrainerFactory = Callable[[StudyConfig], Trainer]


def default_threads(workers: int, cores: int | None = None) -> int:
    """Backend threads per worker: the machine's cores shared out, at least one each."""
    return max(1, (cores or os.cpu_count() or 1) // max(workers, 1))


def limit_threads(threads: int) -> None:
    """Limit the thread pools of TensorFlow (and of oneDNN/OpenMP) in this process; call before Keras is imported."""
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ["OMP_NUM_THREADS"] = str(threads)


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs (it must pickle: workers are spawned)."""

    config: StudyConfig
    store: str
    options: RunOptions
    threads: int
    #: A module-level function building the trainer; None: the Keras MNIST trainer.
    trainer_factory: TrainerFactory | None = None


def work(spec: WorkerSpec) -> int:
    """What one worker does, in whatever process runs it (a spawned process, a Ray task): today's study loop against the
    shared store until the budget is spent; its exit status (0, :data:`EXIT_RECYCLE`, :data:`EXIT_STUDY_FAILED`, 130)."""
    limit_threads(spec.threads)
    from hpsearch.running.loop import run_study

    trainer = spec.trainer_factory(spec.config) if spec.trainer_factory is not None else None
    try:
        summary = run_study(spec.config, spec.store, trainer=trainer, options=spec.options)
    except KeyboardInterrupt:
        return 130
    except HpsearchError as err:
        print(f"hpsearch worker {os.getpid()}: {err}", file=sys.stderr)
        return EXIT_STUDY_FAILED
    return EXIT_RECYCLE if summary.stopped_early == "max_trials" else 0


def _worker_main(spec: WorkerSpec) -> None:
    """The body of one worker process."""
    sys.exit(work(spec))


class Launcher(Protocol):
    """Starts workers and tells when they end: processes on this machine (:class:`Processes`), or tasks on a Ray cluster
    (:class:`hpsearch.running.ray_workers.RayTasks`). The supervision (how many, replacements, progress, the outcome) is
    :func:`run_workers`'s, whichever starts them."""

    #: What a worker is called in messages ("worker process", "Ray worker"), and workers counted ("worker process(es)").
    noun: str
    nouns: str
    #: Whether a worker that ended abnormally (killed, its node lost) is replaced while trials are left to claim.
    replace_lost: bool

    def threads(self, workers: int) -> int:
        """Backend threads per worker when ``threads`` was not given."""

    def check(self, workers: int) -> None:
        """Refuse, before the study is created, what cannot start (``workers`` too many for this machine's memory)."""

    def start(self, spec: WorkerSpec) -> Any:
        """Start a worker running :func:`work` of ``spec``; a handle for :meth:`ended`."""

    def ended(self, running: Sequence[Any]) -> list[tuple[Any, int]]:
        """The workers of ``running`` that ended since, each with its exit status (none a worker that still runs)."""

    def stop(self, running: Sequence[Any]) -> None:
        """Interrupt ``running`` (each hands its claimed trials back) and wait for them a while."""


class Processes:
    """Workers as fresh Python processes on this machine (``spawn``), each with its share of the cores."""

    noun = "worker process"
    nouns = "worker process(es)"
    replace_lost = False

    def __init__(self) -> None:
        self.context = multiprocessing.get_context("spawn")

    def threads(self, workers: int) -> int:
        return default_threads(workers)

    def check(self, workers: int) -> None:
        _check_memory(workers)

    def start(self, spec: WorkerSpec) -> Any:
        process = self.context.Process(target=_worker_main, args=(spec,), name="hpsearch-worker", daemon=False)
        process.start()
        return process

    def ended(self, running: Sequence[Any]) -> list[tuple[Any, int]]:
        return [(p, p.exitcode) for p in running if not p.is_alive()]

    def stop(self, running: Sequence[Any]) -> None:
        for process in running:
            process.terminate()  # SIGTERM: each worker hands its trial back
        for process in running:
            process.join(timeout=30)


def run_workers(
    config: StudyConfig,
    store: str | os.PathLike[str] | None,
    workers: int,
    *,
    options: RunOptions | None = None,
    recycle_after: int | None = None,
    threads: int | None = None,
    trainer_factory: TrainerFactory | None = None,
    progress: Progress | None = None,
    launcher: Launcher | None = None,
) -> StudySummary:
    """Run a study with ``workers`` processes on this machine (or as ``launcher`` starts them: Ray tasks); returns when
    they have all stopped.

    The study is created (and checked against the store) here first, so a bad
    study file fails before any process starts.
    """
    if workers < 1:
        raise ValueError(f"workers = {workers}: must be >= 1")
    launcher = launcher or Processes()
    url = store_url(store)
    options = replace(options or RunOptions(), max_trials=recycle_after)
    progress = progress or SilentProgress()
    from hpsearch.search.strategies import strategy_for
    from hpsearch.train.choice import check_trainable

    if trainer_factory is None:
        check_trainable(config)
    n_trials = strategy_for(config).budget(config.budget.trials)
    remote = remote_for(options.checkpoint_dir)
    if remote is not None:
        remote.check()  # a missing bucket or a denied write: one line, before any worker starts
    with Store.open(url) as opened:
        claimable, done = _claimable(opened, config.name, n_trials, options)
        asked, workers = workers, _workers_for(workers, claimable, done, others_running=False)
        launcher.check(workers)
        study = opened.create_study(config, n_trials=n_trials)
    spec = WorkerSpec(config, url, options, threads or launcher.threads(workers), trainer_factory)
    running: list[Any] = []
    timeout = options.timeout if options.timeout is not None else config.budget.timeout
    deadline = None if timeout is None else time.monotonic() + timeout

    def start() -> None:
        """A new worker; after the wall-clock limit none starts, and each gets only the time left."""
        worker_spec = spec
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            worker_spec = replace(spec, options=replace(spec.options, timeout=left))
        running.append(launcher.start(worker_spec))

    fewer = f" (of {asked} asked: {claimable} trial(s) left to claim)" if workers < asked else ""
    if workers == 0:
        progress.message(f"{study.name}: every trial of its budget has finished; no {launcher.noun} started")
    else:
        progress.message(
            f"{study.name}: {workers} {launcher.nouns}{fewer}, {spec.threads} backend thread(s) each"
            + (f", each replaced after {recycle_after} trials" if recycle_after else "")
        )
    for _ in range(workers):
        start()
    failed = 0
    last_seen: tuple[int, int] | None = None
    started = time.monotonic()
    try:
        while running:
            time.sleep(0.5)
            for worker, code in launcher.ended(running):
                running.remove(worker)
                recycled = code == EXIT_RECYCLE
                lost = launcher.replace_lost and code not in (0, EXIT_RECYCLE, EXIT_STUDY_FAILED, 130) and failed < 3 * workers
                if (recycled or lost) and _replace_recycled(url, study.name, n_trials, options, bool(running)):
                    if lost:
                        progress.message(f"{study.name}: a {launcher.noun} was lost (exit {code}); starting another")
                    start()
                if code not in (0, EXIT_RECYCLE):
                    failed += 1
            last_seen = _report(url, study.name, progress, last_seen, started)
    except KeyboardInterrupt:
        launcher.stop(running)
        raise
    with Store.open(url, read_only=True) as opened:
        summary = summarize(opened, study.name)
    if summary.study.state is StudyState.STOPPED:
        raise HpsearchError(f"{study.name}: stopped: {summary.study.stop_reason}")
    if failed and not summary.complete:
        raise HpsearchError(f"{study.name}: {failed} {launcher.nouns} failed; see their messages above")
    return summary


def _claimable(store: Store, name: str, n_trials: int, options: RunOptions) -> tuple[int, bool]:
    """How many trials of study ``name`` a worker starting now could claim (see the module's docstring),
    and whether the study is done: its budget finished and the study COMPLETE, nothing left for a worker."""
    try:
        study = store.study(name)
    except UnknownStudyError:
        return n_trials, False
    history = store.trials(study.id, with_curves=False)
    now = time.time()

    def claimable(trial: TrialRecord) -> bool:
        if trial.state is TrialState.RUNNING:
            return now - (trial.heartbeat_at or trial.started_at or 0.0) > options.stale_after
        return trial.state is TrialState.WAITING or (trial.state is TrialState.FAIL and options.retry_failed)

    count = max(0, n_trials - len(history)) + sum(map(claimable, history))
    finished = sum(t.state.is_finished() for t in history)
    return count, count == 0 and finished >= n_trials and study.state is StudyState.COMPLETE


def _workers_for(asked: int, claimable: int, done: bool, *, others_running: bool) -> int:
    """Never more workers than trials to claim; with none to claim, one (unless the study is done, or another of
    ours is still running) to wait for the trials others run, or to finish the study."""
    if claimable:
        return min(asked, claimable)
    return 0 if done or others_running else min(asked, 1)


def _replace_recycled(url: str, name: str, n_trials: int, options: RunOptions, others_running: bool) -> bool:
    """Whether a worker that stopped after its ``recycle_after`` trials gets a successor."""
    with Store.open(url, read_only=True) as opened:
        claimable, done = _claimable(opened, name, n_trials, options)
    return _workers_for(1, claimable, done, others_running=others_running) > 0


def _check_memory(workers: int) -> None:
    """Refuse more workers than the machine's available memory holds, at :data:`WORKER_MEMORY` each (one always may start)."""
    available = psutil.virtual_memory().available
    fits = max(1, available // WORKER_MEMORY)
    if workers > fits:
        raise ConfigError(
            "--workers",
            workers,
            f"{workers} worker processes need about {workers * WORKER_MEMORY / 1e9:.1f} GB of memory "
            f"({WORKER_MEMORY / 1e9:.1f} GB each) and this machine has {available / 1e9:.1f} GB available: "
            f"give --workers {fits} or fewer",
        )


def _report(url: str, name: str, progress: Progress, last: tuple[int, int] | None, started: float) -> tuple[int, int] | None:
    """One progress line whenever the number of finished or running trials changes."""
    try:
        with Store.open(url, read_only=True) as opened:
            summary = summarize(opened, name)
    except HpsearchError:
        return last
    finished = summary.finished
    running = summary.counts.get(TrialState.RUNNING.value, 0)
    if (finished, running) == last:
        return last
    total = summary.study.n_trials
    elapsed = time.monotonic() - started
    eta = elapsed / finished * (total - finished) if finished else None
    best = "-" if summary.best is None else f"{summary.best.value:.4f}"
    progress.message(
        f"  {finished}/{total} trials finished, {running} running, best {summary.study.metric} {best}, "
        f"elapsed {format_duration(elapsed)}, ETA {format_duration(eta)}"
    )
    return finished, running
