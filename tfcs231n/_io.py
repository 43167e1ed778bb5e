"""Atomic writes: single files (`atomic_path`, `save_model_cache`) and resumable training
checkpoints (`AtomicCheckpointer`).

`tf.train.Checkpoint.write` produces several files, so a crash half-way leaves a checkpoint
that looks present but cannot be read. Here each checkpoint is written into a temporary
directory, flushed, and only then renamed to `epoch-000N` in one atomic step, together with
a JSON of the loop's own state (epoch, loss history, ...). Whatever survives a `kill -9` is
therefore either a complete checkpoint or an ignored temporary.
"""

import contextlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path` (same suffix, so writers that go by the name
    still work) and moves it onto `path` in one step if the block finishes; otherwise the
    temporary is removed. A reader never sees half a file. Creates the parent directory."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp{os.getpid()}-{path.name}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_model_cache(model, weights, meta, info):
    """A cached model: its weights (``*.weights.h5``), then the JSON `info` beside them; the
    JSON is written last, so a pair with both files is whole."""
    with atomic_path(weights) as tmp:
        model.save_weights(tmp)
    with atomic_path(meta) as tmp:
        tmp.write_text(json.dumps(info))


_NAME = re.compile(r"^epoch-(\d+)$")
_STATE = "state.json"


class AtomicCheckpointer:
    """Saves and restores trackables (models, optimizers, variables) plus a JSON state.

    Args:
        directory: where checkpoints live; created if needed.
        keep: how many of the newest checkpoints to keep.
        **trackables: passed to `tf.train.Checkpoint`, e.g. model=..., optimizer=....

    Example:
        >>> ckpt = AtomicCheckpointer("runs/lstm", model=model, optimizer=opt)
        >>> ckpt.save(3, {"loss_history": [...]})
        >>> state = ckpt.restore_latest()   # None when there is nothing to resume
    """

    def __init__(self, directory, keep=2, chief=True, **trackables):
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.directory = os.fspath(directory)
        self.keep = keep
        # A multi-worker run's non-chief workers take part in every save (TensorFlow asks
        # all workers to) but write into a temporary directory that is removed at once.
        self.chief = chief
        import tensorflow as tf

        self._checkpoint = tf.train.Checkpoint(**trackables)

    def checkpoints(self):
        """Complete checkpoints as a sorted list of (epoch, path)."""
        if not os.path.isdir(self.directory):
            return []
        found = []
        for name in os.listdir(self.directory):
            match = _NAME.match(name)
            path = os.path.join(self.directory, name)
            if match and os.path.isfile(os.path.join(path, _STATE)):
                found.append((int(match.group(1)), path))
        return sorted(found)

    def save(self, epoch, state):
        """Writes checkpoint `epoch` atomically; returns its path (None on a non-chief)."""
        if not self.chief:
            scratch = tempfile.mkdtemp(prefix="tfcs231n-worker-")
            try:
                self._checkpoint.write(os.path.join(scratch, "ckpt"))
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            return None
        os.makedirs(self.directory, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".tmp-", dir=self.directory)
        try:
            self._checkpoint.write(os.path.join(tmp, "ckpt"))
            with open(os.path.join(tmp, _STATE), "w", encoding="utf-8") as f:
                json.dump({"epoch": epoch, **state}, f)
            for name in os.listdir(tmp):
                with open(os.path.join(tmp, name), "rb") as f:
                    os.fsync(f.fileno())
            final = os.path.join(self.directory, f"epoch-{epoch:04d}")
            if os.path.exists(final):  # re-saving an epoch: move the old one out of the way
                shutil.rmtree(final)
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        for _, old in self.checkpoints()[:-self.keep]:
            shutil.rmtree(old, ignore_errors=True)
        return final

    def restore_latest(self):
        """Restores the newest complete checkpoint; returns its state dict, or None."""
        found = self.checkpoints()
        if not found:
            return None
        _, path = found[-1]
        with open(os.path.join(path, _STATE), encoding="utf-8") as f:
            state = json.load(f)
        self._checkpoint.read(os.path.join(path, "ckpt")).assert_existing_objects_matched()
        return state
