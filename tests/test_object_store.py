"""Checkpoints in object storage, against a real S3 API on this machine: moto's server on a loopback port, s3fs as the
client. A PBT study of the built-in model on two workers keeps its checkpoints only in the bucket, is killed with
SIGKILL mid-run and resumes with exact epochs per member; ``export-model`` reads its best checkpoint from the bucket;
a missing bucket is one line before any trial is claimed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hpsearch import Store, StudyState, TrialState
from hpsearch.cli import main
from hpsearch.running.remote_checkpoints import RemoteCheckpoints

moto_server = pytest.importorskip("moto.server")
pytest.importorskip("s3fs")

REPO = Path(__file__).resolve().parents[1]
BUCKET = "hpsearch-test"
STUDY = """
name = "s3-pbt"
strategy = "pbt"
seed = 3

[data]
dataset = "mnist-sample"

[space]
width = [16, 32]
dropout = { low = 0.0, high = 0.3 }
optimizer = ["adam"]
learning_rate = { low = 1e-3, high = 1e-2, log = true }

[pbt]
population = 4
ready = 1
epochs = 4
"""


@pytest.fixture(scope="module")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A moto S3 server on a free loopback port with one bucket, and the environment that points clients at it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "HPSEARCH_STAGING_DIR": str(tmp_path_factory.mktemp("staging")),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
    s3fs.S3FileSystem().mkdir(BUCKET)
    yield env
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v
    server.stop()


def _trials(db: Path) -> list:
    if not db.exists():
        return []
    try:
        with Store.open(db, read_only=True) as store:
            return store.trials(store.study("s3-pbt").id)
    except Exception:
        return []  # not created yet


def test_a_pbt_study_keeps_its_checkpoints_only_in_the_bucket_and_resumes_after_sigkill(s3: dict[str, str], tmp_path: Path) -> None:
    study = tmp_path / "s3-pbt.toml"
    study.write_text(STUDY)
    db = tmp_path / "s.db"
    url = f"s3://{BUCKET}/runs"
    command = [sys.executable, "-m", "hpsearch", "run", str(study), "--store", str(db), "--workers", "2", "--checkpoint-dir", url, "-q"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while sum(t.state is TrialState.COMPLETE for t in _trials(db)) < 5:  # some segments done, on both workers
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        assert time.monotonic() < deadline, "no progress to kill"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and both workers, mid-run
    proc.wait()
    before = {t.number: t.checkpoint for t in _trials(db) if t.state is TrialState.COMPLETE}
    assert before and all(c is None or c.startswith(url + "/") for c in before.values())

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    with Store.open(db, read_only=True) as store:
        record = store.study("s3-pbt")
        trials = store.trials(record.id)
    assert record.state is StudyState.COMPLETE and len(trials) == 4 * 4 and all(t.state is TrialState.COMPLETE for t in trials)
    for member in range(4):  # exact epochs per member: each epoch trained once, in order
        assert sorted(t.start_epoch for t in trials if t.member == member) == [0, 1, 2, 3]
    kept = [t.checkpoint for t in trials if t.checkpoint]
    assert kept and all(c.startswith(url + "/") for c in kept)
    remote = RemoteCheckpoints(url)
    objects = remote.trial_objects(kept[0].rsplit("/", 2)[1])
    assert sorted(u for u, _, _ in objects) == sorted(kept)  # retention deleted the rest; no partial upload is left
    assert not (tmp_path / "s-checkpoints").exists()  # nothing was written beside the store

    # export-model reads the best checkpoint from the bucket, with no copy of it on this machine
    for local in Path(s3["HPSEARCH_STAGING_DIR"]).rglob("*.weights.h5"):
        local.unlink()
    out = tmp_path / "best.keras"
    assert main(["export-model", "s3-pbt", "--store", str(db), "--out", str(out)]) == 0 and out.stat().st_size > 0


def test_a_missing_bucket_is_one_line_before_any_trial(s3: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = tmp_path / "s3-pbt.toml"
    study.write_text(STUDY)
    db = tmp_path / "s.db"
    with pytest.raises(SystemExit) as info:
        main(["run", str(study), "--store", str(db), "--checkpoint-dir", "s3://no-such-bucket/x"])
    err = capsys.readouterr().err.strip().splitlines()
    assert info.value.code == 2 and len(err) == 1
    assert "--checkpoint-dir = 's3://no-such-bucket/x': cannot write checkpoints there: The specified bucket does not exist" in err[0]
    assert _trials(db) == []
