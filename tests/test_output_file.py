"""Files the commands write (export, compare) and what they must leave alone: the store, its side
files and checkpoint folder, devices, FIFOs and directories; no temporary file left behind; and
read-only commands that leave no ``-wal``/``-shm`` file beside the store they read."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import hpsearch
from hpsearch import cli
from hpsearch.core.errors import ConfigError
from hpsearch.show.output_file import write_output
from hpsearch.store import Store

STUDY = "out"


def side_files(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if p.name.startswith(db.name + "-"))


@pytest.fixture(scope="module")
def store_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding S.db (one finished toy study), its checkpoint folder, a symlink and a hard link to it."""
    folder = tmp_path_factory.mktemp("outputs")
    db = folder / "S.db"
    config = hpsearch.parse_study({"strategy": "random", "budget": {"trials": 2, "epochs": 1}}, default_name=STUDY)
    trainer = hpsearch.FunctionTrainer(lambda params, epoch, seed: {"val_accuracy": 0.5, "loss": 0.5})
    hpsearch.run_study(config, str(db), trainer=trainer)
    (folder / "S-checkpoints").mkdir(exist_ok=True)
    (folder / "link.db").symlink_to("S.db")
    os.link(db, folder / "hard.db")
    os.mkfifo(folder / "fifo")
    (folder / "a-directory").mkdir()
    assert side_files(db) == []
    return folder


@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


REFUSED = [
    ("S.db", "is the store this command reads"),
    ("./S.db", "is the store this command reads"),
    ("{folder}/S.db", "is the store this command reads"),
    ("a-directory/../S.db", "is the store this command reads"),
    ("link.db", "is the store this command reads"),
    ("hard.db", "is the store this command reads"),
    ("S.db-wal", "is the store's wal file"),
    ("S.db-shm", "is the store's shm file"),
    ("S-checkpoints/trials.csv", "is inside the store's checkpoint folder"),
    ("/dev/full", "is a device, not a regular file"),
    ("/dev/null", "is a device, not a regular file"),
    ("fifo", "is a FIFO, not a regular file"),
    ("a-directory", "is a directory, not a regular file"),
    ("no-such-dir/trials.csv", "no such directory"),
]


@pytest.mark.parametrize("command", ["export", "compare"])
@pytest.mark.parametrize(("out", "rule"), REFUSED, ids=[r[0] for r in REFUSED])
def test_an_output_that_is_not_a_new_or_regular_file_of_its_own_is_refused_and_nothing_changes(
    store_dir: Path, command: str, out: str, rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = out.format(folder=store_dir)
    before = {p.name: (p.lstat().st_mode, p.read_bytes() if p.is_file() and not p.is_symlink() else None) for p in store_dir.iterdir()}
    args = ["export", STUDY, "--format", "csv"] if command == "export" else ["compare", STUDY]
    with cwd(store_dir), pytest.raises(SystemExit) as info:
        cli.main([*args, "--out", out, "--store", "S.db"])
    assert info.value.code == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"hpsearch: error: --out = {out!r}: {rule}"), lines
    after = {p.name: (p.lstat().st_mode, p.read_bytes() if p.is_file() and not p.is_symlink() else None) for p in store_dir.iterdir()}
    assert after == before  # the store, its links and every other file as they were; no temporary file
    assert Path("/dev/full").is_char_device() and Path("/dev/null").is_char_device()


def test_export_through_a_symlink_writes_its_target(store_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "real.csv"
    target.write_text("old\n")
    (tmp_path / "alias.csv").symlink_to(target)
    written = hpsearch.export_trials(store_dir / "S.db", STUDY, "csv", tmp_path / "alias.csv")
    assert written == target.resolve()
    assert (tmp_path / "alias.csv").is_symlink()
    assert len(pd.read_csv(target)) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alias.csv", "real.csv"]


def test_a_failed_write_removes_its_temporary_file_and_keeps_the_old_one(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("the old report")

    def fail(path: Path) -> None:
        path.write_text("half a report")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_output(out, fail)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]
    assert out.read_text() == "the old report"


def test_a_file_replaced_by_a_fifo_while_writing_is_not_renamed_over(tmp_path: Path) -> None:
    out = tmp_path / "trials.csv"

    def write_then_swap(path: Path) -> None:
        path.write_text("x")
        os.mkfifo(out)

    with pytest.raises(ConfigError, match="is a FIFO"):
        write_output(out, write_then_swap)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials.csv"] and not out.is_file()


def test_two_writes_to_one_path_at_once_do_not_collide(tmp_path: Path) -> None:
    out = tmp_path / "trials.json"
    started, names = threading.Barrier(2), []

    def write(text: str) -> None:
        def body(path: Path) -> None:
            names.append(path.name)
            started.wait(timeout=10)  # both temporary files exist at the same time
            path.write_text(text)

        write_output(out, body)

    threads = [threading.Thread(target=write, args=(t,)) for t in ("first", "second")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(names)) == 2
    assert out.read_text() in ("first", "second")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trials.json"]
    assert oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --------------------------------------------------------------------------- read-only commands leave no side files


@pytest.fixture
def wal_store(store_dir: Path, tmp_path: Path) -> Path:
    db = tmp_path / "S.db"
    db.write_bytes((store_dir / "S.db").read_bytes())
    assert db.read_bytes()[18:20] == b"\x02\x02"  # the header's file format numbers of a WAL database
    return db


READ_COMMANDS = [["status"], ["trials", STUDY], ["best", STUDY], ["trials", STUDY, "--format", "json"]]


@pytest.mark.parametrize("argv", READ_COMMANDS, ids=[" ".join(a) for a in READ_COMMANDS])
def test_read_commands_leave_no_wal_or_shm_file_and_no_changed_byte(wal_store: Path, argv: list[str], capsys) -> None:
    before = wal_store.read_bytes()
    assert cli.main([*argv, "--store", str(wal_store)]) == 0
    assert capsys.readouterr().out
    assert side_files(wal_store) == []
    assert wal_store.read_bytes() == before


def test_export_and_an_open_reader_leave_no_side_files(wal_store: Path, tmp_path: Path) -> None:
    before = wal_store.read_bytes()
    hpsearch.export_trials(wal_store, STUDY, "parquet", tmp_path / "t.parquet")
    with Store.open(wal_store, read_only=True) as store:  # the dashboard's way of opening the store
        assert len(store.trials(store.study(STUDY).id)) == 2
        with pytest.raises(hpsearch.StoreError, match="read-only"):
            store.set_study_state(store.study(STUDY).id, hpsearch.StudyState.STOPPED)
    assert side_files(wal_store) == [] and wal_store.read_bytes() == before


def test_a_reader_beside_a_running_writer_leaves_the_writers_files_alone(wal_store: Path) -> None:
    writer = Store.open(wal_store)
    try:
        writer.set_study_state(writer.study(STUDY).id, hpsearch.StudyState.RUNNING)
        assert side_files(wal_store) == ["S.db-shm", "S.db-wal"]
        with Store.open(wal_store, read_only=True) as reader:
            assert reader.study(STUDY).state is hpsearch.StudyState.RUNNING
        assert side_files(wal_store) == ["S.db-shm", "S.db-wal"]
    finally:
        writer.close()
    assert side_files(wal_store) == []  # the writer, last to close, removes them


def test_a_rollback_journal_store_is_read_without_side_files(wal_store: Path, capsys) -> None:
    con = sqlite3.connect(wal_store)
    con.execute("PRAGMA journal_mode = DELETE")
    con.close()
    before = wal_store.read_bytes()
    assert cli.main(["status", "--store", str(wal_store)]) == 0
    assert STUDY in capsys.readouterr().out
    assert side_files(wal_store) == [] and wal_store.read_bytes() == before


@pytest.fixture
def read_only_mount(wal_store: Path, tmp_path: Path) -> Iterator[Path]:
    """``wal_store``'s folder bind-mounted read-only (needs the right to mount: root in CI)."""
    mount = tmp_path / "ro"
    mount.mkdir()
    done = subprocess.run(["mount", "--bind", str(wal_store.parent), str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {done.stderr.decode().strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(mount)], check=True, capture_output=True)
        yield mount / wal_store.name
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_store_on_read_only_media_can_still_be_read(read_only_mount: Path, capsys) -> None:
    assert not os.access(read_only_mount.parent, os.W_OK)
    assert cli.main(["trials", STUDY, "--store", str(read_only_mount)]) == 0
    assert "COMPLETE" in capsys.readouterr().out


# --------------------------------------------------------------------------- checkpoints in a --checkpoint-dir folder


class _WeightsWriter(hpsearch.FunctionTrainer):
    """A toy trainer that leaves a (fake) checkpoint where the runner asks, so that the store records it."""

    def train(self, jobs, on_epoch):  # type: ignore[no-untyped-def]
        outcomes = super().train(jobs, on_epoch)
        for job in jobs:
            if job.weights_path is not None:
                job.weights_path.parent.mkdir(parents=True, exist_ok=True)
                job.weights_path.write_bytes(b"not an HDF5 file")
        return outcomes


@pytest.fixture(scope="module")
def checkpointed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """C.db, whose study ``out`` keeps its checkpoints in the folder ``ck`` (``--checkpoint-dir ck``) beside
    it, and whose second study ``other`` has none yet; (folder, study out's checkpoint folder, its checkpoint)."""
    folder = tmp_path_factory.mktemp("checkpointed")
    options = hpsearch.RunOptions(checkpoint_dir=folder / "ck")
    metrics = lambda params, epoch, seed: {"val_accuracy": 0.5, "loss": 0.5}  # noqa: E731
    for name, trainer in ((STUDY, _WeightsWriter(metrics)), ("other", hpsearch.FunctionTrainer(metrics))):
        config = hpsearch.parse_study({"strategy": "random", "budget": {"trials": 1, "epochs": 1}}, default_name=name)
        hpsearch.run_study(config, str(folder / "C.db"), trainer=trainer, options=options)
    with Store.open(folder / "C.db", read_only=True) as store:
        (recorded,) = [t.checkpoint for t in store.trials(store.study(STUDY).id) if t.checkpoint]
    checkpoint = Path(recorded)
    assert checkpoint.is_file() and checkpoint.parent.parent == folder / "ck"
    return folder, checkpoint.parent, checkpoint


@pytest.mark.parametrize("command", ["export", "compare", "export-model"])
def test_no_command_writes_over_or_into_a_checkpoint_folder_the_store_records(
    checkpointed: tuple[Path, Path, Path], command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, study_folder, checkpoint = checkpointed
    with Store.open(folder / "C.db", read_only=True) as store:
        other = store.study("other")
    (folder / "ck" / f"other-{other.uid[:8]}").mkdir(exist_ok=True)
    suffix = ".keras" if command == "export-model" else ""
    outs = [
        (checkpoint, "a checkpoint of study 'out'") if command != "export-model" else None,
        (study_folder / f"t.csv{suffix}", "inside the checkpoint folder of study 'out'"),
        (folder / "ck" / f"other-{other.uid[:8]}" / f"t.csv{suffix}", "inside the checkpoint folder of study 'other'"),
    ]
    before = checkpoint.read_bytes()
    args = {"export": ["export", STUDY, "--format", "csv"], "compare": ["compare", STUDY], "export-model": ["export-model", STUDY]}[command]
    for out, rule in filter(None, outs):
        with cwd(folder), pytest.raises(SystemExit) as info:
            cli.main([*args, "--out", os.path.relpath(out, folder), "--store", "C.db"])
        lines = capsys.readouterr().err.splitlines()
        assert info.value.code == 2 and len(lines) == 1 and f": is {rule} (" in lines[0], lines
    assert checkpoint.read_bytes() == before
    assert sorted(p.name for p in study_folder.iterdir()) == [checkpoint.name]


def test_export_model_blames_unreadable_weights_not_the_output_file(
    checkpointed: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("keras")
    folder, _, checkpoint = checkpointed
    with pytest.raises(SystemExit) as info:
        cli.main(["export-model", STUDY, "--out", str(tmp_path / "best.keras"), "--store", str(folder / "C.db")])
    lines = capsys.readouterr().err.splitlines()
    assert info.value.code == 1 and len(lines) == 1, lines
    assert f"cannot read the weights of trial 0 from {checkpoint}: " in lines[0] and "cannot write" not in lines[0], lines
    assert list(tmp_path.iterdir()) == []
