"""The ``hpsearch`` command: a thin layer that parses arguments and calls the Python API.

Exit status: 0 success; 1 the run failed (too many failed trials, data or store
unreachable); 2 bad input (study file, arguments); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from types import FrameType
from typing import Any, NoReturn, TextIO

from hpsearch import api, arguments, dashboard_cli
from hpsearch.arguments import OneLineErrorParser, bounded, checkpoint_location, duration, values_joined_to_options
from hpsearch.core.config import StudyConfig, load_study
from hpsearch.core.errors import ConfigError, ConfigWarning, HpsearchError
from hpsearch.core.formatting import format_value
from hpsearch.core.results import StudySummary
from hpsearch.read.frames import study_dimensions
from hpsearch.running.lineage import complete_migration
from hpsearch.running.progress import ConsoleProgress, SilentProgress
from hpsearch.running.session import RunOptions
from hpsearch.show.export import FORMATS, export_trials, format_from_path
from hpsearch.show.tables import result_text, study_table, trial_table
from hpsearch.store import DEFAULT_STORE, SCHEMA_VERSION, Store, TrialRecord, TrialState

EXIT_FAILED = 1
EXIT_BAD_INPUT = arguments.EXIT_BAD_INPUT
EXIT_INTERRUPTED = 130

STORE_HELP = f"store path or SQLAlchemy URL (default: $HPSEARCH_STORE, else ./{DEFAULT_STORE})"


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """The options shared by `run` and `worker`."""
    parser.add_argument("--store", help=STORE_HELP)
    parser.add_argument(
        "--data-dir", help="directory holding mnist.npz or the IDX .gz files (overrides the study file and $HPSEARCH_DATA_DIR)"
    )
    parser.add_argument(
        "--timeout",
        type=duration("--timeout"),
        metavar="DURATION",
        help="start no new trial after this long, e.g. 90s, 30m, 1h30m (overrides budget.timeout)",
    )
    parser.add_argument(
        "--max-failures",
        type=bounded("--max-failures"),
        default=3,
        metavar="N",
        help="stop the study after N failed trials in a row (default: 3)",
    )
    parser.add_argument(
        "--stale-after",
        type=duration("--stale-after"),
        default=120.0,
        metavar="DURATION",
        help="redo a RUNNING trial whose worker sent no heartbeat for this long (default: 120s)",
    )
    parser.add_argument(
        "--checkpoint-dir",
        type=checkpoint_location,
        metavar="DIR",
        help="where checkpoints are kept: a folder, or an object store URL such as s3://bucket/prefix (default: "
        "<stem>-checkpoints/ beside an SQLite store: base-checkpoints/ for base.db)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's own log lines too (hidden by default, unless $TF_CPP_MIN_LOG_LEVEL is set)",
    )
    parser.add_argument(
        "--workers",
        type=bounded("--workers"),
        default=1,
        metavar="N",
        help="worker processes on this machine sharing the store (default: 1, in this process)",
    )
    parser.add_argument(
        "--recycle-after",
        type=bounded("--recycle-after"),
        metavar="N",
        help="replace each worker process by a fresh one after N trials (bounds memory over long studies)",
    )
    parser.add_argument(
        "--threads",
        type=bounded("--threads"),
        metavar="N",
        help="backend threads per worker process (default: the cores shared out among the workers, at least 1)",
    )
    parser.add_argument(
        "--ray",
        metavar="ADDRESS",
        help="run the --workers as tasks on a Ray cluster (its address, e.g. auto or ray://head:10001; local: a Ray "
        'instance on this machine); needs pip install -e ".[ray]" and, with a cluster, a PostgreSQL --store',
    )
    parser.add_argument(
        "--cpus-per-worker",
        type=bounded("--cpus-per-worker"),
        default=1.0,
        metavar="C",
        help="CPUs Ray reserves for each worker (with --ray; default 1, also its backend threads)",
    )
    parser.add_argument(
        "--gpus-per-worker",
        type=bounded("--gpus-per-worker"),
        default=0.0,
        metavar="G",
        help="GPUs Ray reserves for each worker (with --ray; default 0; 1: one population per GPU)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="hpsearch",
        description="Hyperparameter search for the Keras MNIST model: grid, random, quasi-random, TPE, Gaussian-process, "
        "evolutionary, CMA-ES and PBT studies, with optional early stopping, logged epoch by epoch to a SQL store.",
        epilog="Run `hpsearch COMMAND --help` for the options of a command.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run or resume a study from a study file",
        description="Run the study described by STUDY (a TOML file). Running the same file again resumes the "
        "study: finished trials are kept, trials left unfinished by a killed run are redone, and only what is "
        "left of the budget runs.",
    )
    run.add_argument("study", metavar="STUDY", help="study file (TOML), e.g. studies/quickstart.toml")
    _add_run_options(run)
    run.add_argument("--retry-failed", action="store_true", help="run the study's FAIL trials again")

    worker = sub.add_parser(
        "worker",
        help="join an existing study as a worker (on this or any machine)",
        description="Run trials of study NAME, which a `hpsearch run` created in the store, until its budget is "
        "spent. Point workers on several machines at one PostgreSQL URL to share a study; PBT checkpoints must "
        "then be in a directory every worker can reach (--checkpoint-dir).",
    )
    worker.add_argument("name", metavar="NAME", help="study name (see `hpsearch status`)")
    _add_run_options(worker)

    validate = sub.add_parser(
        "validate",
        help="check a study file without running it",
        description="Validate STUDY and print the resolved study (budget, grid size).",
    )
    validate.add_argument("study", metavar="STUDY", help="study file (TOML)")

    status = sub.add_parser(
        "status",
        help="list the studies in a store",
        description=(
            "One line per study in the store: strategy, state, trials finished of the budget, running and failed trials, "
            "best value, test accuracy of the best trial, last update. State: running; finished; interrupted (RUNNING in "
            "the store but nothing heard for 3 minutes: run it again to resume); stopped (too many failed trials)."
        ),
    )
    status.add_argument("--store", help=STORE_HELP)
    status.add_argument("--verbose", "-v", action="store_true", help="also print the store's URL and schema version")

    migrate = sub.add_parser(
        "migrate",
        help="bring a store written by an older hpsearch to this version's schema",
        description="Migrate the store in place with Alembic. An SQLite file is migrated on a copy; the original is kept "
        "beside it as <name>.schema<N>.bak, and a migration that fails leaves it as it was; one that was killed is "
        "completed or undone by the next command that opens the store. PostgreSQL migrates in one transaction. It never "
        "creates a store (only `run` does). Running a study migrates too; read-only commands (status, trials, compare, "
        "dashboard, ...) never do.",
    )
    migrate.add_argument("--store", help=STORE_HELP)

    trials = sub.add_parser("trials", help="show the trials of a study", description="The trials of study NAME.")
    trials.add_argument("name", metavar="NAME", help="study name")
    trials.add_argument("--store", help=STORE_HELP)
    trials.add_argument("--state", choices=[s.value for s in TrialState], type=str.upper, help="only trials in this state")
    trials.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output format (default: table)")

    best = sub.add_parser("best", help="show the best trial of a study", description="The best completed trial of NAME.")
    best.add_argument("name", metavar="NAME", help="study name")
    best.add_argument("--store", help=STORE_HELP)
    best.add_argument("--json", action="store_true", help="print JSON instead of text")

    compare = sub.add_parser(
        "compare",
        help="write an HTML report comparing studies",
        description="Write one self-contained HTML file (plotly.js embedded: it opens offline) comparing the studies NAME...: "
        "best-so-far at equal budget, distributions, hyperparameters, learning curves, importance, PBT schedules and lineage, "
        "and a table of the best trial of each study with its test accuracy.",
    )
    compare.add_argument("names", nargs="+", metavar="NAME", help="study names (see `hpsearch status`)")
    compare.add_argument("--out", default="report.html", metavar="FILE", help="the HTML file to write (default: report.html)")
    compare.add_argument("--store", help=STORE_HELP)

    export = sub.add_parser(
        "export",
        help="export the trials of a study to CSV, Parquet or JSON",
        description="Write the trial table of study NAME (one row per trial; per PBT segment) to FILE; with --metrics, "
        "one row per epoch instead, each with its trial's hyperparameters.",
    )
    export.add_argument("name", metavar="NAME", help="study name")
    export.add_argument("--format", choices=FORMATS, help="file format (default: from the extension of --out)")
    export.add_argument("--out", required=True, metavar="FILE", help="the file to write")
    export.add_argument("--metrics", action="store_true", help="export the per-epoch metrics instead of one row per trial")
    export.add_argument("--store", help=STORE_HELP)
    export_model = sub.add_parser(
        "export-model",
        help="write the best trial of a study as a .keras model file",
        description="Write the best trial of study NAME as a Keras model file (build_model(**params) with the trial's "
        "weights) that keras.models.load_model opens, whichever trainer trained it.",
    )
    export_model.add_argument("name", metavar="NAME", help="study name")
    export_model.add_argument("--out", required=True, metavar="FILE", help="the file to write, ending in .keras")
    export_model.add_argument("--store", help=STORE_HELP)
    export_model.add_argument(
        "--checkpoint-dir",
        type=checkpoint_location,
        metavar="DIR",
        help="where the study's checkpoints are, if not where the run kept them (a folder or an object store URL)",
    )
    export_model.add_argument(
        "--trial",
        type=bounded("--trial"),
        metavar="N",
        help="export trial N rather than the best (required for a study of several objectives: one of its Pareto set)",
    )
    cache = sub.add_parser(
        "cache",
        help="show or clear what hpsearch keeps between runs to start faster",
        description="List hpsearch's cache folder: the prepared datasets (memory-mapped by every run instead of read, "
        "decompressed and scaled again) and, on the JAX backend, compiled computations. Nothing in it is needed; "
        "--clear deletes it and the next run rebuilds what it uses. The folder is $HPSEARCH_CACHE_DIR, else "
        "$XDG_CACHE_HOME/hpsearch, else ~/.cache/hpsearch; HPSEARCH_CACHE_DIR=off turns the cache off.",
    )
    cache.add_argument("--clear", action="store_true", help="delete everything in the cache")
    dashboard_cli.register(sub)
    return parser


def _fail(message: str, code: int) -> NoReturn:
    print(f"hpsearch: error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: TextIO | None = None, line: str | None = None
) -> None:
    """hpsearch's own warnings (:class:`ConfigWarning`) as one line, like its errors; any other as Python shows it."""
    own = issubclass(category, ConfigWarning)
    text = f"hpsearch: warning: {message}\n" if own else warnings.formatwarning(message, category, filename, lineno, line)
    (file or sys.stderr).write(text)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def cmd_run(args: argparse.Namespace) -> int:
    return _run(load_study(args.study), args)


def cmd_worker(args: argparse.Namespace) -> int:
    return _run(api.stored_config(args.name, args.store), args)


def _run(config: StudyConfig, args: argparse.Namespace) -> int:
    if args.verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")  # before Keras is imported: hpsearch.train.keras then hides nothing
    if args.data_dir:
        config = replace(config, data=replace(config.data, data_dir=args.data_dir))
    options = RunOptions(
        timeout=args.timeout,
        max_consecutive_failures=args.max_failures,
        retry_failed=getattr(args, "retry_failed", False),
        stale_after=args.stale_after,
        checkpoint_dir=args.checkpoint_dir,
    )
    progress = SilentProgress() if args.quiet else ConsoleProgress(metric=config.metric, maximize=config.direction == "maximize")
    if not args.quiet and _trains_own_model_per_trial_by_default(config):
        print(
            f'{config.name}: trains one Keras fit per trial; [training] trainer = "population" trains a claim\'s trials '
            "together (docs/how-to/own-model.md)"
        )
    signal.signal(signal.SIGTERM, _interrupt)
    if args.ray is None and (args.cpus_per_worker != 1.0 or args.gpus_per_worker != 0.0):
        given = "--cpus-per-worker" if args.cpus_per_worker != 1.0 else "--gpus-per-worker"
        raise ConfigError(given, getattr(args, given[2:].replace("-", "_")), "is a request to Ray: it goes with --ray ADDRESS")
    if args.ray is not None or args.workers > 1 or args.recycle_after is not None or args.threads is not None:
        from hpsearch.running.workers import run_workers

        launcher = None
        if args.ray is not None:
            from hpsearch.running.ray_workers import RayOptions, ray_launcher
            from hpsearch.store import store_url

            launcher = ray_launcher(RayOptions(args.ray, args.cpus_per_worker, args.gpus_per_worker), store_url(args.store))
        summary = run_workers(
            config,
            args.store,
            args.workers,
            options=options,
            recycle_after=args.recycle_after,
            threads=args.threads,
            progress=progress,
            launcher=launcher,
        )
    else:
        summary = api.run(config, args.store, options=options, progress=progress)
    print(_trials_text(summary, summary.trials, args.store))
    print()
    print(result_text(summary, names=list(study_dimensions(summary.study))))
    if not summary.complete:
        print(f"\n{summary.finished}/{summary.study.n_trials} trials finished; run the same command again to continue.")
    return 0


def _trains_own_model_per_trial_by_default(config: StudyConfig) -> bool:
    """Whether a study of its own model or data trains per trial only because its file left ``[training] trainer`` out
    (the default for one's own model: studies created before it could train together recorded it)."""
    own = config.model is not None or config.data.loader is not None
    on_tensorflow = os.environ.get("KERAS_BACKEND", "tensorflow") == "tensorflow"  # on JAX, one's own model trains per trial
    return own and config.written("training", "trainer") is None and config.training.trainer == "keras" and on_tensorflow


def cmd_validate(args: argparse.Namespace) -> int:
    from hpsearch.train.choice import check_trainable

    config = load_study(args.study)
    check_trainable(config)  # the built-in model's space and metric, or the study's own model and data
    print(f"{args.study}: valid")
    if config.pbt is not None:
        p = config.pbt
        shape = (
            f"{p.population} members x {p.epochs} epochs, ready every {p.ready} ({p.n_trials} segments), "
            f"exploit {p.exploit}, explore {p.explore}, width {p.width}"
        )
    else:
        shape = f"{config.budget.trials} trials x {config.budget.epochs} epochs"
    data = f"data.loader {config.data.loader}" if config.data.loader else f"data {config.data.dataset}"
    model = f"model {config.model}, " if config.model else ""
    print(f"  study {config.name}: {config.strategy}, {shape}, {model}{data}, seed {config.seed}")
    t = config.training
    together = f", up to {t.population} trials trained together" if t.trainer == "population" else ""
    if t.trainer == "population" and t.tile_columns is not None:
        together += f", in populations of at most {t.tile_columns} columns" if t.tile_columns else ", in one population per claim"
    print(f"  training: {t.trainer} trainer{together}, batch size {t.batch_size}")
    if config.options is not None and config.pbt is None:  # a pbt study's table is its shape above
        settings = ", ".join(f"{key} {value}" for key, value in vars(config.options).items())
        print(f"  {config.strategy}: {settings}")
    if config.pruning.enabled:
        print(f"  pruning: {_pruning_line(config)}")
    for name, dim in config.space.items():
        print(f"  {name}: {dim.describe()}")
    return 0


def _pruning_line(config: StudyConfig) -> str:
    """What the pruning rule does, in one line: its rungs, and the most epochs the study can spend."""
    from hpsearch.search.pruning import HyperbandRule, pruning_rule

    p, b = config.pruning, config.budget
    most = f"at most {b.trials} x {b.epochs} = {b.trials * b.epochs} trial-epochs" if b.trials else f"up to {b.epochs} epochs per trial"
    if p.rule == "median":
        return f"median, after {p.startup_trials} finished trials and {p.warmup_epochs} warm-up epochs; {most}"
    rule = pruning_rule(config, [])
    if isinstance(rule, HyperbandRule):
        rungs = "; ".join(f"bracket {k} ({w:.0%} of trials) {_judged(rule.rungs_of_bracket(k))}" for k, w in enumerate(rule.weights))
        return f"hyperband, top 1/{p.reduction_factor} go on; {rungs}; {most}"
    assert rule is not None
    return f"successive halving, top 1/{p.reduction_factor} go on; {_judged(rule.rungs(0))}; {most}"


def _judged(rungs: list[int]) -> str:
    return f"judged at epochs {', '.join(map(str, rungs))}" if rungs else "never stopped"


def cmd_status(args: argparse.Namespace) -> int:
    statuses = api.status(args.store)
    if args.verbose:
        with Store.open(args.store, read_only=True) as store:
            print(f"store {store.label}: schema version {store.schema_version} (this hpsearch: {SCHEMA_VERSION})")
    if not statuses:
        print("no studies in this store yet")
    else:
        print(study_table(statuses))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    with Store.open(args.store, create=False) as store:  # only `run` creates a store
        if store.recovered is not None:
            print(f"store {store.label}: {store.recovered}")
        if store.migrated is None:
            print(f"store {store.label}: schema version {store.schema_version}, nothing to migrate")
        else:
            version, backup = store.migrated
            kept = f"; the original is kept as {backup}" if backup is not None else ""
            print(f"store {store.label}: migrated from schema version {version} to {store.schema_version}{kept}")
        for name, count in complete_migration(store).items():
            print(f"store {store.label}: stored the lineage of {count} child(ren) of evolution study {name}")
    return 0


def cmd_trials(args: argparse.Namespace) -> int:
    summary = api.study_summary(args.name, args.store)
    rows = [t for t in summary.trials if args.state is None or t.state.value == args.state]
    if args.format == "table":
        print(_trials_text(summary, rows, args.store))
        return 0
    frame = api.trials_frame(args.name, args.store)
    if args.state is not None:
        frame = frame[frame["state"] == args.state]
    if args.format == "csv":
        print(frame.to_csv(index=False), end="")
    else:
        print(frame.to_json(orient="records", date_format="iso"))
    return 0


def _trials_text(summary: StudySummary, trials: Sequence[TrialRecord], store: str | None) -> str:
    """The trial table of ``trials`` of a study (``hpsearch run``, ``hpsearch trials``): a column per objective, the
    best trial (or the Pareto set of a study of several objectives) starred, and each trial's training time."""
    study = summary.study
    starred = [t.number for t in summary.pareto] if study.multi_objective else None if summary.best is None else summary.best.number
    return trial_table(
        trials,
        [o.metric for o in study.objectives],
        starred,
        names=list(study_dimensions(study)),
        train_seconds=api.trial_seconds(study.name, store),
    )


def _result_json(summary: StudySummary, trial: TrialRecord) -> dict[str, Any]:
    """One trial of a study's result as ``hpsearch best --json`` gives it."""
    test = summary.tests.get(trial.number)
    values = dict(zip((o.metric for o in summary.study.objectives), trial.values or (trial.value,)))
    return {
        "study": summary.study.name,
        "trial": trial.number,
        "params": trial.params,
        **values,
        "test_accuracy": test.accuracy if test else None,
        **({"test": dict(test.metrics)} if test and summary.study.multi_objective else {}),
        **({"provisional": True} if summary.provisional else {}),
    }


def cmd_best(args: argparse.Namespace) -> int:
    summary = api.study_summary(args.name, args.store)
    if args.json:
        if summary.study.multi_objective:  # the Pareto set: a list, sorted along the first objective
            print(json.dumps([_result_json(summary, t) for t in summary.pareto], indent=2))
        else:
            print(json.dumps(None if summary.best is None else _result_json(summary, summary.best), indent=2))
    else:
        print(result_text(summary, names=list(study_dimensions(summary.study))))
    return 0 if summary.best is not None else EXIT_FAILED


@contextlib.contextmanager
def _out_option() -> Iterator[None]:
    """The API names its arguments ``out`` and ``trial``; the command's options are ``--out`` and ``--trial``."""
    try:
        yield
    except ConfigError as err:
        if err.field not in ("out", "trial"):
            raise
        raise ConfigError(f"--{err.field}", err.value, err.rule) from None


def cmd_compare(args: argparse.Namespace) -> int:
    from hpsearch.show.report import write_report  # imports plotly: only for this command

    try:
        with _out_option():
            path = write_report(args.store, args.names, args.out)
    except OSError as err:
        _fail(f"cannot write {args.out}: {err.strerror or err}", EXIT_FAILED)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB): {', '.join(dict.fromkeys(args.names))}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    fmt = args.format or format_from_path(args.out)
    if fmt is None:
        _fail(f"cannot tell the format of {args.out} from its extension: give --format {'|'.join(FORMATS)}", EXIT_BAD_INPUT)
    try:
        with _out_option():
            path = export_trials(args.store, args.name, fmt, args.out, metrics=args.metrics)
    except OSError as err:
        _fail(f"cannot write {args.out}: {err.strerror or err}", EXIT_FAILED)
    print(f"wrote {path} ({fmt}, {'per-epoch metrics' if args.metrics else 'trials'} of {args.name})")
    return 0


def cmd_export_model(args: argparse.Namespace) -> int:
    from hpsearch.show.model_file import export_model  # imports Keras: only for this command

    try:
        with _out_option():
            exported = export_model(args.name, args.out, args.store, checkpoint_dir=args.checkpoint_dir, trial=args.trial)
    except OSError as err:
        _fail(f"cannot write {args.out}: {err.strerror or err}", EXIT_FAILED)
    test = "" if exported.test_accuracy is None else f", test accuracy {exported.test_accuracy:.4f}"
    params = ", ".join(f"{k}={format_value(v)}" for k, v in exported.trial.params.items())
    so_far = " (the best so far: the study is unfinished)" if exported.provisional else ""
    print(f"wrote {exported.path}: trial {exported.trial.number} of {args.name} ({params}){test}{so_far}")
    return 0


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def cmd_cache(args: argparse.Namespace) -> int:
    from hpsearch.core.cache import KINDS, cache_dir, cache_entries, clear_cache

    root = cache_dir()
    if root is None:
        print(f"the cache is off (HPSEARCH_CACHE_DIR={os.environ.get('HPSEARCH_CACHE_DIR')})")
        return 0
    if args.clear:
        deleted = clear_cache()
        print(f"deleted {len(deleted)} entries ({_megabytes(sum(e.bytes for e in deleted))}) from {root}")
        return 0
    entries = cache_entries()
    print(f"{root}: {len(entries)} entries, {_megabytes(sum(e.bytes for e in entries))}")
    for entry in entries:
        print(f"  {KINDS[entry.kind]:<30} {entry.path.name:<32} {_megabytes(entry.bytes):>12}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "worker": cmd_worker,
    "validate": cmd_validate,
    "status": cmd_status,
    "migrate": cmd_migrate,
    "trials": cmd_trials,
    "best": cmd_best,
    "compare": cmd_compare,
    "export": cmd_export,
    "export-model": cmd_export_model,
    "dashboard": dashboard_cli.run,
    "cache": cmd_cache,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(values_joined_to_options(parser, sys.argv[1:] if argv is None else argv))
    warnings.showwarning = _show_warning
    try:
        return COMMANDS[args.command](args)
    except ConfigError as err:
        _fail(str(err), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        print("\nhpsearch: interrupted; the unfinished trial will be redone by the next run", file=sys.stderr)
        return EXIT_INTERRUPTED
    except HpsearchError as err:
        _fail(str(err), EXIT_FAILED)
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def entry() -> None:
    """The ``hpsearch`` command (and ``python -m hpsearch``): :func:`main`, then, where it loaded Keras, an exit that skips
    the interpreter's teardown of the backend (1.2-1.3 s of TensorFlow's destructors after a run, measured) once this
    process's own work is saved: the dataset cache written, output flushed, logging shut down, no other thread running
    (else the ordinary exit). Calling :func:`main` from Python exits nothing."""
    code = main()
    if "keras" in sys.modules and isinstance(code, int):
        from hpsearch.train.keras.data import finish_cache_writes

        finish_cache_writes()
        if not any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
            logging.shutdown()
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):  # closed, or a pipe whose reader left
                    stream.flush()
            os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    entry()
