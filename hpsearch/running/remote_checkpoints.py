"""Checkpoints in object storage: ``--checkpoint-dir s3://bucket/prefix`` (or ``gs://``, ``file://``, any fsspec URL), so
that PBT and ``export-model`` work across machines with no shared folder.

The trainers read and write local files as always (:mod:`hpsearch.core.checkpoints` names them); this module moves
them. A study's checkpoints live under ``<url>/<study>-<uid8>/trial-<N>.weights.h5``, and each machine keeps a local
copy of what it wrote or read in a staging folder (:func:`staging_root`):

* **Writes are atomic**: a finished trial's file is uploaded to a temporary key beside its final one and then moved
  there (a rename on a file system; a server-side copy on S3, whose objects appear whole), so no half-written
  checkpoint is ever visible under its final name. The store records the final URL only once it is there.
* **Reads** (a PBT member continuing from another's checkpoint, a test evaluation, ``export-model``) download the
  object to the staging folder first, again through a temporary name.
* **Retention** deletes the objects a strategy no longer needs, as it deletes files
  (:func:`hpsearch.running.checkpoints.delete_unneeded_checkpoints`).
* **A missing bucket or a denied write** is found before any trial is claimed (:meth:`RemoteCheckpoints.check`): one
  line with the URL and the reason.

fsspec (with ``s3fs`` for ``s3://``, ``gcsfs`` for ``gs://``) does the transfers; credentials and endpoints come from
the usual environment (``AWS_*``, ``AWS_ENDPOINT_URL``, ...).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

from hpsearch.core.checkpoints import CHECKPOINT_SUFFIX, trial_of_file
from hpsearch.core.errors import ConfigError, HpsearchError

__all__ = ["RemoteCheckpoints", "is_url", "staging_root"]


def is_url(location: object) -> bool:
    """Whether a checkpoint location is an fsspec URL (``s3://...``) rather than a folder."""
    return isinstance(location, str) and "://" in location


def staging_root(url: str) -> Path:
    """The local folder where this machine keeps its copies of the checkpoints under ``url`` (one per URL)."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, url).hex[:12]
    return Path(os.environ.get("HPSEARCH_STAGING_DIR", Path(tempfile.gettempdir()) / "hpsearch-staging")) / digest


class RemoteCheckpoints:
    """The checkpoints under one fsspec URL (see the module's notes)."""

    def __init__(self, url: str) -> None:
        try:
            import fsspec
        except ImportError:  # pragma: no cover - fsspec comes with the dependencies
            raise ConfigError("--checkpoint-dir", url, "needs fsspec: pip install fsspec") from None
        self.url = url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except (ImportError, ValueError) as err:  # no implementation of the protocol (s3fs, gcsfs) installed
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ConfigError("--checkpoint-dir", url, f'cannot be opened ({reason}); for s3:// pip install -e ".[cloud]"') from None
        self.staging = staging_root(self.url)

    def url_of(self, key: str) -> str:
        """The URL of ``key`` (a path under the root)."""
        return f"{self.url}/{key}"

    def _path(self, url: str) -> str:
        """The file system's path of one of this root's URLs."""
        if not url.startswith(self.url + "/"):
            raise HpsearchError(f"{url} is not under the checkpoint location {self.url}")
        return f"{self.root.rstrip('/')}/{url[len(self.url) + 1 :]}"

    def check(self) -> None:
        """Write, read and delete a small object under the root: one line with the URL and why, where it fails."""
        probe = f"{self.root.rstrip('/')}/.hpsearch-probe-{uuid.uuid4().hex}"
        try:
            with self.fs.open(probe, "wb") as f:
                f.write(b"hpsearch")
            self.fs.rm(probe)
        except Exception as err:  # whatever the backend raises: a missing bucket, denied access, no network
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise ConfigError("--checkpoint-dir", self.url, f"cannot write checkpoints there: {reason}") from None

    def upload(self, local: Path, key: str) -> str:
        """Put the file ``local`` under ``key`` atomically (a temporary key, then moved); its URL."""
        final = f"{self.root.rstrip('/')}/{key}"
        temporary = f"{final}.{uuid.uuid4().hex[:8]}.partial"
        self.fs.put_file(str(local), temporary)
        self.fs.mv(temporary, final)
        return self.url_of(key)

    def fetch(self, url: str) -> Path:
        """A local copy of the object at ``url`` (downloaded once into the staging folder, through a temporary name)."""
        local = self.staging / url[len(self.url) + 1 :]
        if not local.exists():
            local.parent.mkdir(parents=True, exist_ok=True)
            partial = local.with_name(f".{local.name}.{uuid.uuid4().hex[:8]}")
            try:
                self.fs.get_file(self._path(url), str(partial))
                partial.replace(local)
            except FileNotFoundError:
                partial.unlink(missing_ok=True)
                raise HpsearchError(f"checkpoint {url} is not in the object store (deleted, or never written)") from None
        return local

    def delete(self, url: str) -> None:
        """Delete the object at ``url`` and this machine's copy of it (either may be gone already)."""
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm(self._path(url))
        (self.staging / url[len(self.url) + 1 :]).unlink(missing_ok=True)

    def trial_objects(self, folder: str) -> list[tuple[str, int, bool]]:
        """The checkpoint objects in a study's ``folder`` (a key): (URL, trial number, partial) for each."""
        try:
            names = [p.rsplit("/", 1)[-1] for p in self.fs.ls(f"{self.root.rstrip('/')}/{folder}", detail=False)]
        except FileNotFoundError:
            return []
        out = []
        for name in names:  # an upload cut short is its final name and ".<hex>.partial"
            base = name.split(CHECKPOINT_SUFFIX)[0] + CHECKPOINT_SUFFIX
            number, partial = trial_of_file(base)
            if number is not None:
                out.append((self.url_of(f"{folder}/{name}"), number, partial or name != base))
        return out

    def __repr__(self) -> str:
        return f"RemoteCheckpoints({self.url!r})"
