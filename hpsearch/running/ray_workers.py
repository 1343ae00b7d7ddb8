"""Workers on a Ray cluster: ``hpsearch run STUDY --ray ADDRESS --workers N``.

Each worker is a Ray task that runs today's worker loop (:func:`hpsearch.running.workers.work`) against the shared
store, with Ray's resource requests (``cpus_per_worker``, ``gpus_per_worker``), so Ray places them: a GPU worker trains
one population per GPU. Nothing of hpsearch's coordination moves into Ray: claims, heartbeats, budgets and PBT stay in
the store, so a study can mix Ray workers with plain ``hpsearch worker`` processes, and a Ray worker that is killed (a
node lost, ``ray.kill``, preemption) leaves a RUNNING trial that today's stale-trial rule hands to another worker. The
driver supervises as :func:`hpsearch.running.workers.run_workers` does (one loop for processes and Ray tasks alike): it
shows the study's progress from the store, starts another task for one that was lost while trials are left, exits
with the study's outcome, and on Ctrl-C cancels every task (each hands its claimed trials back).

Ray is an optional extra (``pip install -e ".[ray]"``). ``address`` is ``"local"`` (a Ray instance on this machine,
started here, or the one this process already started: how the tests run it) or a cluster's address (``"auto"``,
``"ray://head:10001"``, ``"10.0.0.5:6379"``). An SQLite store is a file on this machine, so it is refused with a cluster
(its workers run on other nodes) and works with ``"local"``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hpsearch.core.errors import ConfigError
from hpsearch.running.workers import WorkerSpec, work

__all__ = ["LOCAL", "RayOptions", "RayTasks", "ray_launcher"]

#: The address that starts (or joins the already started) Ray instance of this machine.
LOCAL = "local"
#: The object store of a local instance: the tasks pass only a study's settings and exit codes.
_LOCAL_OBJECT_STORE = 100 * 1024 * 1024


@dataclass(frozen=True)
class RayOptions:
    """Where and how Ray runs the workers: the cluster's ``address`` (or ``"local"``) and each worker's resource request."""

    address: str = LOCAL
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0


def _ray() -> Any:
    """The ``ray`` module; a one-line error naming the install command where it is not installed."""
    try:
        import ray
    except ImportError:
        raise ConfigError("--ray", "ray", 'needs Ray, an optional extra: pip install -e ".[ray]" (or pip install ray)') from None
    return ray


def _run_task(spec: WorkerSpec) -> int:
    """The body of a Ray task: one worker (:func:`hpsearch.running.workers.work`)."""
    return work(spec)


class RayTasks:
    """Workers as Ray tasks (see the module's notes), behind :class:`hpsearch.running.workers.Launcher`."""

    noun = "Ray worker"
    nouns = "Ray worker(s)"
    replace_lost = True

    def __init__(self, options: RayOptions, store_url: str) -> None:
        if options.address != LOCAL and store_url.startswith("sqlite"):
            raise ConfigError(
                "--ray",
                options.address,
                "an SQLite store is a file on this machine, which Ray workers on other nodes cannot share: "
                "give --store a PostgreSQL URL (postgresql+psycopg://...), or run with --ray local",
            )
        self.options = options
        self.ray = _ray()
        if not self.ray.is_initialized():
            self._init()
        resources = {"num_cpus": options.cpus_per_worker, "num_gpus": options.gpus_per_worker, "max_retries": 0}
        self.task = self.ray.remote(**resources)(_run_task)

    def _init(self) -> None:
        """Start a local instance with this machine's cores, or connect to the cluster at the address."""
        quiet = {"include_dashboard": False, "log_to_driver": True, "configure_logging": False}
        # workers import hpsearch (and a study's own model) as this process does: from its working directory and path
        paths = os.pathsep.join(p for p in [os.getcwd(), *os.environ.get("PYTHONPATH", "").split(os.pathsep)] if p)
        runtime = {"env_vars": {"PYTHONPATH": paths}}
        if self.options.address == LOCAL:
            self.ray.init(num_cpus=os.cpu_count() or 1, object_store_memory=_LOCAL_OBJECT_STORE, runtime_env=runtime, **quiet)
        else:
            self.ray.init(address=self.options.address, runtime_env=runtime, **quiet)

    def threads(self, workers: int) -> int:
        return max(1, int(self.options.cpus_per_worker))

    def check(self, workers: int) -> None:
        """Ray places the tasks by their requests; a request no node can meet waits, so say so now."""
        total = self.ray.cluster_resources()
        for what, need in (("CPU", self.options.cpus_per_worker), ("GPU", self.options.gpus_per_worker)):
            if need > total.get(what, 0.0):
                has = f"the Ray cluster at {self.options.address} has {total.get(what, 0.0):g} {what}(s) in all"
                raise ConfigError(f"--{what.lower()}s-per-worker", need, f"{has}; a worker asking for more never starts")

    def start(self, spec: WorkerSpec) -> Any:
        return self.task.remote(spec)

    def ended(self, running: Sequence[Any]) -> list[tuple[Any, int]]:
        if not running:
            return []
        ready, _ = self.ray.wait(list(running), num_returns=len(running), timeout=0)
        out = []
        for ref in ready:
            try:
                out.append((ref, int(self.ray.get(ref))))
            except self.ray.exceptions.RayError:  # the task's worker died: killed, its node lost, preempted
                out.append((ref, -9))
        return out

    def stop(self, running: Sequence[Any]) -> None:
        for ref in running:
            self.ray.cancel(ref)  # a KeyboardInterrupt in the task: its worker hands its claimed trials back
        _, left = self.ray.wait(list(running), num_returns=len(running), timeout=30)
        for ref in left:
            self.ray.cancel(ref, force=True)


def ray_launcher(options: RayOptions, store_url: str) -> RayTasks:
    """The launcher of ``run_workers(..., launcher=...)`` that starts the workers as Ray tasks."""
    return RayTasks(options, store_url)
