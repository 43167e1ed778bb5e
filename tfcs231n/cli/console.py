"""Quiet TensorFlow start-up for the `tfcs231n` command.

TensorFlow's native libraries print a few lines on every start (absl's "before
absl::InitializeLog()" warning, oneDNN's and the CUDA stub's I0000 notes, an E0000 cuInit
failure on machines without a GPU). The first three come before TF reads
TF_CPP_MIN_LOG_LEVEL, so no setting hides them; a newcomer reads them as failures.
`quiet_startup` filters exactly those lines out of file descriptor 2 and passes everything
else through unchanged.
"""

import contextlib
import os
import re
import sys
import threading

# One pattern per known start-up line; anything else on stderr passes.
STARTUP_LINES = (
    re.compile(rb"^WARNING: All log messages before absl::InitializeLog\(\) is called are "
               rb"written to STDERR\s*$"),
    re.compile(rb"^I\d{4} [\d:. ]+\d+ port\.cc:\d+\] oneDNN custom operations are on\."),
    re.compile(rb"^I\d{4} [\d:. ]+\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers"),
    re.compile(rb"^E\d{4} [\d:. ]+\d+ cuda_(platform|executor|diagnostics)\.cc:\d+\] "
               rb"failed call to cuInit"),
)
_ABSL = b"WARNING: All log messages"


def _may_become_startup_line(partial):
    """A partial line (no newline yet) that could still turn into a start-up line is held
    back until its newline; any other is passed on at once (a prompt is not delayed)."""
    return (_ABSL.startswith(partial[:len(_ABSL)])
            or re.match(rb"[IE]\d{0,4}(?: |$)", partial) is not None)


def is_startup_line(line):
    """True for one of TensorFlow's known start-up lines (bytes, with or without newline)."""
    return any(p.match(line) for p in STARTUP_LINES)


class _Filter:
    def __init__(self, fd):
        self.fd = fd
        self.saved = os.dup(fd)  # where the filtered stream goes: the original stderr
        self.read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self.thread = threading.Thread(target=self._pump, name="tfcs231n-stderr", daemon=True)
        self.thread.start()

    def _write(self, data):
        try:
            while data:
                data = data[os.write(self.saved, data):]
        except OSError:  # the real stderr is gone (closed pipe): nothing left to tell
            pass

    def _pump(self):
        pending = b""
        while True:
            try:
                chunk = os.read(self.read_end, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            out = b"".join(line + b"\n" for line in lines if not is_startup_line(line))
            if pending and not _may_become_startup_line(pending):
                out, pending = out + pending, b""
            if out:
                self._write(out)
        if pending and not is_startup_line(pending):
            self._write(pending)
        os.close(self.read_end)

    def close(self):
        with contextlib.suppress(Exception):
            sys.stderr.flush()
        os.dup2(self.saved, self.fd)  # the pipe's last writer in this process goes away
        # A child process that still holds the pipe keeps it open: wait only briefly, and
        # then leave the thread its fd (closing it could hand the number to another file).
        self.thread.join(timeout=2.0)
        if not self.thread.is_alive():
            os.close(self.saved)


@contextlib.contextmanager
def quiet_startup(fd=2):
    """Within the block, TensorFlow's known start-up lines never reach `fd` (stderr);
    every other byte written to it, by this process or its children, does, in order."""
    try:
        active = _Filter(fd)
    except OSError:  # no stderr to filter (closed fd): nothing to hide either
        active = None
    try:
        yield
    finally:
        if active is not None:
            active.close()
