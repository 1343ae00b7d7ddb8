"""The cluster recipes in docs/recipes/ run as written: every `hpsearch ...` line in them is taken out of the Slurm scripts
and the Kubernetes manifests, its variables are given values for a local SQLite store and a tiny study, and it is run
through :func:`hpsearch.cli.main`. A recipe whose command drifts from the CLI (a renamed option, a missing argument)
fails here."""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import hpsearch
from hpsearch import StudyState, TrialState
from hpsearch.cli import main

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "docs" / "recipes"
SLURM = [RECIPES / "slurm" / "hpsearch-workers.sbatch", RECIPES / "slurm" / "hpsearch-workers-gpu.sbatch"]
KUBERNETES = RECIPES / "kubernetes"
#: The Kubernetes recipe: the Job that creates the study, then the workers' Job.
KUBERNETES_JOBS = [KUBERNETES / "create-study-job.yaml", KUBERNETES / "hpsearch-job.yaml"]

STUDY = "recipes"
TINY_STUDY = f"""
name = "{STUDY}"
strategy = "random"
seed = 3

[budget]
trials = 3
epochs = 1

[data]
dataset = "mnist-sample"
train_size = 320
validation_size = 200

[space]
width = {{ low = 16, high = 64, log = true }}
dropout = {{ low = 0.0, high = 0.5 }}
optimizer = {{ values = ["adam", "sgd"] }}
learning_rate = {{ low = 1e-4, high = 1e-2, log = true }}
"""

#: Shell words that may come before a command: `exec hpsearch ...`, `until hpsearch ...; do`.
_LEADING = {"exec", "srun", "if", "then", "else", "elif", "while", "until", "do", "!", "time", "command"}
_SEPARATORS = {";", "&&", "||", "|", "&", ";;", "(", ")"}
#: $(NAME) (Kubernetes), ${NAME}, ${NAME:-default}, $NAME (shell).
_VARIABLE = re.compile(r"\$\((\w+)\)|\$\{(\w+)(?::-[^}]*)?\}|\$(\w+)")


def shell_commands(script: str) -> list[list[str]]:
    """The arguments (after ``hpsearch``) of every hpsearch command in a shell script, in order, without redirections."""
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        command: list[str] = []
        for token in [*lexer, ";"]:
            if token in _SEPARATORS:
                while command and command[0] in _LEADING:
                    command.pop(0)
                if command and command[0] == "hpsearch":
                    commands.append(_without_redirections(command[1:]))
                command = []
            else:
                command.append(token)
    return commands


def _without_redirections(tokens: list[str]) -> list[str]:
    """``> /dev/null 2>&1`` taken out of a command's words."""
    kept: list[str] = []
    skip = False
    for token in tokens:
        if skip:
            skip = False
        elif set(token) <= set("<>&") and ("<" in token or ">" in token):
            if kept and kept[-1].isdigit():  # the 2 of 2>&1
                kept.pop()
            skip = True  # the target: a file, or the 1 of 2>&1
        else:
            kept.append(token)
    return kept


def containers(job: dict[str, Any]) -> list[dict[str, Any]]:
    """A Job's init containers and containers, in the order they run."""
    pod = job["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def yaml_commands(job: dict[str, Any]) -> list[list[str]]:
    """The arguments (after ``hpsearch``) of every hpsearch command a Job's containers run, in order."""
    commands: list[list[str]] = []
    for container in containers(job):
        words = [*container.get("command", []), *container.get("args", [])]
        if words[:1] == ["hpsearch"]:
            commands.append(words[1:])
        elif words[:2] in (["sh", "-c"], ["bash", "-c"]):
            commands.extend(shell_commands(words[2]))
    return commands


def expand(argv: list[str], values: dict[str, str], source: Path) -> list[str]:
    """``argv`` with every variable replaced by its value in ``values``."""

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise AssertionError(f"{source.name}: `hpsearch {shlex.join(argv)}` uses ${name}, which this test gives no value to")
        return values[name]

    return [_VARIABLE.sub(value, word) for word in argv]


def recipe_commands() -> dict[str, list[tuple[Path, list[str]]]]:
    """Each recipe's hpsearch commands (with the file each comes from), in the order a user's cluster runs them."""
    recipes: dict[str, list[tuple[Path, list[str]]]] = {}
    for path in SLURM:
        recipes[path.name] = [(path, argv) for argv in shell_commands(path.read_text())]
    recipes["kubernetes"] = [(path, argv) for path in KUBERNETES_JOBS for argv in yaml_commands(yaml.safe_load(path.read_text()))]
    return recipes


@pytest.fixture
def cli_state() -> Iterator[None]:
    """`hpsearch.cli.main` installs a SIGTERM handler and its warning format: put both back afterwards."""
    handler, show = signal.getsignal(signal.SIGTERM), warnings.showwarning
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, handler)
        warnings.showwarning = show


def test_every_recipe_creates_the_study_once_and_joins_it_by_name() -> None:
    for recipe, commands in recipe_commands().items():
        # the study is created from its file, a worker waits until the store has it, then joins it by name
        assert [argv[0] for _, argv in commands] == ["run", "trials", "worker"], recipe
        run, trials, worker = (argv for _, argv in commands)
        assert _variables(trials[1]) == _variables(worker[1]), f"{recipe}: waits for one study and joins another"
        assert _options(run) == _options(worker), f"{recipe}: the first worker and the others run with different options"
        assert {"--data-dir", "--checkpoint-dir", "--threads"} <= set(worker), recipe


def _options(argv: list[str]) -> list[str]:
    return argv[2:]


def _variables(word: str) -> str:
    """``word`` with every variable written ``$NAME``, however its syntax wrote it."""
    return _VARIABLE.sub(lambda match: "$" + next(group for group in match.groups() if group), word)


def test_recipes_commands_run_against_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli_state: None) -> None:
    study_file = tmp_path / "study.toml"
    study_file.write_text(TINY_STUDY)
    store = tmp_path / "store.db"
    shared = tmp_path / "shared"
    values = {
        "HPSEARCH_STORE": str(store),
        "STUDY_FILE": str(study_file),
        "STUDY_NAME": STUDY,
        "SHARED_DIR": str(shared),
        "SLURM_CPUS_PER_TASK": "1",  # Slurm's, from --cpus-per-task
        "CPUS": "1",  # Kubernetes's, from the CPU limit
    }
    monkeypatch.setenv("HPSEARCH_STORE", str(store))  # the pods have the URL only in their environment, from the Secret
    (shared / "data").mkdir(parents=True)  # what the scripts' mkdir (Slurm) or the volume (Kubernetes) provides
    (shared / "checkpoints").mkdir()

    # The study as its first task's `hpsearch run` creates it, but without training: then the worker lines do the work.
    config = hpsearch.load_study(study_file)
    with hpsearch.Store.open(store) as opened:
        opened.create_study(config, n_trials=config.budget.trials)

    for recipe, commands in recipe_commands().items():
        # The workers first (the first recipe's trains the whole budget; the others find it spent), then the line that
        # created the study, which must accept the stored study (same file, same identity) and find nothing to do.
        for source, argv in sorted(commands, key=lambda command: command[1][0] == "run"):
            args = expand(argv, values, source)
            assert main(args) == 0, f"{source.name}: hpsearch {shlex.join(args)}"
            if argv[0] == "trials":
                continue  # the wait for the study: it reads, and finds the study there
            # a worker exits 0 only once the budget is spent: the study is complete, with exactly its budget
            summary = hpsearch.study_summary(STUDY, store)
            assert summary.study.state is StudyState.COMPLETE, f"{source.name}: hpsearch {shlex.join(args)}"
            assert summary.study.n_trials == 3
            assert [(t.number, t.state, t.attempt) for t in summary.trials] == [(n, TrialState.COMPLETE, 1) for n in range(3)], recipe
            assert summary.test is not None  # the best trial was evaluated on the test set, once
    assert any(shared.joinpath("checkpoints").iterdir()), "the best trial's checkpoint is not in the shared folder"


@pytest.mark.parametrize("path", SLURM, ids=lambda path: path.name)
def test_slurm_scripts(path: Path) -> None:
    text = path.read_text()
    directives = dict(re.findall(r"^#SBATCH --([\w-]+)(?:=(\S+))?", text, flags=re.MULTILINE))
    assert re.fullmatch(r"1-\d+", directives["array"]), directives
    assert int(directives["cpus-per-task"]) >= 1
    if "gpu" in path.name:
        assert directives["gres"] == "gpu:1"
    for argv in shell_commands(text):
        if argv[0] in ("run", "worker"):
            assert argv[argv.index("--threads") + 1] == "$SLURM_CPUS_PER_TASK"  # one backend thread per CPU Slurm gave
        assert argv[argv.index("--store") + 1] == "$HPSEARCH_STORE"
    assert ': "${HPSEARCH_STORE:?' in text  # a submission without the URL stops at once, saying what to set
    # the default study file is a study of this repository, of the default name
    file = re.search(r"^STUDY_FILE=\$\{STUDY_FILE:-\$SLURM_SUBMIT_DIR/(\S+)\}$", text, flags=re.MULTILINE)
    name = re.search(r"^STUDY_NAME=\$\{STUDY_NAME:-(\S+)\}$", text, flags=re.MULTILINE)
    assert file and name
    assert hpsearch.load_study(ROOT / file[1]).name == name[1]
    if shutil.which("bash"):
        subprocess.run(["bash", "-n", str(path)], check=True)


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container.get("env", [])}


def test_kubernetes_manifests() -> None:
    secret = yaml.safe_load((KUBERNETES / "secret.yaml").read_text())
    volume = yaml.safe_load((KUBERNETES / "shared-volume.yaml").read_text())
    create, workers = (yaml.safe_load(path.read_text()) for path in KUBERNETES_JOBS)
    assert secret["kind"] == "Secret" and volume["kind"] == "PersistentVolumeClaim"
    assert "ReadWriteMany" in volume["spec"]["accessModes"]
    assert create["kind"] == workers["kind"] == "Job"

    # workers that all exit once the budget is spent: a work-queue Job, `parallelism` pods and no `completions`
    assert workers["spec"]["parallelism"] >= 2
    assert "completions" not in workers["spec"]
    assert workers["spec"]["template"]["spec"]["restartPolicy"] == "Never"  # what podFailurePolicy needs
    assert "nvidia.com/gpu: 1" in (KUBERNETES / "hpsearch-job.yaml").read_text()

    secret_ref = {"secretKeyRef": {"name": secret["metadata"]["name"], "key": next(iter(secret["stringData"]))}}
    study_names = set()
    for job in (create, workers):
        pod = job["spec"]["template"]["spec"]
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"] if "persistentVolumeClaim" in v}
        for container in containers(job):
            env = _env(container)
            assert env["HPSEARCH_STORE"] == secret_ref, container["name"]
            assert container["image"] == workers["spec"]["template"]["spec"]["containers"][0]["image"]
            if "STUDY_NAME" in env:
                study_names.add(env["STUDY_NAME"])
            if "SHARED_DIR" in env:  # the shared folder is the ReadWriteMany volume's mount
                mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                assert claims[mounts[env["SHARED_DIR"]]] == volume["metadata"]["name"]
            if "CPUS" in env:
                assert env["CPUS"]["resourceFieldRef"]["containerName"] == container["name"]
    # the workers join the study that the first Job creates from a file in the image (the Dockerfile copies studies/)
    study_file = _env(containers(create)[0])["STUDY_FILE"]
    workdir = re.search(r"^WORKDIR (\S+)$", (KUBERNETES / "Dockerfile").read_text(), flags=re.MULTILINE)
    assert workdir and study_file.startswith(workdir[1] + "/")
    assert study_names == {hpsearch.load_study(ROOT / study_file.removeprefix(workdir[1] + "/")).name}
